"""Query-only PGD on SPSA/NES gradient estimates (paper Assumption 2): settings and behaviour."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from adversary import blackbox_pgd
from semcom.attacks.base import ATTACK_LIMITS, AttackSettings, Perturbation, TargetName, register_attack

if TYPE_CHECKING:
    import torch

__all__ = ["BlackBoxAttack"]


@register_attack("blackbox")
class BlackBoxAttack(AttackSettings):
    """Query-only PGD on SPSA/NES gradient estimates (paper Assumption 2).

    Each step costs ``2·samples + 1`` receiver queries per sample;
    ``query_budget`` caps them (the count is reported per budget).
    """

    description = "query-only PGD on SPSA/NES gradient estimates"

    target: TargetName | None = None
    """Targeted attack towards this output; unset: untargeted."""
    distance: Literal["mse", "ssim"] = "mse"
    """Distance the attack maximises (untargeted) or minimises (targeted); ``ssim`` means ``1 − SSIM``."""
    steps: int = Field(10, ge=1, le=ATTACK_LIMITS["steps"])
    """PGD iterations on the estimated gradients."""
    alpha_factor: float = Field(2.5, gt=0, le=100)
    """Step size ``α = alpha_factor · ε / steps``."""
    estimator: Literal["spsa", "nes"] = "spsa"
    """Gradient estimator: SPSA (Rademacher directions) or NES (Gaussian directions)."""
    samples: int = Field(8, ge=1, le=256)
    """Direction pairs per gradient estimate."""
    query_budget: int | None = Field(None, ge=3, le=10**6)
    """Receiver queries per sample at most; unset: as many as the steps take."""

    @property
    def passes(self) -> int:
        queries = self.steps * (2 * self.samples + 1) + 1
        return min(queries, self.query_budget or queries) + 1

    def perturb_within(self, threat, z: torch.Tensor, clean: torch.Tensor, eps: torch.Tensor,
                       gen: torch.Generator) -> Perturbation:
        reference, targeted = threat.reference(clean, gen)
        result = blackbox_pgd(threat.forward(z, gen), z, eps=eps, reference=reference, targeted=targeted,
                              distance=self.distance, steps=self.steps, alpha=self.alpha_factor * eps / self.steps,
                              norm=threat.norm, generator=gen, estimator=self.estimator, samples=self.samples,
                              query_budget=self.query_budget)
        return Perturbation(threat.at_budget(result.delta, eps), eps, result.queries)
