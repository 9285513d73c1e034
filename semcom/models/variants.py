"""The registered model variants (``semcom list`` shows them).

Each regulariser receives the minibatch's latents and its weight and returns
the scalar added to the reconstruction loss. The regularisers themselves are
pure functions in :mod:`semcom.models.regularizers`.
"""

from __future__ import annotations

import torch

from semcom.models import regularizers as R
from semcom.models.autoencoder import RegularizerInputs, register_variant
from semcom.models.deepjscc import deepjscc_nets

__all__: list[str] = []

register_variant("ae", stochastic=False, description="plain autoencoder, no regulariser")(None)
register_variant("deepjscc", stochastic=False, nets=deepjscc_nets, power="per_image",
                 description="DeepJSCC (Bourtsoulatze et al. 2019): 5×5 convs + PReLU, per-image power, "
                             "`bandwidth_ratio` k/n")(None)


@register_variant("vae-kld", stochastic=True, description="Vanilla VAE, KL to N(0, I)")
def _kld(inp: RegularizerInputs, weight: float) -> torch.Tensor:
    return weight * R.kld_standard_normal(inp.mu, inp.logvar)


@register_variant("vae-mmd", stochastic=True, default_weight=100.0,
                  description="VAE with MMD to N(0, I) (paper Eq. 2)")
@register_variant("dae-mmd", stochastic=False, default_weight=100.0,
                  description="deterministic AE with MMD to N(0, I)")
def _mmd(inp: RegularizerInputs, weight: float) -> torch.Tensor:
    return weight * R.mmd_standard_normal(inp.z, generator=inp.generator)


@register_variant("vae-swt", stochastic=True, default_weight=100.0,
                  description="VAE with the Shapiro–Wilk regulariser Σ(1 − W_j) (paper Eq. 3)")
@register_variant("dae-swt", stochastic=False, default_weight=100.0,
                  description="deterministic AE with the Shapiro–Wilk regulariser")
def _swt(inp: RegularizerInputs, weight: float) -> torch.Tensor:
    return weight * R.shapiro_wilk_loss(inp.z)


@register_variant("tcvae", stochastic=True, default_weight=6.0,
                  description="β-TCVAE (weight = β on total correlation, minibatch-weighted sampling)")
def _tcvae(inp: RegularizerInputs, weight: float) -> torch.Tensor:
    terms = R.tc_decomposition(inp.z, inp.mu, inp.logvar, max(inp.dataset_size, inp.z.shape[0]))
    return R.tcvae_loss(terms, beta=weight)
