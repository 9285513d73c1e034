"""Flat block fading: the tap layout shared by the Rayleigh and Rician channels.

A block-fading channel multiplies each symbol by a tap that stays constant over
a block of consecutive symbols of a row and is drawn anew, independently, for
the next block: ``y = h ⊙ x + n``. Subclasses only say how taps are drawn
(:meth:`BlockFadingChannel.draw_taps`); this base lays them out over the
blocks, then adds the noise (taps first, then noise, all from the caller's
generator).
"""

from __future__ import annotations

import math

import torch
from pydantic import Field

from . import _sionna
from .base import Channel, EqualizedSettings

__all__ = ["BlockFadingChannel", "BlockFadingSettings"]


class BlockFadingSettings(EqualizedSettings):
    """Settings of a flat block-fading channel."""

    block_length: int | None = Field(None, ge=1)
    """Symbols per fading block; unset: one block per image."""


class BlockFadingChannel(Channel):
    """Base of the flat block-fading channels: ``y = h ⊙ x + n``, one tap per block.

    One tap per row of ``x`` (one image) when ``block_length`` is ``None``;
    otherwise a new independent tap every ``block_length`` consecutive symbols
    of a row (the last block of a row may be shorter). ``snr_db=None`` gives
    fading without noise.

    Args:
        block_length: number of consecutive symbols sharing a tap, ≥ 1, or
            ``None`` for a whole row.
        equalizer: used by :meth:`receive`: ``"lmmse"`` (default,
            ``conj(h) y / (|h|² + N0)``), ``"zf"`` (``y / h``) or ``"none"``.
    """

    is_random = True
    Settings = BlockFadingSettings

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

    def draw_taps(
        self,
        num: int,
        *,
        dtype: torch.dtype,
        device: torch.device,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """Draw ``num`` independent taps, shape ``[num]``, of ``dtype`` on ``device``."""
        raise NotImplementedError(f"{type(self).__name__} must implement `draw_taps`")

    def transmit(
        self, x: torch.Tensor, *, no: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n = x.shape[-1]
        rows = math.prod(x.shape[:-1])
        length = max(n, 1) if self.block_length is None else self.block_length
        num_blocks = max(1, -(-n // length))  # ceil(n / length)
        taps = self.draw_taps(
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
