"""Training of autoencoders, and the store-backed ``get_or_train``.

Adam, batch 64, learning rate 1e-3 (paper §3.1.2). Shuffling and the
reparameterisation noise come from a seeded generator; weight init is seeded
through ``torch.manual_seed`` inside ``torch.random.fork_rng``, so the same config
and seed give the same weights and the caller's global generator is left as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from tqdm.auto import tqdm

from semcom import speed
from semcom.defenses.hardening import HardeningConfig, adversarial_decoder_step
from semcom.models import Autoencoder
from semcom.models.trained import TrainedModel, minibatches
from semcom.study.store import ModelStore, config_key

__all__ = ["EarlyStopping", "TrainConfig", "fit", "get_or_train", "latent_rms", "new_autoencoder", "train_autoencoder",
           "train_spec", "trained_sigma_z", "training_meta"]

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
    adversarial: HardeningConfig | None = None
    """A :class:`semcom.defenses.hardening.HardeningConfig` turns on paper Algorithm 1:
    after each regular step, ``k`` decoder steps on perturbed latents."""
    power: str | None = None
    """The transmitter's power normalisation: ``sigma_z`` (fixed ``√2·σ_z``) or ``per_image``;
    ``None``: the variant's (``per_image`` for DeepJSCC, else ``sigma_z``)."""
    train_channel: Any = None
    """A :class:`semcom.models.channel_training.TrainChannel`: train through that channel (docs/design.md §7)."""
    bandwidth_ratio: float | None = None
    """Channel uses per source value ``k/n`` of a variant with its own nets (DeepJSCC)."""
    early_stopping: Any = None
    """An :class:`EarlyStopping`: hold out a validation share, stop when its loss stops improving."""
    settings: tuple[tuple[str, Any], ...] = ()
    """The variant's other settings the entry gives, ``(name, value)`` sorted by name (those of its
    ``Settings`` beyond ``weight``, ``power`` and ``bandwidth_ratio``: a variant registered later)."""

    @classmethod
    def from_entry(cls, m: Any, seed: int, **fixed: Any) -> TrainConfig:
        """The config of scenario model entry ``m`` (a :class:`semcom.study.model_entry.ModelConfig`) at ``seed``.

        Each field is read by name: the entry's key of that name (``variant``, ``latent_dim``,
        ``epochs``, …), else its variant's (or plug-in's) setting of that name (``weight``, ``power``,
        ``bandwidth_ratio``), left at ``None`` when the entry does not give it, so store keys stay as
        they were (docs/design.md §8); the variant's other given settings go to ``settings``.
        ``adversarial`` (paper Algorithm 1) becomes its :class:`HardeningConfig`, ``train_channel`` and
        ``early_stopping`` their dataclasses. ``fixed`` sets fields outright (a trained plug-in's
        ``variant`` and ``latent_dim``).
        """
        from semcom.models.channel_training import TrainChannel

        given, keys = m.settings(), type(m).model_fields
        values = {f.name: getattr(m, f.name) if f.name in keys else given.pop(f.name)
                  for f in fields(cls) if f.name in keys or f.name in given}
        adv, channel, stop = m.adversarial, m.train_channel, m.early_stopping
        values.update(seed=seed, settings=tuple(sorted(given.items())),
                      adversarial=None if adv is None else adv.hardening(seed),
                      train_channel=None if channel is None else TrainChannel.from_entry(channel),
                      early_stopping=None if stop is None else EarlyStopping(**stop.model_dump()))
        return cls(**{**values, **fixed})


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` epochs; keep the best weights.

    ``val_fraction`` of the training images (a seeded draw) is held out for the validation loss.
    """

    patience: int = 3
    val_fraction: float = 0.1
    min_delta: float = 0.0


_LATER_FIELDS = {"power": None, "train_channel": None, "bandwidth_ratio": None, "early_stopping": None, "settings": ()}


def train_spec(cfg: TrainConfig) -> dict[str, Any]:
    """``cfg`` as the store key sees it: settings added later appear only when not at their default.

    So a model entry that sets none of them keeps the store key it had before they existed.
    """
    spec = asdict(cfg)
    for name, default in _LATER_FIELDS.items():
        if spec[name] == default:
            del spec[name]
    return spec


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
    Returns the model in eval mode, on ``device``; its per-epoch losses are in
    ``model.train_history``.
    """
    with torch.random.fork_rng(devices=[]):  # the caller's global generator is left as it was
        torch.manual_seed(cfg.seed)
        model = new_autoencoder(cfg, tuple(images.shape[1:]))
        model.train_history = fit(model, cfg, images, device=device, progress=progress, after_step=after_step)
    return model


def new_autoencoder(cfg: TrainConfig, image_shape: tuple[int, ...]) -> Autoencoder:
    """The untrained built-in model of ``cfg`` (weights from torch's global generator)."""
    return Autoencoder(cfg.variant, cfg.latent_dim, tuple(image_shape), weight=cfg.weight,
                       bandwidth_ratio=cfg.bandwidth_ratio, power=cfg.power, settings=dict(cfg.settings))


def fit(
    model: torch.nn.Module,
    cfg: TrainConfig,
    images: torch.Tensor,
    *,
    device: str = "cpu",
    progress: bool | None = None,
    after_step: Callable[[Autoencoder, torch.Tensor], None] | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` (``model(x, dataset_size=, generator=, deliver=) -> AEOutput``) in place.

    Adam at ``cfg.lr``, seeded minibatches of ``cfg.batch_size``; with ``cfg.train_channel``
    or ``cfg.power = "per_image"`` the latent crosses :func:`semcom.models.channel_training.make_deliver`'s
    chain on the way to the decoder. With ``cfg.early_stopping`` a seeded validation share is held
    out, its loss computed after each epoch (eval mode, fixed noise), training stops after
    ``patience`` epochs without improvement and the best epoch's weights are kept.
    Returns one ``{"epoch", "loss"[, "val_loss"]}`` per epoch; leaves the model in eval mode.
    """
    from semcom.models.channel_training import make_deliver

    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    noise_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    deliver = make_deliver(model.latent_dim, model.power, cfg.train_channel, seed=cfg.seed, device=device)
    stop = cfg.early_stopping
    images, val = (images, None) if stop is None else _split_validation(images, stop.val_fraction, cfg.seed)
    n = images.shape[0]
    if cfg.adversarial is not None and after_step is None:
        after_step = _algorithm1(cfg.adversarial)
    history: list[dict[str, float]] = []
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    bar = tqdm(range(cfg.epochs), desc=f"train {cfg.variant}", disable=progress is False or None)
    for epoch in bar:
        total = 0.0
        for idx in minibatches(n, cfg.batch_size, gen):
            x = images[idx].to(device)
            out = model(x, dataset_size=n, generator=noise_gen, deliver=deliver)
            opt.zero_grad(set_to_none=True)
            out.loss.backward()
            opt.step()
            total += out.loss.item() * len(idx)
            if after_step is not None:
                after_step(model, x)
        row = {"epoch": epoch + 1, "loss": total / n}
        if val is not None:
            row["val_loss"] = _validation_loss(model, cfg, val, n, device)
        history.append(row)
        bar.set_postfix({k: f"{v:.2f}" for k, v in row.items() if k != "epoch"})
        log.info("epoch %d/%d %s", epoch + 1, cfg.epochs,
                 " ".join(f"{k}={v:.3f}" for k, v in row.items() if k != "epoch"))
        if val is not None:
            if best is None or row["val_loss"] < best[0] - stop.min_delta:
                best = (row["val_loss"], {k: v.detach().clone() for k, v in model.state_dict().items()})
                since = 0
            else:
                since += 1
                if since >= stop.patience:
                    log.info("early stop after epoch %d: validation loss has not improved for %d epochs",
                             epoch + 1, stop.patience)
                    break
    if best is not None:
        model.load_state_dict(best[1])
    model.eval()
    return history


def _split_validation(images: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded ``(train, validation)`` split of ``images``, ``fraction`` of them (≥ 1) for validation."""
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed + 5))
    n_val = max(1, round(fraction * images.shape[0]))
    return images[order[n_val:]], images[order[:n_val]]


