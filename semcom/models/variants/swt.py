"""``vae-swt`` and ``dae-swt``: the Shapiro–Wilk regulariser ``Σ_j (1 − W_j)`` (paper Eq. 3; docs/design.md §4)."""

from __future__ import annotations

import torch
from pydantic import Field

from semcom.models import regularizers as R
from semcom.models.variants.base import RegularizerInputs, Variant, VariantSettings, register_variant

__all__ = ["SWTSettings", "ShapiroWilkVariant"]


class SWTSettings(VariantSettings):
    """Settings of ``vae-swt`` and ``dae-swt``."""

    weight: float = Field(100.0, ge=0)
    """Weight λ of the Shapiro–Wilk term."""


@register_variant("vae-swt", stochastic=True,
                  description="VAE with the Shapiro–Wilk regulariser Σ(1 − W_j) (paper Eq. 3)")
@register_variant("dae-swt", stochastic=False, description="deterministic AE with the Shapiro–Wilk regulariser")
class ShapiroWilkVariant(Variant):
    """``λ · Σ_j (1 − W_j)``, ``W_j`` the Shapiro–Wilk statistic of latent dimension ``j`` (Royston)."""

    Settings = SWTSettings

    def regularizer(self, inp: RegularizerInputs, settings: SWTSettings) -> torch.Tensor:
        return settings.weight * R.shapiro_wilk_loss(inp.z)
