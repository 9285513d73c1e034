"""Autoencoder models: conv nets, the variant registry, and the Autoencoder class."""

from semcom.models import variants as _variants  # noqa: F401  (fills VARIANTS)
from semcom.models.autoencoder import VARIANTS, AEOutput, Autoencoder, Variant, register_variant

__all__ = ["AEOutput", "Autoencoder", "Variant", "VARIANTS", "register_variant"]
