"""The conventional digital link: the same transmitter and receiver around a digital chain.

docs/design.md §7 ("Digital link"): the transmitter's latent ``z [B, k]``,
normalised by the model's ``√2·σ_z``, is quantised, 5G-LDPC coded and
QAM-mapped by :class:`channels.DigitalChannel`; the QAM symbols cross the
physical channel; the receiver demaps, BP-decodes and de-quantises, and the
same decoder makes the image.

The link's transmitted signal is not the latent but its QAM symbols, so
:meth:`DigitalLink.signal` is their real view ``s [B, 2·n_sym]`` (real and
imaginary parts interleaved) and an in-transit adversary or a jammer
perturbs there: the perturbation lives in channel-symbol space and its PSR is
against the QAM symbols' power. Inside :meth:`DigitalLink.attack_path`
(white-box attacks) the receiver takes the soft path (demapper LLRs → BP soft
output → expected quantiser level → decoder, differentiable); everywhere else,
including every evaluation, it decodes hard decisions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from channels import DigitalChannel
from semcom.link import Link, register_link_kind

__all__ = ["DigitalLink"]


@register_link_kind("digital")
class DigitalLink(Link):
    """A :class:`semcom.link.Link` over a :class:`channels.DigitalChannel` (its QAM symbols are the signal).

    Raises:
        ValueError: the channel is not digital, or 5G LDPC cannot carry the
            model's ``latent_dim`` at its settings (the message names the setting).
    """

    def __init__(self, model, channel: DigitalChannel, *, scale: float, snr_db: float | None) -> None:
        if not isinstance(channel, DigitalChannel):
            raise TypeError(f"a DigitalLink needs a DigitalChannel; got {type(channel).__name__}")
        super().__init__(model, channel, scale=scale, snr_db=snr_db)
        channel.frame(self.mapper.latent_dim)  # fail at build time, naming the setting
        self.soft = False

    @property
    def latent_dim(self) -> int:
        return self.mapper.latent_dim

    def signal(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``z [B, k]`` → real view of their QAM symbols ``[B, 2·n_sym]`` (no gradient)."""
        u = z / self.mapper.scale.to(z.dtype)  # [B, k], RMS 1/√2 per value
        symbols = self.channel.encode(u)  # [B, n_sym] complex64
        return torch.view_as_real(symbols).reshape(z.shape[0], -1).to(z.dtype)

    def deliver_signal(
        self,
        s: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        jam: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """QAM signal ``s [B, 2·n_sym]`` (perturbed or not) → physical channel → receiver → image."""
        x = _complex(s)
        over_the_air = {} if jam is None else {"jam": _complex(jam)}
        y, h = self.channel(x, snr_db=self.snr_db, generator=generator, return_h=True, **over_the_air)
        no = self.channel.noise_variance(self.snr_db)
        u = self.channel.detect(y, h, no=no, num_values=self.latent_dim, soft=self.soft)  # [B, k]
        return self.receiver.decoder(u * self.mapper.scale)

    def deliver(
        self,
        z: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        jam: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Latents ``z [B, k]`` through the whole digital chain; ``jam`` is a QAM-signal jammer ``[B, 2·n_sym]``."""
        return self.deliver_signal(self.signal(z), generator=generator, jam=jam)

    @contextmanager
    def attack_path(self) -> Iterator[None]:
        """White-box attacks see the soft, differentiable receiver; it is hard again on exit."""
        before, self.soft = self.soft, True
        try:
            yield
        finally:
            self.soft = before

    def resources(self, z: torch.Tensor) -> dict[str, float]:
        symbols = _complex(self.signal(z))
        return {"channel_uses": float(symbols.shape[-1]), "avg_power": float(symbols.abs().square().mean())}


def _complex(s: torch.Tensor) -> torch.Tensor:
    """Real view ``[B, 2n]`` (re, im interleaved) → complex64 ``[B, n]``, differentiable."""
    return torch.view_as_complex(s.float().reshape(s.shape[0], -1, 2).contiguous())
