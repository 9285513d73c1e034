"""Training of autoencoders, and the store-backed ``get_or_train``.

Adam, batch 64, learning rate 1e-3 (paper §3.1.2). Shuffling and the
reparameterisation noise come from a seeded generator; weight init is seeded
through ``torch.manual_seed`` here, the one place that touches torch's global
generator, so the same config and seed give the same weights.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

from semcom.models import Autoencoder
from semcom.store import ModelStore, config_key

__all__ = ["TrainConfig", "TrainedModel", "train_autoencoder", "latent_rms", "get_or_train", "minibatches"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained autoencoder besides its data."""

    variant: str = "vae-kld"
    latent_dim: int = 10
    weight: float | None = None
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    adversarial: Any = None
    """A :class:`semcom.hardening.HardeningConfig` turns on paper Algorithm 1:
    after each regular step, ``k`` decoder steps on perturbed latents."""


@dataclass(frozen=True)
class TrainedModel:
    """A trained autoencoder in eval mode plus what the link needs to know of it.

    ``model`` is a built-in :class:`Autoencoder` or a user's
    :class:`semcom.plugins.PluginModel`. ``sigma_z`` is the RMS of the training
    latents, fixing the transmitter's power normalisation (``√2·σ_z``).
    """

    model: torch.nn.Module
    sigma_z: float
    key: str
    meta: dict[str, Any]


def minibatches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """A seeded random partition of ``range(n)`` into batches (the last may be short)."""
    return list(torch.randperm(n, generator=generator).split(batch_size))


def train_autoencoder(
    cfg: TrainConfig,
    images: torch.Tensor,
    *,
    device: str = "cpu",
    progress: bool | None = None,
    after_step: Callable[[Autoencoder, torch.Tensor], None] | None = None,
) -> Autoencoder:
    """Train a fresh ``Autoencoder`` on ``images [N, C, H, W]`` in [0, 1].

    ``after_step(model, x)`` runs after each regular minibatch step; latent
    adversarial training (paper Algorithm 1) plugs its decoder steps in here.
    Returns the model in eval mode, on ``device``.
    """
    torch.manual_seed(cfg.seed)
    model = Autoencoder(cfg.variant, cfg.latent_dim, tuple(images.shape[1:]), weight=cfg.weight)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    noise_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    n = images.shape[0]
    if cfg.adversarial is not None and after_step is None:
        after_step = _algorithm1(cfg.adversarial)
    bar = tqdm(range(cfg.epochs), desc=f"train {cfg.variant}", disable=progress is False or None)
    for _ in bar:
        total = 0.0
        for idx in minibatches(n, cfg.batch_size, gen):
            x = images[idx].to(device)
            out = model(x, dataset_size=n, generator=noise_gen)
            opt.zero_grad(set_to_none=True)
            out.loss.backward()
            opt.step()
            total += out.loss.item() * len(idx)
            if after_step is not None:
                after_step(model, x)
        bar.set_postfix(loss=f"{total / n:.2f}")
    return model.eval()


def _algorithm1(adv) -> Callable[[Autoencoder, torch.Tensor], None]:
    """Paper Algorithm 1's inner loop: ``adv.k`` decoder-only steps on PGD latents.

    The attack runs with the model in eval mode (BatchNorm statistics are not
    touched by the attacker's forward passes); the decoder update in train mode.
    """
    from semcom.hardening import adversarial_decoder_step

    state: dict[str, Any] = {}

    def step(model: Autoencoder, x: torch.Tensor) -> None:
        if "opt" not in state:
            state["opt"] = torch.optim.Adam(model.decoder.parameters(), lr=adv.lr)
            state["gen"] = torch.Generator(x.device).manual_seed(adv.seed + 2)
        with torch.no_grad():
            model.eval()
            z = model.encode(x)
        model.train()
        for _ in range(adv.k):
            adversarial_decoder_step(model.decoder, z, x, adv, state["opt"], state["gen"], receiver=model.decoder)

    return step


@torch.no_grad()
def latent_rms(model: torch.nn.Module, images: torch.Tensor, *, batch_size: int = 500) -> float:
    """RMS of the transmitted latents (posterior means) over ``images``."""
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for chunk in images.split(batch_size):
        z = model.encode(chunk.to(device))
        total += z.pow(2).sum().item()
        count += z.numel()
    return (total / count) ** 0.5


def get_or_train(
    cfg: TrainConfig,
    images: torch.Tensor,
    data_key: dict[str, Any],
    store: ModelStore,
    *,
    device: str = "cpu",
    progress: bool | None = None,
) -> TrainedModel:
    """Load the model for (``cfg``, data) from ``store``, training and storing it if absent."""
    spec = {"kind": "autoencoder", "train": asdict(cfg), "data": data_key}
    key = config_key(spec)
    entry = store.load(key)
    if entry is not None:
        meta = entry.meta
        model = Autoencoder(cfg.variant, cfg.latent_dim, tuple(meta["image_shape"]), weight=cfg.weight)
        model.load_state_dict(entry.tensors)
        log.info("loaded model %s from the store", key)
        return TrainedModel(model.to(device).eval(), float(meta["sigma_z"]), key, meta)
    model = train_autoencoder(cfg, images, device=device, progress=progress)
    sigma = latent_rms(model, images)
    meta = {**spec, "image_shape": list(images.shape[1:]), "sigma_z": sigma}
    store.save(key, model.state_dict(), meta)
    return TrainedModel(model, sigma, key, meta)
