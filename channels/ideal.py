"""The ideal channel: the identity, the paper's setting."""

from __future__ import annotations

import torch

from ._checks import check_snr_db
from .base import Channel, register_channel

__all__ = ["IdealChannel"]


@register_channel("ideal")
class IdealChannel(Channel):
    """Identity channel, ``y = x`` and ``h = 1``: the decoder sees exactly what was sent.

    This is the paper's setting (no channel); ``snr_db`` is checked but
    ignored, and the channel draws nothing.

    Args:
        equalizer: kept for a uniform interface; with ``h = 1`` and no noise
            every equaliser is the identity.

    Example:
        >>> x = torch.tensor([[1.0 + 2.0j, -0.5j]])
        >>> y, h = IdealChannel()(x, snr_db=10.0, return_h=True)
        >>> bool(torch.equal(y, x)), h
        (True, tensor([[1.+0.j, 1.+0.j]]))
    """

    is_random = False

    def noise_variance(self, snr_db: float | None) -> float:
        """Always 0: the ideal channel adds no noise whatever ``snr_db`` [dB] says."""
        check_snr_db(snr_db)
        return 0.0

    def transmit(
        self, x: torch.Tensor, *, no: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.ones(x.shape, dtype=x.dtype, device=x.device)  # [..., n]
        return x.clone(), h
