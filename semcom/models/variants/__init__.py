"""Built-in model variants: one family per module, each with its typed settings (docs/design.md §2, §4, §8).

A variant fixes whether the encoder is variational (outputs mean and log-variance, samples with the
reparameterisation trick) or deterministic, which regulariser pulls the latent towards N(0, I), and
optionally nets of its own (DeepJSCC). It is a subclass of :class:`Variant` whose ``Settings`` (a
subclass of :class:`VariantSettings`: types, ranges, a docstring per field) are the keys a scenario's
model entry gives beside ``variant``; :func:`register_variant` adds it to :data:`VARIANTS`, which the
schema, ``semcom list``, ``docs/scenario.md`` and :class:`semcom.models.Autoencoder` read. The
regularisers' maths are pure functions in :mod:`semcom.models.regularizers`.
"""

from __future__ import annotations

from semcom.models.variants import ae, deepjscc, kld, mmd, swt, tcvae  # noqa: F401  (each registers its variants)
from semcom.models.variants.base import (
    VARIANTS,
    RegularizerInputs,
    Variant,
    VariantSettings,
    register_variant,
)

__all__ = ["RegularizerInputs", "Variant", "VariantSettings", "VARIANTS", "register_variant"]
