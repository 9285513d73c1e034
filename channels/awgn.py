"""The additive white Gaussian noise channel, noise drawn by Sionna."""

from __future__ import annotations

import torch

from . import _sionna
from .base import Channel, register_channel

__all__ = ["AWGNChannel"]


@register_channel("awgn")
class AWGNChannel(Channel):
    """AWGN channel: ``y = x + n``, ``n ~ CN(0, N0)``, ``N0 = 10^(−SNR_dB/10)``, ``h = 1``.

    The noise is drawn by Sionna's ``sionna.phy.channel.AWGN`` from the
    caller's generator; ``N0 / 2`` per real dimension. ``snr_db`` is required.

    Args:
        equalizer: used by :meth:`receive`. ``"lmmse"`` (default) gives the
            shrinkage ``y / (1 + N0)``; ``"zf"`` and ``"none"`` give ``y``.

    Example:
        >>> channel = AWGNChannel()
        >>> x = torch.ones(2, 1000, dtype=torch.complex64)
        >>> y = channel(x, snr_db=20.0, generator=torch.Generator().manual_seed(0))
        >>> y.shape, y.dtype
        (torch.Size([2, 1000]), torch.complex64)
        >>> noise_power = (y - x).abs().square().mean().item()
        >>> 0.009 < noise_power < 0.011
        True
    """

    is_random = True
    requires_snr = True

    def transmit(
        self, x: torch.Tensor, *, no: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        y = _sionna.awgn(x, no, generator=generator)  # [..., n]
        h = torch.ones(x.shape, dtype=x.dtype, device=x.device)  # [..., n]
        return y, h
