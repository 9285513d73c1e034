"""The defence interface: a registered class, its typed settings, its loss and its receiver.

:func:`semcom.defenses.hardening.harden_receiver` runs, per minibatch, one clean
receiver update and ``k`` updates on :meth:`Defense.loss`; every defence (the
control ``finetune`` included) makes the same number of optimizer steps with
the same data, epochs and learning rate (docs/design.md §3, "The control").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from pydantic import BaseModel
from torch import nn

from semcom.registry import SETTINGS_CONFIG, check_registration

__all__ = ["DEFENSES", "Defense", "DefenseSettings", "NoSettings", "register_defense", "sse"]

Deliver = Callable[[torch.Tensor], torch.Tensor]
"""``z [B, k] ↦ x̂ [B, C, H, W]``: channel and receiver, everything after the adversary."""

DEFENSES: dict[str, type[Defense]] = {}


class DefenseSettings(BaseModel):
    """A defence's own settings (beyond the common ``eps``, ``steps``, ``k``, …): subclasses declare
    each field with its type, range and a docstring under it (its description)."""

    model_config = SETTINGS_CONFIG


class NoSettings(DefenseSettings):
    """Settings of a defence that has none beyond the common ones (``eps``, ``steps``, ``k``, …)."""


def register_defense(kind: str):
    """Class decorator: register a :class:`Defense` subclass under ``kind`` (checked as every registry
    checks: :func:`semcom.registry.check_registration`)."""

    def decorate(cls: type[Defense]) -> type[Defense]:
        check_registration(DEFENSES, kind, cls, base=Defense, what="defence", decorator="register_defense")
        cls.kind = kind
        DEFENSES[kind] = cls
        return cls

    return decorate


def sse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image sum of squared errors, averaged over the batch (the hardening loss' unit)."""
    return (output - target).pow(2).flatten(1).sum(1).mean()


class Defense:
    """One way to fine-tune a receiver; ``cfg`` is a :class:`semcom.defenses.hardening.HardeningConfig`.

    Subclasses set ``description``, ``Settings`` (a pydantic model of their own
    knobs; ``cfg.settings`` holds its values as ``(name, value)`` pairs), and
    override :meth:`perturbation` (the δ of the default loss ``MSE(G'(z + δ), x)``),
    :meth:`loss`, or :meth:`training_receiver` / :meth:`inference_receiver`.
    """

    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Settings: ClassVar[type[BaseModel]] = NoSettings
    needs_eps: ClassVar[bool] = True
    """Whether the defence takes a budget ``eps`` (the control and smoothing do not)."""
    in_training: ClassVar[bool] = False
    """Whether a model entry's ``adversarial`` (paper Algorithm 1, during training) may use it."""
    certifiable: ClassVar[bool] = False
    """Whether the receiver has a certificate (``certify_draws``; docs/design.md §7)."""

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.settings = self.Settings(**dict(getattr(cfg, "settings", ())))

    def perturbation(self, forward: Deliver, z: torch.Tensor, clean: torch.Tensor,
                     gen: torch.Generator) -> torch.Tensor:
        """The latent perturbation ``δ [B, k]`` of one update; ``clean = forward(z)`` (no grad)."""
        return torch.zeros_like(z)

    def loss(self, deliver: Deliver, z: torch.Tensor, x: torch.Tensor, gen: torch.Generator,
             receiver: nn.Module, attack: Deliver | None = None) -> torch.Tensor:
        """The loss of one perturbed update: ``MSE(G'(z + δ), x)`` (per-image SSE, batch mean).

        ``δ`` is computed with ``receiver`` in eval mode, through ``attack`` where given (a fast
        frozen copy of the receiver: :func:`semcom.speed.training_view`), else ``deliver``; the
        loss in the mode the receiver had.
        """
        attack = attack or deliver
        mode = receiver.training
        receiver.eval()
        with torch.no_grad():
            clean = attack(z)
        delta = self.perturbation(attack, z, clean, gen)
        receiver.train(mode)
        return sse(deliver(z + delta), x)

    def training_receiver(self, decoder: nn.Module) -> nn.Module:
        """The module the link decodes with while fine-tuning (it shares ``decoder``'s parameters)."""
        return decoder

    def inference_receiver(self, decoder: nn.Module) -> nn.Module:
        """The receiver that is attacked and evaluated after fine-tuning (default: ``decoder``)."""
        return decoder
