"""``smoothing``: a randomised-smoothing receiver (Cohen et al. 2019; Salman et al. 2019).

At inference the receiver decodes ``M`` noisy copies of the received latent and
averages them: ``ḡ(z) = (1/M) Σ_m G(z + σ·n_m)``, ``n_m ~ N(0, I)``, a
Monte-Carlo estimate of the smoothed decoder ``E_n G(z + σn)``. Attacks
differentiate through the ``M``-draw average (EOT over the smoothing noise),
with the noise drawn from the caller's generator (the one passed to
:meth:`semcom.link.Link.deliver`). It is fine-tuned under that noise (one draw
per update, loss ``MSE(G(z + σn), x)``). :mod:`semcom.defenses.certificate` bounds how
far any ``‖δ‖₂ ≤ ε`` can move the smoothed output.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from semcom.defenses.base import Defense, DefenseSettings, register_defense

__all__ = ["SmoothedDecoder", "SmoothingSettings", "Smoothing"]

FIXED_NOISE_SEED = 0
"""Seed of the smoothing noise when the caller passes no generator (a deterministic receiver)."""


class SmoothedDecoder(nn.Module):
    """``z [B, k] ↦ (1/M) Σ_m G(z + σ·n_m) [B, C, H, W]``, differentiable in ``z``.

    ``generator`` draws the noise ``[M, B, k]``; without one the noise comes
    from a generator seeded with :data:`FIXED_NOISE_SEED` on each call, so the
    receiver is a fixed (deterministic) function. The ``M·B`` copies go through
    ``G`` in one batch.
    """

    takes_generator = True
    """:class:`semcom.link.Receiver` passes the caller's generator to this decoder."""

    def __init__(self, decoder: nn.Module, sigma: float, draws: int) -> None:
        super().__init__()
        self.decoder = decoder
        self.sigma = float(sigma)
        self.draws = int(draws)

    def noisy(self, z: torch.Tensor, draws: int, generator: torch.Generator | None) -> torch.Tensor:
        """``G(z + σ·n_m)`` for ``m < draws``: ``[draws, B, C, H, W]``."""
        if generator is None:
            generator = torch.Generator(z.device).manual_seed(FIXED_NOISE_SEED)
        noise = torch.randn((draws, *z.shape), generator=generator, device=z.device, dtype=z.dtype)
        out = self.decoder((z.unsqueeze(0) + self.sigma * noise).flatten(0, 1))
        return out.unflatten(0, (draws, z.shape[0]))

    def forward(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.noisy(z, self.draws, generator).mean(0)


class SmoothingSettings(DefenseSettings):
    """Settings of the ``smoothing`` defence."""

    sigma: float = Field(0.5, gt=0, le=100)
    """Std σ of the Gaussian noise added to the received latent (latent units)."""
    draws: int = Field(8, ge=1, le=256)
    """Noise draws ``M`` averaged per decoding at inference."""


@register_defense("smoothing")
class Smoothing(Defense):
    description = "randomised-smoothing receiver: M noisy decodings of z + σ·n averaged, fine-tuned under the noise"
    Settings = SmoothingSettings
    needs_eps = False
    certifiable = True

    def training_receiver(self, decoder):
        return SmoothedDecoder(decoder, self.settings.sigma, 1)

    def inference_receiver(self, decoder):
        return SmoothedDecoder(decoder, self.settings.sigma, self.settings.draws)
