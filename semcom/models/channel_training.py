"""Training through the channel: the latent crosses a channel between encoder and decoder.

docs/design.md §7, "Training through the channel". During training the
decoder sees ``deliver(z)`` instead of ``z``: the latent is power-normalised,
mapped to complex symbols, sent through a registered channel (Sionna-backed
AWGN, Rayleigh, Rician, TDL, …) at a fixed SNR or at an SNR drawn per batch
from a range, equalised and mapped back, exactly the transmitter → channel →
receiver chain of :class:`semcom.link.Link`. Every step is differentiable, so
the encoder learns from the channel's noise (DeepJSCC, Bourtsoulatze et al.
2019).

Power normalisation (``power``):

* ``per_image`` — :class:`channels.PerImagePower`, the same layer the link's
  transmitter applies: every image's symbols have average power 1;
* ``sigma_z`` — the fixed ``√2·σ_z`` scale of the deployed link; while the
  encoder is still learning ``σ_z`` is the minibatch's latent RMS (no
  gradient through it), and the stored ``σ_z`` is measured on the training
  images after training as for every model.

All randomness (channel draws, SNR draws) comes from generators seeded from
the training seed, so training is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from channels import PER_IMAGE_SCALE, PerImagePower, SymbolMapper, make_channel

__all__ = ["TrainChannel", "make_deliver"]


@dataclass(frozen=True)
class TrainChannel:
    """The channel a model is trained through: kind, SNR (fixed or a range) [dB], channel settings."""

    kind: str
    snr_db: float | None = None
    snr_range: tuple[float, float] | None = None
    settings: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def from_entry(cls, cfg: Any) -> TrainChannel:
        """The training channel of a model entry's ``train_channel`` (a
        :class:`semcom.study.link_entries.TrainChannelConfig`): the settings it gives, sorted by name."""
        snr_range = None if cfg.snr_range is None else (float(cfg.snr_range[0]), float(cfg.snr_range[1]))
        return cls(cfg.kind, cfg.snr_db, snr_range, tuple(sorted(cfg.settings().items())))


class _Deliver:
    """``z [B, k] ↦ ẑ [B, k]``: normalise, map, channel, equalise, de-map (the link's chain)."""

    def __init__(self, latent_dim: int, power: str, channel: TrainChannel | None, seed: int, device: str):
        self.norm = PerImagePower(latent_dim) if power == "per_image" else None
        self.mapper = SymbolMapper(latent_dim, 1.0).to(device)
        self.cfg = channel
        self.channel = None if channel is None else make_channel(channel.kind, **dict(channel.settings)).to(device)
        self.gen = torch.Generator(device).manual_seed(seed + 3)
        self.snr_gen = torch.Generator().manual_seed(seed + 4)

    def snr_db(self) -> float | None:
        """The SNR of the next batch [dB]: the fixed one, or uniform over the range."""
        if self.cfg.snr_range is None:
            return self.cfg.snr_db
        lo, hi = self.cfg.snr_range
        return lo + (hi - lo) * float(torch.rand((), generator=self.snr_gen))

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        if self.norm is not None:
            z, scale = self.norm(z), PER_IMAGE_SCALE
        else:
            scale = 2**0.5 * z.detach().square().mean().clamp_min(1e-24).sqrt()
        if self.channel is None:
            return z
        symbols = self.mapper.to_symbols(z / scale)
        received = self.channel.receive(symbols, snr_db=self.snr_db(), generator=self.gen)
        return self.mapper.to_latent(received) * scale


def make_deliver(latent_dim: int, power: str, channel: TrainChannel | None, *, seed: int,
                 device: str = "cpu") -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The training ``deliver`` of a model, or ``None`` for the plain autoencoder (``z`` decoded as is).

    ``None`` when ``power`` is ``sigma_z`` and there is no channel: training is then exactly
    the channel-free training of every model before training through the channel existed.
    """
    if channel is None and power == "sigma_z":
        return None
    return _Deliver(latent_dim, power, channel, seed, device)
