"""``pgd-matched``: PGD training on the threat it is judged on (Madry et al., ICLR 2018).

The perturbation is the evaluated attack's: untargeted L2 PGD maximising
``MSE(G'(z + δ), G'(z))`` with the configured ``steps``, a random start and
``restarts`` runs (the best kept per sample); loss ``MSE(G'(z + δ), x)``. The
budget is ``ε_train ~ U[0, eps]`` per batch (``draw: uniform``, the whole
sweep's range) or ``eps`` itself (``draw: fixed``).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from adversary import pgd
from semcom.defenses.base import Defense, DefenseSettings, register_defense


class MatchedPgdSettings(DefenseSettings):
    """Settings of the ``pgd-matched`` defence."""

    restarts: int = Field(1, ge=1, le=20)
    """PGD runs per perturbation; runs after the first start at random."""
    draw: Literal["uniform", "fixed"] = "uniform"
    """``uniform``: ``ε_train ~ U[0, eps]`` per batch; ``fixed``: ``ε_train = eps``."""


@register_defense("pgd-matched")
class MatchedPgd(Defense):
    description = "PGD training on the evaluated threat: distance mse, random start, restarts"
    Settings = MatchedPgdSettings

    def perturbation(self, forward, z, clean, gen):
        eps = self.cfg.eps
        if self.settings.draw == "uniform":
            eps = float(torch.rand((), generator=gen)) * eps
        if eps <= 0:
            return torch.zeros_like(z)
        return pgd(forward, z, eps=eps, reference=clean, distance="mse", steps=self.cfg.steps,
                   random_start=True, restarts=self.settings.restarts, generator=gen).delta