@torch.no_grad()
def _validation_loss(model: torch.nn.Module, cfg: TrainConfig, val: torch.Tensor, n: int, device: str) -> float:
    """The training objective on ``val`` in eval mode, with noise and channel draws fixed per call."""
    from semcom.models.channel_training import make_deliver

    model.eval()
    deliver = make_deliver(model.latent_dim, model.power, cfg.train_channel, seed=cfg.seed + 100, device=device)
    noise = torch.Generator(device=device).manual_seed(cfg.seed + 101)
    total = 0.0
    for x in val.split(max(cfg.batch_size, 256)):
        out = model(x.to(device), dataset_size=n, generator=noise, deliver=deliver)
        total += out.loss.item() * x.shape[0]
    model.train()
    return total / val.shape[0]


def _algorithm1(adv) -> Callable[[Autoencoder, torch.Tensor], None]:
    """Paper Algorithm 1's inner loop: ``adv.k`` decoder-only steps on PGD latents.

    The attack runs with the model in eval mode (BatchNorm statistics are not
    touched by the attacker's forward passes); the decoder update in train mode.
    """
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
            adversarial_decoder_step(model.decoder, z, x, adv, state["opt"], state["gen"], receiver=model.decoder,
                                     attack=speed.training_view(model.decoder))

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
    """Load the model for (``cfg``, data) from ``store``, training and storing it if absent.

    The metadata records the power normalisation (``power``), the training channel
    (``train_channel``, None without one) and the per-epoch losses (``history``).
    """
    spec = {"kind": "autoencoder", "train": train_spec(cfg), "data": data_key,
            **(speed.store_key_part() if cfg.adversarial is not None else {})}
    key = config_key(spec)
    entry = store.load(key)
    if entry is not None:
        meta = entry.meta
        model = new_autoencoder(cfg, tuple(meta["image_shape"]))
        model.load_state_dict(entry.tensors)
        log.info("loaded model %s from the store", key)
        return TrainedModel(model.to(device).eval(), float(meta["sigma_z"]), key, meta)
    model = train_autoencoder(cfg, images, device=device, progress=progress)
    sigma = trained_sigma_z(model, images)
    meta = {**spec, "image_shape": list(images.shape[1:]), "sigma_z": sigma, **training_meta(cfg, model)}
    store.save(key, model.state_dict(), meta)
    return TrainedModel(model, sigma, key, meta)


def trained_sigma_z(model: torch.nn.Module, images: torch.Tensor) -> float:
    """``σ_z`` of a trained model: RMS of its training latents, 1 under the per-image constraint.

    Per image the latent is normalised to unit average symbol power, so the mapper's
    scale is ``√2`` exactly (:data:`channels.PER_IMAGE_SCALE`), i.e. ``σ_z = 1``.
    """
    return 1.0 if getattr(model, "power", "sigma_z") == "per_image" else latent_rms(model, images)


def training_meta(cfg: TrainConfig, model: torch.nn.Module) -> dict[str, Any]:
    """What reports show of how a model was trained: power normalisation, channel, losses."""
    channel = None if cfg.train_channel is None else asdict(cfg.train_channel)
    return {"power": getattr(model, "power", cfg.power), "train_channel": channel,
            "history": getattr(model, "train_history", [])}
