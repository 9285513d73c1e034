"""Autoencoder models: conv nets, the variant registry (:mod:`semcom.models.variants`), and the Autoencoder class."""

from semcom.models.autoencoder import AEOutput, Autoencoder
from semcom.models.variants import VARIANTS, Variant, VariantSettings, register_variant

__all__ = ["AEOutput", "Autoencoder", "Variant", "VariantSettings", "VARIANTS", "register_variant"]
