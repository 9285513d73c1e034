"""``tcvae``: β-TCVAE, weight β on the total correlation, minibatch-weighted sampling (docs/design.md §4)."""

from __future__ import annotations

import torch
from pydantic import Field

from semcom.models import regularizers as R
from semcom.models.variants.base import RegularizerInputs, Variant, VariantSettings, register_variant

__all__ = ["TCVAESettings", "BetaTCVAE"]


class TCVAESettings(VariantSettings):
    """Settings of ``tcvae``."""

    weight: float = Field(6.0, ge=0)
    """β, the weight on the total correlation (the mutual-information and dimension-wise KL terms keep
    weight 1)."""


@register_variant("tcvae", stochastic=True,
                  description="β-TCVAE (weight = β on total correlation, minibatch-weighted sampling)")
class BetaTCVAE(Variant):
    """The β-TCVAE decomposition of the KL term over the minibatch, the data set's size as ``N``."""

    Settings = TCVAESettings

    def regularizer(self, inp: RegularizerInputs, settings: TCVAESettings) -> torch.Tensor:
        terms = R.tc_decomposition(inp.z, inp.mu, inp.logvar, max(inp.dataset_size, inp.z.shape[0]))
        return R.tcvae_loss(terms, beta=settings.weight)
