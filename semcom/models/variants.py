"""The registered model variants (``semcom list`` shows them).

Each regulariser receives the minibatch's latents and its weight and returns
the scalar added to the reconstruction loss. The regularisers themselves are
pure functions in :mod:`semcom.regularizers`.
"""

from __future__ import annotations

import torch

from semcom import regularizers as R
from semcom.models.autoencoder import RegularizerInputs, register_variant

__all__: list[str] = []

register_variant("ae", stochastic=False, description="plain autoencoder, no regulariser")(None)


@register_variant("vae-kld", stochastic=True, description="Vanilla VAE, KL to N(0, I)")
def _kld(inp: RegularizerInputs, weight: float) -> torch.Tensor:
    return weight * R.kld_standard_normal(inp.mu, inp.logvar)
