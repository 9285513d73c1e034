"""Flat Rayleigh block fading, taps drawn by Sionna."""

from __future__ import annotations

import torch

from . import _sionna
from ._block_fading import BlockFadingChannel
from .base import register_channel

__all__ = ["RayleighBlockChannel"]


@register_channel("rayleigh")
class RayleighBlockChannel(BlockFadingChannel):
    """Flat Rayleigh block fading: ``y = h ⊙ x + n``, ``h ~ CN(0, 1)``, ``n ~ CN(0, N0)``.

    One tap ``h`` per row of ``x`` (one image) when ``block_length`` is
    ``None``; otherwise a new independent tap every ``block_length``
    consecutive symbols of a row (the last block of a row may be shorter).
    ``E|h|² = 1``, so the average received SNR is ``snr_db``. Taps come from
    Sionna's ``RayleighBlockFading``, noise from its ``AWGN``, both from the
    caller's generator (taps first, then noise). ``snr_db=None`` gives fading
    without noise.

    Args:
        block_length: number of consecutive symbols sharing a tap, ≥ 1, or
            ``None`` for a whole row.
        equalizer: used by :meth:`receive`: ``"lmmse"`` (default,
            ``conj(h) y / (|h|² + N0)``), ``"zf"`` (``y / h``) or ``"none"``.

    Example:
        >>> channel = RayleighBlockChannel(block_length=2)
        >>> x = torch.ones(1, 5, dtype=torch.complex64)
        >>> y, h = channel(x, generator=torch.Generator().manual_seed(0), return_h=True)
        >>> h.shape
        torch.Size([1, 5])
        >>> bool(h[0, 0] == h[0, 1]), bool(h[0, 1] == h[0, 2]), bool(h[0, 3] == h[0, 4])
        (True, False, False)
        >>> bool(torch.equal(y, h * x))  # no noise without snr_db
        True
    """

    def draw_taps(
        self,
        num: int,
        *,
        dtype: torch.dtype,
        device: torch.device,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """``num`` independent taps ``h ~ CN(0, 1)`` from Sionna's ``RayleighBlockFading``."""
        return _sionna.rayleigh_coefficients(num, dtype=dtype, device=device, generator=generator)
