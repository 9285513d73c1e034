"""Generative autoencoders: one class, variants chosen from a registry.

A variant fixes whether the encoder is variational (outputs mean and
log-variance, samples with the reparameterisation trick) or deterministic,
and which regulariser pulls the latent towards N(0, I) (paper §2.1–2.2, §4.2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from semcom.models.nets import ConvDecoder, ConvEncoder

__all__ = ["AEOutput", "Autoencoder", "POWER_NORMALISATIONS", "RegularizerInputs", "Variant", "VARIANTS",
           "register_variant"]


@dataclass(frozen=True)
class RegularizerInputs:
    """What a regulariser may look at for one minibatch.

    ``z``, ``mu`` and ``logvar`` are ``[B, latent_dim]``; for deterministic
    encoders ``mu is z`` and ``logvar`` is ``None``.
    """

    z: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor | None
    dataset_size: int
    generator: torch.Generator | None


Regularizer = Callable[[RegularizerInputs, float], torch.Tensor]


@dataclass(frozen=True)
class Variant:
    """A model family: encoder kind, regulariser, default weight λ (or β)."""

    name: str
    stochastic: bool
    regularizer: Regularizer | None
    default_weight: float
    description: str
    nets: Callable[..., tuple[nn.Module, nn.Module, int]] | None = None
    """``nets(image_shape, bandwidth_ratio) -> (encoder, decoder, k)`` replacing the paper's conv
    nets (DeepJSCC); ``None``: :class:`ConvEncoder` / :class:`ConvDecoder`."""
    power: str | None = None
    """The power normalisation the variant requires (``"per_image"`` for DeepJSCC); ``None``: any."""


VARIANTS: dict[str, Variant] = {}

POWER_NORMALISATIONS = ("sigma_z", "per_image")
"""The transmitter's power normalisations (docs/design.md §3 and §7)."""


def register_variant(
    name: str, *, stochastic: bool, default_weight: float = 1.0, description: str = "",
    nets: Callable[..., tuple[nn.Module, nn.Module, int]] | None = None, power: str | None = None,
) -> Callable[[Regularizer | None], Regularizer | None]:
    """Decorator adding a regulariser ``f(inputs, weight) -> scalar`` as variant ``name``."""

    def decorate(fn: Regularizer | None) -> Regularizer | None:
        VARIANTS[name] = Variant(name, stochastic, fn, default_weight, description, nets, power)
        return fn

    return decorate


@dataclass(frozen=True)
class AEOutput:
    """One forward pass: the trainer reads ``loss``; the rest is for inspection."""

    loss: torch.Tensor
    recon_loss: torch.Tensor
    reg_loss: torch.Tensor
    recon_x: torch.Tensor
    z: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor | None


class Autoencoder(nn.Module):
    """The paper's conv autoencoder with a registered variant's objective.

    Args:
        variant: a name in :data:`VARIANTS` (``semcom list`` shows them).
        latent_dim: size of the latent code (10 MNIST, 30 Fashion-MNIST, 128 CelebA).
        image_shape: ``(C, H, W)`` with ``H == W`` in {28, 64}.
        weight: the regulariser's weight λ (β for β-TCVAE); the variant's default if None.
        encoder, decoder: optional user modules replacing the conv nets; a
            variational encoder must output ``2 * latent_dim`` features.
        bandwidth_ratio: channel uses per source value ``k/n`` of a variant with its own
            nets (DeepJSCC), which then fix ``latent_dim`` (``latent_dim`` is ignored).
        power: the transmitter's power normalisation, ``"sigma_z"`` (the fixed ``√2·σ_z``)
            or ``"per_image"`` (:class:`channels.PerImagePower`, docs/design.md §7);
            :func:`semcom.link.transceiver` reads it.
    """

    def __init__(
        self,
        variant: str,
        latent_dim: int,
        image_shape: tuple[int, int, int],
        *,
        weight: float | None = None,
        encoder: nn.Module | None = None,
        decoder: nn.Module | None = None,
        bandwidth_ratio: float | None = None,
        power: str | None = None,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            valid = ", ".join(repr(v) for v in sorted(VARIANTS))
            raise ValueError(f"`variant` must be one of {valid}; got {variant!r}")
        if latent_dim < 1:
            raise ValueError(f"`latent_dim` must be ≥ 1; got {latent_dim}")
        self.variant = VARIANTS[variant]
        self.power = power or self.variant.power or "sigma_z"
        if self.power not in POWER_NORMALISATIONS:
            raise ValueError(f"`power` must be one of {POWER_NORMALISATIONS}; got {self.power!r}")
        if self.variant.power is not None and self.power != self.variant.power:
            raise ValueError(f"the {variant} variant takes `power: {self.variant.power}` only; got {self.power!r}")
        if self.variant.nets is not None and encoder is None and decoder is None:
            encoder, decoder, latent_dim = self.variant.nets(tuple(image_shape), bandwidth_ratio)
        self.latent_dim = latent_dim
        self.image_shape = tuple(image_shape)
        self.weight = self.variant.default_weight if weight is None else float(weight)
        channels, size = image_shape[0], image_shape[-1]
        width = 2 * latent_dim if self.variant.stochastic else latent_dim
        self.encoder = encoder if encoder is not None else ConvEncoder(channels, size, width)
        self.decoder = decoder if decoder is not None else ConvDecoder(latent_dim, channels, size)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(mu, logvar)`` for variational encoders, ``(z, None)`` for deterministic ones."""
        h = self.encoder(x)
        if not self.variant.stochastic:
            return h, None
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)

    def encode(self, x: torch.Tensor, *, sample: bool = False, generator=None) -> torch.Tensor:
        """The transmitted latent ``[B, latent_dim]``: the posterior mean unless ``sample``."""
        mu, logvar = self.posterior(x)
        if sample and logvar is not None:
            return _reparameterise(mu, logvar, generator)
        return mu

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(
        self, x: torch.Tensor, *, dataset_size: int = 1, generator: torch.Generator | None = None,
        deliver: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> AEOutput:
        """One training pass; ``deliver(z) -> ẑ`` carries the latent ``[B, k]`` to the decoder
        (the channel in the loop, :mod:`semcom.models.channel_training`); ``None`` decodes ``z`` itself."""
        mu, logvar = self.posterior(x)
        z = mu if logvar is None else _reparameterise(mu, logvar, generator)
        recon = self.decoder(z if deliver is None else deliver(z))
        # Gaussian log-likelihood up to constants: squared error summed over pixels, mean over batch.
        recon_loss = (recon - x).pow(2).flatten(1).sum(1).mean()
        reg = self.variant.regularizer
        reg_loss = (
            reg(RegularizerInputs(z, mu, logvar, dataset_size, generator), self.weight)
            if reg is not None
            else recon_loss.new_zeros(())
        )
        return AEOutput(recon_loss + reg_loss, recon_loss, reg_loss, recon, z, mu, logvar)


def _reparameterise(mu: torch.Tensor, logvar: torch.Tensor, generator) -> torch.Tensor:
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + eps * (0.5 * logvar).exp()
