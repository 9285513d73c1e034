"""Generative autoencoders: one class, variants chosen from a registry (:mod:`semcom.models.variants`).

A variant fixes whether the encoder is variational (outputs mean and
log-variance, samples with the reparameterisation trick) or deterministic,
and which regulariser pulls the latent towards N(0, I) (paper §2.1–2.2, §4.2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from semcom.models.nets import ConvDecoder, ConvEncoder
from semcom.models.variants.base import VARIANTS, RegularizerInputs

__all__ = ["AEOutput", "Autoencoder"]


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
        variant: a name in :data:`semcom.models.VARIANTS` (``semcom list`` shows them).
        latent_dim: size of the latent code (10 MNIST, 30 Fashion-MNIST, 128 CelebA).
        image_shape: ``(C, H, W)`` with ``H == W`` in {28, 64}.
        weight: the regulariser's weight λ (β for β-TCVAE); the variant's default if None.
        encoder, decoder: optional user modules replacing the conv nets; a
            variational encoder must output ``2 * latent_dim`` features.
        bandwidth_ratio: channel uses per source value ``k/n`` of a variant with its own
            nets (DeepJSCC), which then fix ``latent_dim`` (``latent_dim`` is ignored).
        power: the transmitter's power normalisation, ``"sigma_z"`` (the fixed ``√2·σ_z``)
            or ``"per_image"`` (:class:`channels.PerImagePower`, docs/design.md §7);
            :func:`semcom.link.transceiver` reads it. The variant's default if None.
        settings: the variant's other settings (its ``Settings`` fields) by name.

    ``weight``, ``bandwidth_ratio`` and ``power`` apply where the variant's ``Settings`` has them
    (a variant without a regulariser ignores ``weight``); ``self.settings`` holds the result.
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
        settings: Mapping[str, Any] = (),
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            valid = ", ".join(repr(v) for v in sorted(VARIANTS))
            raise ValueError(f"`variant` must be one of {valid}; got {variant!r}")
        if latent_dim < 1:
            raise ValueError(f"`latent_dim` must be ≥ 1; got {latent_dim}")
        self.variant = VARIANTS[variant]
        self.settings = self.variant.settings(
            {"weight": weight, "bandwidth_ratio": bandwidth_ratio, "power": power, **dict(settings)})
        self.power = self.settings.power
        if self.variant.nets is not None and encoder is None and decoder is None:
            encoder, decoder, latent_dim = self.variant.nets(tuple(image_shape), self.settings)
        self.latent_dim = latent_dim
        self.image_shape = tuple(image_shape)
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
            reg(RegularizerInputs(z, mu, logvar, dataset_size, generator), self.settings)
            if reg is not None
            else recon_loss.new_zeros(())
        )
        return AEOutput(recon_loss + reg_loss, recon_loss, reg_loss, recon, z, mu, logvar)


def _reparameterise(mu: torch.Tensor, logvar: torch.Tensor, generator) -> torch.Tensor:
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + eps * (0.5 * logvar).exp()
