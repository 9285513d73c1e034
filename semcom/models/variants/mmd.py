"""``vae-mmd`` and ``dae-mmd``: MMD of the latents to N(0, I) (paper Eq. 2; docs/design.md §4)."""

from __future__ import annotations

import torch
from pydantic import Field

from semcom.models import regularizers as R
from semcom.models.variants.base import RegularizerInputs, Variant, VariantSettings, register_variant

__all__ = ["MMDSettings", "MMDVariant"]


class MMDSettings(VariantSettings):
    """Settings of ``vae-mmd`` and ``dae-mmd``."""

    weight: float = Field(100.0, ge=0)
    """Weight λ of the MMD term."""


@register_variant("vae-mmd", stochastic=True, description="VAE with MMD to N(0, I) (paper Eq. 2)")
@register_variant("dae-mmd", stochastic=False, description="deterministic AE with MMD to N(0, I)")
class MMDVariant(Variant):
    """``λ · MMD(z, N(0, I))`` on the (sampled) latents, with the minibatch's generator."""

    Settings = MMDSettings

    def regularizer(self, inp: RegularizerInputs, settings: MMDSettings) -> torch.Tensor:
        return settings.weight * R.mmd_standard_normal(inp.z, generator=inp.generator)
