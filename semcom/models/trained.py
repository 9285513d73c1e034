"""What training hands on: the trained-model record, and the seeded minibatch order.

Kept apart from :mod:`semcom.models.training`: receiver hardening
(:mod:`semcom.defenses.hardening`) needs both, and training needs hardening
(paper Algorithm 1 runs its decoder step), so with them in training the two
modules would import each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["TrainedModel", "minibatches"]


@dataclass(frozen=True)
class TrainedModel:
    """A trained autoencoder in eval mode plus what the link needs to know of it.

    ``model`` is a built-in :class:`Autoencoder` or a user's
    :class:`semcom.models.plugins.PluginModel`. ``sigma_z`` is the RMS of the training
    latents, fixing the transmitter's power normalisation (``√2·σ_z``).
    """

    model: torch.nn.Module
    sigma_z: float
    key: str
    meta: dict[str, Any]


def minibatches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """A seeded random partition of ``range(n)`` into batches (the last may be short)."""
    return list(torch.randperm(n, generator=generator).split(batch_size))
