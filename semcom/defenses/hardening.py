"""Receiver hardening by latent adversarial training (paper Algorithm 1, §3.2).

Paper Algorithm 1 (in training): after each regular minibatch step on (E, G),
run ``K`` decoder-only steps on untargeted-PGD latents ``z + δ`` (``ε_train``,
``T`` steps, distance ``1 − SSIM``) with loss ``MSE(G(z + δ), x)``.

Receiver hardening (deployment): the transmitter (encoder) is frozen and only
the receiver is fine-tuned, starting from the stored model, with the channel
in the loop: the adversary perturbs the transmitted latent and the receiver
sees it after the channel. Each minibatch takes one clean decoder step and
``K`` defence steps. Defences are registered classes of :mod:`semcom.defenses`
(:data:`DEFENSES`), each with its own settings, loss and, where it needs one,
inference-time receiver. Those that differ only in the perturbation:

* ``adversarial`` — PGD at a single ``ε_train`` (the paper);
* ``adversarial-multi-eps`` — PGD at ``ε_train ~ U[0, ε_max]`` drawn per batch
  (beyond the paper, which notes that single-ε training fails at larger ε);
* ``noise`` — Gaussian noise of the same budget (is PGD worth its cost?);
* ``finetune`` — the control (docs/design.md §3, "The control"): the same loop,
  the same optimizer steps, ``δ = 0``. Fine-tuning alone improves a receiver
  (a VAE decoder trained on posterior samples gets better on posterior means),
  so a defence's gain is only what it adds over this.

Beyond them: ``consistency`` (TRADES-style), ``pgd-matched`` (PGD training on
the evaluated threat) and ``smoothing`` (a randomised-smoothing receiver).

The decoder's BatchNorm statistics stay frozen (eval mode) during fine-tuning,
so the attack and the update see the same network.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from semcom import speed
from semcom.defenses import DEFENSES, Defense, defense_kinds, get_defense
from semcom.link import Link
from semcom.models.trained import TrainedModel, minibatches
from semcom.study.store import ModelStore, config_key

__all__ = ["HardeningConfig", "SettingsHardeningConfig", "DEFENSES", "hardening_config", "hardening_of_entry",
           "make_defense", "harden_receiver", "get_or_harden", "adversarial_decoder_step"]

log = logging.getLogger(__name__)
defense_kinds()  # fills DEFENSES with the built-in defences


@dataclass(frozen=True)
class HardeningConfig:
    """How to harden a receiver; ``eps`` is ``ε_train`` (or ``ε_max`` for multi-ε)."""

    kind: str = "adversarial"
    eps: float = 1.0
    steps: int = 10
    k: int = 1
    epochs: int = 3
    batch_size: int = 64
    lr: float = 5e-4
    distance: str = "ssim"
    seed: int = 0


@dataclass(frozen=True)
class SettingsHardeningConfig(HardeningConfig):
    """A :class:`HardeningConfig` with a defence's own settings (``(name, value)`` pairs, sorted).

    A separate class so that configs without settings keep their fields, and with
    them their model-store keys (which hash ``asdict(cfg)``), unchanged.
    """

    settings: tuple[tuple[str, Any], ...] = ()


def hardening_config(kind: str, settings: dict[str, Any] | None = None, **common: Any) -> HardeningConfig:
    """The config of defence ``kind``: its ``settings`` validated by the defence's ``Settings`` model.

    Without settings (or a defence without any) it is a plain :class:`HardeningConfig`;
    otherwise a :class:`SettingsHardeningConfig` holding every setting, defaults filled in.
    Raises ValueError for an unknown kind or a bad setting.
    """
    defense = get_defense(kind)
    values = defense.Settings(**(settings or {})).model_dump()
    if not values:
        return HardeningConfig(kind=kind, **common)
    return SettingsHardeningConfig(kind=kind, settings=tuple(sorted(values.items())), **common)


def hardening_of_entry(entry: Any, seed: int, settings: dict[str, Any] | None = None) -> HardeningConfig:
    """The config of a scenario entry that fine-tunes a receiver (a defence, or paper Algorithm 1).

    Every :class:`HardeningConfig` field the entry has by the same name is taken from it
    (so a setting added to both needs no copying code), ``eps`` as 0 where the kind takes
    none; the rest keep their defaults; ``settings`` are the defence's own.
    """
    names = {f.name for f in fields(HardeningConfig)} & set(type(entry).model_fields) - {"kind", "eps"}
    common = {name: getattr(entry, name) for name in sorted(names)}
    return hardening_config(entry.kind, settings, eps=entry.eps or 0.0, seed=seed, **common)


def make_defense(cfg: HardeningConfig) -> Defense:
    """The :class:`semcom.defenses.Defense` that ``cfg`` names, with its settings."""
    return get_defense(cfg.kind)(cfg)


def adversarial_decoder_step(
    deliver: Callable[[torch.Tensor], torch.Tensor],
    z: torch.Tensor,
    x: torch.Tensor,
    cfg: HardeningConfig,
    optimizer: torch.optim.Optimizer,
    gen: torch.Generator,
    *,
    receiver: nn.Module,
    attack: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> float:
    """One receiver update on the defence's loss (:meth:`semcom.defenses.Defense.loss`).

    ``deliver(z) -> x̂`` is everything after the adversary (channel and
    ``receiver``). Perturbations are computed with ``receiver`` in eval mode,
    through ``attack`` where given (the speed route's copy, :mod:`semcom.speed`);
    the update runs in the mode the receiver had.
    """
    return _step(make_defense(cfg), deliver, z, x, optimizer, gen, receiver, attack)


def _step(defense: Defense, deliver, z, x, optimizer, gen, receiver, attack) -> float:
    """One update on ``defense``'s loss; ``attack`` is passed only when given, so a defence whose
    ``loss`` predates the speed switch (no ``attack`` argument) runs as before by default."""
    extra = {} if attack is None else {"attack": attack}
    return _update(defense.loss(deliver, z, x, gen, receiver, **extra), optimizer)


def _attack_deliver(link: Link, gen: torch.Generator) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """``link.deliver`` through the speed route's frozen copy of the link as it is now, or None
    (the link itself) where the route leaves hardening on the trained modules (:mod:`semcom.speed`)."""
    view = speed.training_view(link)
    return None if view is None else (lambda latent: view.deliver(latent, generator=gen))


def _update(loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> float:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def harden_receiver(
    link: Link, images: torch.Tensor, cfg: HardeningConfig, *, progress: bool | None = None
) -> nn.Module:
    """Fine-tune ``link``'s receiver (its decoder) in place against ``cfg``'s perturbations.

    The transmitter gets no gradient and no update; the returned decoder (the plain
    module, not the defence's :meth:`~semcom.defenses.Defense.inference_receiver`) is in
    eval mode. A defence's training receiver (e.g. a noisy decoder) is in the link
    only while it is fine-tuned.
    """
    defense = make_defense(cfg)
    device = next(link.parameters()).device
    decoder = link.receiver.decoder
    link.receiver.decoder = defense.training_receiver(decoder)
    link.eval()
    for p in link.transmitter.parameters():
        p.requires_grad_(False)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=cfg.lr)
    order_gen = torch.Generator().manual_seed(cfg.seed)
    gen = torch.Generator(device).manual_seed(cfg.seed + 1)

    def deliver(latent: torch.Tensor) -> torch.Tensor:
        return link.deliver(latent, generator=gen)

    bar = tqdm(range(cfg.epochs), desc=f"harden ({cfg.kind})", disable=progress is False or None)
    for _ in bar:
        total = 0.0
        for idx in minibatches(images.shape[0], cfg.batch_size, order_gen):
            x = images[idx].to(device)
            with torch.no_grad():
                z = link.transmitter(x)
            clean_loss = (deliver(z) - x).pow(2).flatten(1).sum(1).mean()
            optimizer.zero_grad(set_to_none=True)
            clean_loss.backward()
            optimizer.step()
            for _ in range(cfg.k):
                total += _step(defense, deliver, z, x, optimizer, gen, decoder, _attack_deliver(link, gen)) * len(idx)
        bar.set_postfix(adv_loss=f"{total / (images.shape[0] * cfg.k):.2f}")
    link.receiver.decoder = decoder
    return decoder.eval()


def get_or_harden(
    trained: TrainedModel,
    make_link: Callable[[TrainedModel], Link],
    link_key: dict,
    images: torch.Tensor,
    cfg: HardeningConfig,
    store: ModelStore,
    *,
    device: str = "cpu",
    progress: bool | None = None,
) -> TrainedModel:
    """The hardened copy of ``trained`` for one link, from ``store`` or fine-tuned now.

    The store key covers the base model's key, the link and the defence config.
    The encoder and ``σ_z`` are the base model's: only the receiver changes. The
    model's decoder is the defence's inference receiver (the stored tensors are
    those of the plain decoder inside it).
    """
    spec = {"kind": "hardened-receiver", "base": trained.key, "link": link_key, "defense": asdict(cfg),
            **speed.store_key_part()}
    key = config_key(spec)
    model = copy.deepcopy(trained.model)
    entry = store.load(key)
    if entry is not None:
        model.decoder.load_state_dict(entry.tensors)
    else:
        hardened = TrainedModel(model, trained.sigma_z, key, spec)
        harden_receiver(make_link(hardened).to(device), images, cfg, progress=progress)
        store.save(key, model.decoder.state_dict(), {**spec, "sigma_z": trained.sigma_z})
    model.decoder = make_defense(cfg).inference_receiver(model.decoder)
    for p in model.parameters():
        p.requires_grad_(True)
    return TrainedModel(model.to(device).eval(), trained.sigma_z, key, spec)
