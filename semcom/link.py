"""The learned link: transmitter → (adversary) → channel → receiver.

``Transmitter`` is the encoder plus the power-normalising symbol mapper,
``Receiver`` the inverse mapping plus the decoder, and ``Link`` joins them
through a channel from :mod:`channels`. The adversary's perturbation ``δ`` is
in latent units. In transit it is added to the latent, so the transmitted
symbols become the mapping of ``z + δ``; over the air a jammer transmits the
mapping of ``δ`` through its own channel (ARCHITECTURE §3, "Budget" and
"Placement").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from channels import Channel, SymbolMapper

__all__ = ["Transmitter", "Receiver", "Link", "build_link", "frozen"]


class Transmitter(nn.Module):
    """Image ``[B, C, H, W]`` → latent ``[B, k]`` (posterior mean) and its complex symbols."""

    def __init__(self, encode: nn.Module, mapper: SymbolMapper) -> None:
        super().__init__()
        self.encode = encode
        self.mapper = mapper

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The latent ``z`` the link carries (symbols are ``self.mapper.to_symbols(z)``)."""
        return self.encode(x)


class Receiver(nn.Module):
    """Equalised symbols ``[B, ceil(k/2)]`` complex → image ``[B, C, H, W]``."""

    def __init__(self, decoder: nn.Module, mapper: SymbolMapper) -> None:
        super().__init__()
        self.decoder = decoder
        self.mapper = mapper

    def forward(self, symbols: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.mapper.to_latent(symbols))


class _PosteriorMean(nn.Module):
    """The first ``latent_dim`` encoder outputs: a VAE's posterior mean, a DAE's whole code."""

    def __init__(self, encoder: nn.Module, latent_dim: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.latent_dim = latent_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)[:, : self.latent_dim]


class Link(nn.Module):
    """A whole link at one SNR: ``x ↦ receiver(channel(mapper(E(x) + δ)))``.

    Args:
        model: an autoencoder with ``encoder`` (whose first ``latent_dim``
            outputs are the transmitted latent), ``decoder`` and ``latent_dim``.
        channel: a :class:`channels.Channel`.
        scale: the power normalisation constant ``√2·σ_z`` (fixed at training).
        snr_db: the channel's SNR [dB]; None for the ideal link.
    """

    def __init__(self, model: nn.Module, channel: Channel, *, scale: float, snr_db: float | None) -> None:
        super().__init__()
        mapper = SymbolMapper(model.latent_dim, scale)
        self.transmitter = Transmitter(_PosteriorMean(model.encoder, model.latent_dim), mapper)
        self.channel = channel
        self.receiver = Receiver(model.decoder, mapper)
        self.snr_db = snr_db

    @property
    def mapper(self) -> SymbolMapper:
        return self.receiver.mapper

    def deliver(
        self,
        z: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        jam: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Carry latents ``z [B, k]`` (perturbed, if attacked in transit) to the decoded image.

        ``jam [B, k]``, in latent units, is a jammer's perturbation over the air:
        its symbols (mapped like ``z``) reach the receiver through the jammer's
        own channel, ``y = h c + h_j j + n`` (see :meth:`channels.Channel.forward`).
        """
        symbols = self.mapper.to_symbols(z)
        jam_symbols = None if jam is None else self.mapper.to_symbols(jam)
        received = self.channel.receive(
            symbols, snr_db=self.snr_db, generator=generator, jam=jam_symbols
        )
        return self.receiver(received)

    def forward(
        self, x: torch.Tensor, delta: torch.Tensor | None = None, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        z = self.transmitter(x)
        return self.deliver(z if delta is None else z + delta, generator=generator)


def build_link(trained, channel_cfg, snr_db: float | None) -> Link:
    """The :class:`Link` of a stored model (``TrainedModel``) on a scenario's channel entry."""
    from channels import make_channel

    settings = channel_cfg.model_dump(include=channel_cfg.model_fields_set & {"equalizer", "block_length"})
    channel = make_channel(channel_cfg.kind, **settings)
    return Link(trained.model, channel, scale=2**0.5 * trained.sigma_z, snr_db=snr_db)


@contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Within the block, ``module``'s parameters need no gradient and it is in eval mode.

    Attacks differentiate with respect to ``δ`` only; frozen parameters spare
    autograd the weight gradients. Both settings are restored afterwards, module by
    module: a new :class:`Link` is in train mode while the trained model it wraps is
    in eval mode, and must stay so.
    """
    flags = [(p, p.requires_grad) for p in module.parameters()]
    modes = [(m, m.training) for m in module.modules()]
    for p, _ in flags:
        p.requires_grad_(False)
    module.eval()
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        for m, mode in modes:
            m.training = mode
