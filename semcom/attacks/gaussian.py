"""Equal-power Gaussian jamming, the no-intelligence reference: settings and behaviour."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adversary import gaussian_jamming
from semcom.attacks.base import AttackSettings, Perturbation, register_attack

if TYPE_CHECKING:
    import torch

__all__ = ["GaussianAttack"]


@register_attack("gaussian")
class GaussianAttack(AttackSettings):
    """Equal-power Gaussian jamming: the no-intelligence reference."""

    description = "equal-energy Gaussian jamming"
    jamming = True

    @property
    def name(self) -> str:
        return self.label or "gaussian"

    def perturb_within(self, threat, z: torch.Tensor, clean: torch.Tensor, eps: torch.Tensor,
                       gen: torch.Generator) -> Perturbation:
        delta = gaussian_jamming(z, eps, norm=threat.norm, generator=gen)
        return Perturbation(threat.at_budget(delta, eps), eps)
