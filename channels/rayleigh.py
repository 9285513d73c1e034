"""Flat Rayleigh block fading, taps drawn by Sionna."""

from __future__ import annotations

import math

import torch

from . import _sionna
from .base import Channel, register_channel

__all__ = ["RayleighBlockChannel"]


@register_channel("rayleigh")
class RayleighBlockChannel(Channel):
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

    is_random = True

    def __init__(self, block_length: int | None = None, equalizer: str = "lmmse") -> None:
        super().__init__(equalizer=equalizer)
        if block_length is not None:
            if isinstance(block_length, bool) or not isinstance(block_length, int):
                raise TypeError(
                    f"`block_length` must be an int or None; got {type(block_length).__name__}"
                )
            if block_length < 1:
                raise ValueError(f"`block_length` must be ≥ 1 or None; got {block_length}")
        self.block_length = block_length

    def transmit(
        self, x: torch.Tensor, *, no: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n = x.shape[-1]
        rows = math.prod(x.shape[:-1])
        length = max(n, 1) if self.block_length is None else self.block_length
        num_blocks = max(1, -(-n // length))  # ceil(n / length)
        taps = _sionna.rayleigh_coefficients(
            rows * num_blocks, dtype=x.dtype, device=x.device, generator=generator
        ).reshape(*x.shape[:-1], num_blocks)  # [..., num_blocks]
        if num_blocks == 1:
            h = taps.expand(x.shape)  # [..., n]
        else:
            h = taps.repeat_interleave(length, dim=-1)[..., :n]  # [..., n]
        y = h * x  # [..., n]
        if no > 0.0:
            y = _sionna.awgn(y, no, generator=generator)
        return y, h

    def extra_repr(self) -> str:
        return f"block_length={self.block_length}, {super().extra_repr()}"
