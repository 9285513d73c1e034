"""White-box latent PGD (paper Eq. 4–6), the attack semcom measures: settings and behaviour."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from adversary import pgd
from semcom.attacks.base import ATTACK_LIMITS, AttackSettings, DistanceName, Perturbation, TargetName, register_attack

if TYPE_CHECKING:
    import torch

__all__ = ["PGDAttack"]


@register_attack("pgd")
class PGDAttack(AttackSettings):
    """White-box latent PGD (paper Eq. 4–6): untargeted when ``target`` is None.

    ``restarts`` (best of R runs, random starts after the first), ``momentum``
    (MI-FGSM) and ``eot`` (the loss averaged over M channel draws).
    """

    description = "white-box latent PGD (restarts, momentum, EOT; `target` optional)"

    target: TargetName | None = None
    """Targeted attack towards this output (``semcom list`` shows the targets); unset: untargeted."""
    distance: DistanceName = "mse"
    """Distance ``D`` the attack maximises (untargeted) or minimises (targeted); ``ssim`` means
    ``1 − SSIM`` (``semcom list`` shows the distances)."""
    steps: int = Field(10, ge=1, le=ATTACK_LIMITS["steps"])
    """PGD iterations per run."""
    alpha_factor: float = Field(2.5, gt=0, le=100)
    """Step size ``α = alpha_factor · ε / steps``."""
    random_start: bool = False
    """Start the first run from a random point of the budget ball (later restarts always do)."""
    restarts: int = Field(1, ge=1, le=100)
    """Runs per batch; the most damaging one is kept."""
    momentum: float = Field(0.0, ge=0, le=10)
    """MI-FGSM momentum ``μ`` of the normalised gradients; 0: plain PGD."""
    eot: int = Field(1, ge=1, le=ATTACK_LIMITS["eot"])
    """Expectation over transformation: the loss averaged over this many channel draws."""

    @property
    def passes(self) -> int:
        return self.restarts * self.eot * (self.steps + 1) + 1

    def perturb_within(self, threat, z: torch.Tensor, clean: torch.Tensor, eps: torch.Tensor,
                       gen: torch.Generator) -> Perturbation:
        reference, targeted = threat.reference(clean, gen)
        with threat.link.attack_path():  # white-box: the differentiable receiver (digital: soft path)
            result = pgd(threat.forward(z, gen), z, eps=eps, reference=reference, targeted=targeted,
                         distance=self.distance, steps=self.steps, alpha=self.alpha_factor * eps / self.steps,
                         norm=threat.norm, generator=gen, random_start=self.random_start,
                         restarts=self.restarts, momentum=self.momentum, eot=self.eot)
        return Perturbation(threat.at_budget(result.delta, eps), eps)
