"""The per-image average-power constraint of DeepJSCC (docs/design.md §7, "Training through the channel").

Bourtsoulatze, Kurka & Gündüz (2019) end the encoder with a normalisation
layer that scales each image's code to a fixed energy, so every transmitted
image meets the average-power constraint ``(1/n) Σ |c_i|² = 1`` on its own,
instead of on average over the data as the fixed ``√2·σ_z`` scale does.

Here the layer works on the real latent ``z [..., k]`` that
:class:`channels.SymbolMapper` pairs into ``n = ceil(k/2)`` complex symbols:

.. math:: z' = z \\sqrt{2n / \\textstyle\\sum_j z_j^2},

so that with the mapper's scale ``√2`` the symbols of every image have average
power exactly 1 (also for odd ``k``, whose zero pad carries no energy).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PerImagePower", "PER_IMAGE_SCALE"]

PER_IMAGE_SCALE = 2**0.5
"""The :class:`channels.SymbolMapper` scale that goes with :class:`PerImagePower` (``σ_z = 1``)."""


class PerImagePower(nn.Module):
    """Scale each latent ``z [..., k]`` to energy ``2·ceil(k/2)``: unit average symbol power per image.

    Differentiable; an all-zero latent stays zero (its norm is clamped at
    ``1e-12``) rather than becoming NaN.
    """

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
            raise ValueError(f"`latent_dim` must be an int ≥ 1; got {latent_dim!r}")
        self.latent_dim = latent_dim
        self.energy = 2 * ((latent_dim + 1) // 2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.shape[-1] != self.latent_dim:
            raise ValueError(f"`z` must have shape [..., {self.latent_dim}]; got {list(z.shape)}")
        norm = z.square().sum(-1, keepdim=True).clamp_min(1e-24).sqrt()  # [..., 1]
        return z * (self.energy**0.5 / norm)

    def extra_repr(self) -> str:
        return f"latent_dim={self.latent_dim}"
