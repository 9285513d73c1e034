"""channels: channel models, symbol mapping and equalisation for learned links.

A transmitted latent is power-normalised and mapped to complex symbols
(:class:`SymbolMapper`, :func:`latent_scale`), sent through a channel
(:class:`IdealChannel`, :class:`AWGNChannel`, :class:`RayleighBlockChannel`;
by name via :func:`make_channel`) and equalised (:func:`equalize`).

``y = h ⊙ c + n``, ``n ~ CN(0, N0)``, ``N0 = 10^(−SNR_dB/10)`` (:func:`snr_db_to_no`),
unit average symbol energy. Every channel is a :class:`torch.nn.Module`,
differentiable w.r.t. its input, and draws all randomness from the caller's
:class:`torch.Generator`. Sionna is imported only when a channel first draws.

This package does not import ``semcom`` or ``adversary``.
"""

from __future__ import annotations

from .awgn import AWGNChannel
from .base import CHANNELS, Channel, make_channel, register_channel
from .equalization import EQUALIZERS, equalize
from .ideal import IdealChannel
from .mapping import SymbolMapper, latent_scale
from .rayleigh import RayleighBlockChannel
from .snr import snr_db_to_no

__all__ = [
    "CHANNELS",
    "EQUALIZERS",
    "AWGNChannel",
    "Channel",
    "IdealChannel",
    "RayleighBlockChannel",
    "SymbolMapper",
    "equalize",
    "latent_scale",
    "make_channel",
    "register_channel",
    "snr_db_to_no",
]
