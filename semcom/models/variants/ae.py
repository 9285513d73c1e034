"""``ae``: the plain autoencoder, no regulariser (docs/design.md §4)."""

from __future__ import annotations

from semcom.models.variants.base import Variant, register_variant

__all__ = ["PlainAutoencoder"]


@register_variant("ae", stochastic=False, description="plain autoencoder, no regulariser")
class PlainAutoencoder(Variant):
    """Reconstruction loss only; its one setting is the power normalisation."""
