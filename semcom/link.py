"""The learned link: transmitter → (adversary) → channel → receiver.

``Transmitter`` is the encoder plus the power-normalising symbol mapper,
``Receiver`` the inverse mapping plus the decoder, and ``Link`` joins them
through a channel from :mod:`channels`. The adversary's perturbation ``δ`` is
in latent units. In transit it is added to the latent, so the transmitted
symbols become the mapping of ``z + δ``; over the air a jammer transmits the
mapping of ``δ`` through its own channel (docs/design.md §3, "Budget" and
"Placement").
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from copy import deepcopy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from channels import Channel, PerImagePower, SymbolMapper
from semcom.speed import fast_transposed_convs

__all__ = ["LINK_KINDS", "Transmitter", "Receiver", "Link", "build_link", "inference_copy", "register_link_kind",
           "transceiver"]


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

    def forward(self, symbols: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode; a decoder with ``takes_generator`` (a random receiver, e.g. a smoothed one)
        draws its randomness from ``generator``."""
        latent = self.mapper.to_latent(symbols)
        if getattr(self.decoder, "takes_generator", False):
            return self.decoder(latent, generator=generator)
        return self.decoder(latent)


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
            outputs are the transmitted latent), ``decoder`` and ``latent_dim``:
            a built-in :class:`semcom.models.Autoencoder` or a
            :class:`semcom.models.plugins.PluginModel`.
        channel: a :class:`channels.Channel`.
        scale: the power normalisation constant ``√2·σ_z`` (fixed at training).
        snr_db: the channel's SNR [dB]; None for the ideal link.
    """

    def __init__(self, model: nn.Module, channel: Channel, *, scale: float, snr_db: float | None) -> None:
        super().__init__()
        self.transmitter, self.receiver = _transceiver(model, scale)
        self.channel = channel
        self.snr_db = snr_db

    @classmethod
    def from_trained(cls, trained, channel: Channel, *, snr_db: float | None = None) -> Link:
        """The link of a ``TrainedModel`` (built-in or plug-in) over ``channel``.

        The power normalisation is the model's ``√2·σ_z``.
        """
        return cls(trained.model, channel, scale=_power_scale(trained), snr_db=snr_db)

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
        # a user's channel (e.g. a Sionna link) need not know about jammers unless one is asked for
        over_the_air = {} if jam is None else {"jam": self.mapper.to_symbols(jam)}
        received = self.channel.receive(symbols, snr_db=self.snr_db, generator=generator, **over_the_air)
        return self.receiver(received, generator)

    def forward(
        self, x: torch.Tensor, delta: torch.Tensor | None = None, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        z = self.transmitter(x)
        return self.deliver(z if delta is None else z + delta, generator=generator)

    # The transmitted signal, where an in-transit adversary acts (docs/design.md §7, "Digital link").
    # A learned link transmits its latent: the signal is ``z`` itself and these are identities.

    def signal(self, z: torch.Tensor) -> torch.Tensor:
        """The real tensor ``s [B, d]`` the link puts in transit for latents ``z [B, k]``: here ``z``.

        Perturbations ``δ`` of an in-transit adversary or a jammer live in its
        space and PSR budgets are against its power; a link with another
        transmitted signal (the digital link's QAM symbols) overrides this.
        """
        return z

    def deliver_signal(
        self,
        s: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        jam: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Carry a (perturbed) signal ``s [B, d]`` of :meth:`signal` to the decoded image; ``jam`` as ``s``."""
        return self.deliver(s, generator=generator, jam=jam)

    def attack_path(self) -> AbstractContextManager:
        """Context in which white-box attacks differentiate the link (the digital link's soft path)."""
        return nullcontext()

    def resources(self, z: torch.Tensor) -> dict[str, float]:
        """``channel_uses`` (complex symbols per image) and ``avg_power`` (mean ``|x|²``) for latents ``z``."""
        symbols = self.mapper.to_symbols(z)  # [B, ceil(k/2)]
        return {"channel_uses": float(symbols.shape[-1]), "avg_power": float(symbols.abs().square().mean())}


def _power_scale(trained) -> float:
    """The transmitter's power normalisation ``√2·σ_z`` of a ``TrainedModel``."""
    return 2**0.5 * trained.sigma_z


def _transceiver(model: nn.Module, scale: float) -> tuple[Transmitter, Receiver]:
    """The model's transmitter and receiver; a ``power = "per_image"`` model's transmitter ends in
    :class:`channels.PerImagePower` (DeepJSCC's normalisation layer, docs/design.md §7)."""
    mapper = SymbolMapper(model.latent_dim, scale)
    encode = _PosteriorMean(model.encoder, model.latent_dim)
    if getattr(model, "power", "sigma_z") == "per_image":
        encode = nn.Sequential(encode, PerImagePower(model.latent_dim))
    return Transmitter(encode, mapper), Receiver(model.decoder, mapper)


def transceiver(trained) -> tuple[Transmitter, Receiver]:
    """semcom's transmitter and receiver of a trained model, for a link of your own.

    ``tx(x)`` is the latent ``z``, ``tx.mapper.to_symbols(z)`` its complex
    symbols of unit average power (normalised by the model's ``√2·σ_z``);
    ``rx(symbols)`` decodes equalised symbols. They share the model's modules.
    """
    return _transceiver(trained.model, _power_scale(trained))


LINK_KINDS: dict[str, type[Link]] = {}
"""Link classes for channel kinds whose transmitted signal is not the latent (default :class:`Link`)."""


def register_link_kind(kind: str):
    """Class decorator: build links over channel ``kind`` with this :class:`Link` subclass."""

    def decorator(cls: type[Link]) -> type[Link]:
        LINK_KINDS[kind] = cls
        return cls

    return decorator


def build_link(trained, channel_cfg, snr_db: float | None) -> Link:
    """The :class:`Link` of a stored model (``TrainedModel``) on a scenario's channel entry."""
    from channels import make_channel
    from semcom import digital_link  # noqa: F401  (registers the digital link)

    channel = make_channel(channel_cfg.kind, **channel_cfg.settings())
    return LINK_KINDS.get(channel_cfg.kind, Link).from_trained(trained, channel, snr_db=snr_db)


def inference_copy(module: nn.Module) -> nn.Module:
    """A copy of ``module`` for attacking and evaluating: eval mode, frozen, BatchNorm folded, NHWC.

    Attacks differentiate with respect to ``δ`` only, so the copy's parameters
    need no gradient (autograd skips the weight gradients). In eval mode a
    BatchNorm right after a convolution in an ``nn.Sequential`` is an affine
    map that :func:`torch.nn.utils.fusion.fuse_conv_bn_eval` folds into the
    convolution's weights: same outputs to float rounding, one pass less over
    the activations forward and backward. Conv weights are stored
    channels-last, which steers oneDNN to its fast transposed-convolution
    kernels on CPU, and each transposed convolution runs by the fastest route
    for its shape (:mod:`semcom.speed`). ``benchmarks/attack_throughput.py``
    measures the effect per PGD step. ``module`` itself is left untouched.
    """
    copy = deepcopy(module).eval().requires_grad_(False)
    for parent in copy.modules():
        if isinstance(parent, nn.Sequential):
            _fold_batchnorm(parent)
    return fast_transposed_convs(copy).to(memory_format=torch.channels_last)


def _fold_batchnorm(seq: nn.Sequential) -> None:
    """Replace each (Conv / ConvTranspose, BatchNorm) pair of ``seq`` by the fused conv and an Identity."""
    children = list(seq)
    for i, (conv, bn) in enumerate(zip(children, children[1:], strict=False)):
        if isinstance(conv, nn.Conv2d | nn.ConvTranspose2d) and type(bn) is nn.BatchNorm2d and bn.track_running_stats:
            seq[i] = fuse_conv_bn_eval(conv, bn, transpose=isinstance(conv, nn.ConvTranspose2d)).requires_grad_(False)
            seq[i + 1] = nn.Identity()
