"""One input-agnostic perturbation per link, optimised on the training split: settings and behaviour."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import torch
from pydantic import Field

from adversary import perturbation_norm, psr_to_eps, universal_perturbation
from semcom.attacks.base import ATTACK_LIMITS, AttackSettings, Perturbation, TargetName, register_attack

if TYPE_CHECKING:
    from semcom.attacks.threats import Threat

__all__ = ["UniversalAttack"]


@register_attack("universal")
class UniversalAttack(AttackSettings):
    """One input-agnostic ``δ_u`` per link, optimised on the training split by PGD over
    minibatches (``epochs`` passes of ``batch_size`` latents), evaluated on the test split."""

    description = "one input-agnostic perturbation, trained on the train split"
    per_sample = False

    target: TargetName | None = None
    """Targeted attack towards this output; unset: untargeted."""
    distance: Literal["mse", "ssim"] = "mse"
    """Distance the attack maximises (untargeted) or minimises (targeted); ``ssim`` means ``1 − SSIM``."""
    epochs: int = Field(5, ge=1, le=ATTACK_LIMITS["epochs"])
    """Passes over the training latents."""
    batch_size: int = Field(64, ge=1, le=4096)
    """Training latents per PGD step."""

    def perturb(self, threat: Threat, z: torch.Tensor, clean: torch.Tensor, value: float,
                gen: torch.Generator) -> Perturbation:
        """``δ_u``, optimised on the first call at each ``value`` (kept by ``threat``) and then shared."""
        if value not in threat.universal:
            with threat.link.attack_path():
                threat.universal[value] = self._optimise(threat, value, gen)
        delta_u = threat.universal[value]
        eps = torch.full_like(z[:, 0], perturbation_norm(delta_u[None], threat.norm).item())
        return Perturbation(delta_u.expand_as(z), eps)

    def perturb_within(self, threat, z, clean, eps, gen) -> Perturbation:
        raise ValueError("the universal attack has one budget for all samples, not one per sample")

    @torch.no_grad()
    def _optimise(self, threat: Threat, value: float, gen: torch.Generator) -> torch.Tensor:
        """``δ_u [k]`` optimised by PGD over minibatches of the training latents."""
        latents, clean = threat.training_latents()  # [N, k], [N, C, H, W]
        z = threat.link.signal(latents)  # [N, d]: the transmitted signals
        if threat.budget_axis == "eps":
            eps = float(value)
        else:  # against the mean transmit power of the training latents
            eps = psr_to_eps(float(value), z.pow(2).mean(0, keepdim=True).sqrt()).item()
        reference, targeted = threat.reference(clean, gen)
        result = universal_perturbation(
            lambda zb, d: threat.forward(zb, gen)(d), z, eps=eps, references=reference,
            targeted=targeted, distance=self.distance, epochs=self.epochs, batch_size=self.batch_size,
            norm=threat.norm, generator=gen, additive=False,
        )
        return threat.at_budget(result.delta[None], torch.tensor([eps]))[0]
