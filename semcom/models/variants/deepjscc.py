"""``deepjscc``: DeepJSCC (Bourtsoulatze et al. 2019), nets of its own and per-image power (docs/design.md §7).

The nets are in :mod:`semcom.models.deepjscc`; the bandwidth ratio ``k/n`` fixes their code size and so the
latent size.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from torch import nn

from semcom.models.deepjscc import DEFAULT_BANDWIDTH_RATIO, deepjscc_nets
from semcom.models.variants.base import Variant, VariantSettings, register_variant

__all__ = ["DeepJSCC", "DeepJSCCSettings"]


class DeepJSCCSettings(VariantSettings):
    """Settings of ``deepjscc``."""

    bandwidth_ratio: float = Field(DEFAULT_BANDWIDTH_RATIO, gt=0, le=1)
    """Bandwidth ratio ``k/n``, complex channel uses per source value (``n = C·H·W``); ``32·C·k/n`` must
    be a whole number. It fixes the latent size (the entry's ``latent_dim`` is not used)."""
    power: Literal["per_image"] = "per_image"
    """DeepJSCC's normalisation layer: the per-image average-power constraint (each image's symbols have
    average power 1; docs/design.md §7), the only normalisation it takes."""


@register_variant("deepjscc", stochastic=False,
                  description="DeepJSCC (Bourtsoulatze et al. 2019): 5×5 convs + PReLU, per-image power, "
                              "`bandwidth_ratio` k/n")
class DeepJSCC(Variant):
    """The five-layer conv encoder and its mirror, trained end to end; no regulariser."""

    Settings = DeepJSCCSettings

    def nets(self, image_shape: tuple[int, int, int], settings: DeepJSCCSettings
             ) -> tuple[nn.Module, nn.Module, int]:
        return deepjscc_nets(tuple(image_shape), settings.bandwidth_ratio)
