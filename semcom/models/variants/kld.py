"""``vae-kld``: the Vanilla VAE, KL divergence of the posterior to N(0, I) (docs/design.md §4)."""

from __future__ import annotations

import torch
from pydantic import Field

from semcom.models import regularizers as R
from semcom.models.variants.base import RegularizerInputs, Variant, VariantSettings, register_variant

__all__ = ["KLDSettings", "VanillaVAE"]


class KLDSettings(VariantSettings):
    """Settings of ``vae-kld``."""

    weight: float = Field(1.0, ge=0)
    """Weight λ of the KL term (1: the evidence lower bound)."""


@register_variant("vae-kld", stochastic=True, description="Vanilla VAE, KL to N(0, I)")
class VanillaVAE(Variant):
    """``λ · KL(q(z|x) ‖ N(0, I))``."""

    Settings = KLDSettings

    def regularizer(self, inp: RegularizerInputs, settings: KLDSettings) -> torch.Tensor:
        return settings.weight * R.kld_standard_normal(inp.mu, inp.logvar)
