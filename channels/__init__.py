"""channels: channel models, symbol mapping and equalisation for learned links.

A transmitted latent is power-normalised and mapped to complex symbols
(:class:`SymbolMapper`, :func:`latent_scale`), sent through a channel
(:class:`IdealChannel`, :class:`AWGNChannel`, flat block fading
:class:`RayleighBlockChannel` and :class:`RicianBlockChannel`, multipath
3GPP TDL fading over OFDM :class:`TDLChannel`, the conventional digital
link :class:`DigitalChannel` (quantiser, 5G LDPC, QAM, BP); by name via
:func:`make_channel`) and equalised (:func:`equalize`).

``y = h ⊙ c + n``, ``n ~ CN(0, N0)``, ``N0 = 10^(−SNR_dB/10)`` (:func:`snr_db_to_no`),
unit average symbol energy and ``E|h|² = 1``; for :class:`TDLChannel`, ``h``
is the frequency response of the OFDM resource element each symbol uses.
Every channel is a :class:`torch.nn.Module`, differentiable w.r.t. its input,
and draws all randomness from the caller's :class:`torch.Generator`. Sionna
is imported only when a channel first draws.

This package does not import ``semcom`` or ``adversary``.

Example:
    >>> import torch
    >>> import channels
    >>> {"ideal", "awgn", "rayleigh", "rician", "tdl"} <= set(channels.CHANNELS)
    True
    >>> x = torch.ones(2, 100, dtype=torch.complex64)
    >>> gen = torch.Generator().manual_seed(0)
    >>> for name in ("rician", "tdl"):
    ...     x_hat = channels.make_channel(name).receive(x, snr_db=40.0, generator=gen)
    ...     print(name, x_hat.shape, bool((x_hat - x).abs().square().mean() < 0.01))
    rician torch.Size([2, 100]) True
    tdl torch.Size([2, 100]) True
"""

from __future__ import annotations

from .awgn import AWGNChannel
from .base import CHANNELS, Channel, ChannelSettings, EqualizedSettings, make_channel, register_channel
from .digital import DigitalChannel
from .equalization import EQUALIZERS, equalize
from .ideal import IdealChannel
from .mapping import SymbolMapper, latent_scale
from .power import PER_IMAGE_SCALE, PerImagePower
from .rayleigh import RayleighBlockChannel
from .rician import RicianBlockChannel
from .snr import snr_db_to_no
from .tdl import TDL_MODELS, TDLChannel

__all__ = [
    "CHANNELS",
    "EQUALIZERS",
    "PER_IMAGE_SCALE",
    "TDL_MODELS",
    "AWGNChannel",
    "Channel",
    "ChannelSettings",
    "EqualizedSettings",
    "PerImagePower",
    "DigitalChannel",
    "IdealChannel",
    "RayleighBlockChannel",
    "RicianBlockChannel",
    "SymbolMapper",
    "TDLChannel",
    "equalize",
    "latent_scale",
    "make_channel",
    "register_channel",
    "snr_db_to_no",
]
