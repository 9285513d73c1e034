"""Receiver hardening by latent adversarial training (paper Algorithm 1, §3.2).

Paper Algorithm 1 (in training): after each regular minibatch step on (E, G),
run ``K`` decoder-only steps on untargeted-PGD latents ``z + δ`` (``ε_train``,
``T`` steps, distance ``1 − SSIM``) with loss ``MSE(G(z + δ), x)``.

Receiver hardening (deployment): the transmitter (encoder) is frozen and only
the receiver is fine-tuned, starting from the stored model, with the channel
in the loop: the adversary perturbs the transmitted latent and the receiver
sees it after the channel. Each minibatch takes one clean decoder step and
``K`` perturbed ones. Defences (:data:`DEFENSES`) differ in the perturbation:

* ``adversarial`` — PGD at a single ``ε_train`` (the paper);
* ``adversarial-multi-eps`` — PGD at ``ε_train ~ U[0, ε_max]`` drawn per batch
  (beyond the paper, which notes that single-ε training fails at larger ε);
* ``noise`` — Gaussian noise of the same budget (is PGD worth its cost?);
* ``finetune`` — the control (docs/design.md §3, "The control"): the same loop,
  the same optimizer steps, ``δ = 0``. Fine-tuning alone improves a receiver
  (a VAE decoder trained on posterior samples gets better on posterior means),
  so a defence's gain is only what it adds over this.

The decoder's BatchNorm statistics stay frozen (eval mode) during fine-tuning,
so the attack and the update see the same network.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from adversary import gaussian_jamming, pgd
from semcom.link import Link
from semcom.store import ModelStore, config_key
from semcom.training import TrainedModel, minibatches

__all__ = ["HardeningConfig", "DEFENSES", "harden_receiver", "get_or_harden", "adversarial_decoder_step"]

log = logging.getLogger(__name__)


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


Perturb = Callable[[Callable[[torch.Tensor], torch.Tensor], torch.Tensor, torch.Tensor, float,
                    HardeningConfig, torch.Generator], torch.Tensor]
DEFENSES: dict[str, tuple[Perturb, str]] = {}


def _register(name: str, description: str):
    def decorate(fn: Perturb) -> Perturb:
        DEFENSES[name] = (fn, description)
        return fn

    return decorate


@_register("adversarial", "latent adversarial training at ε_train (paper Algorithm 1)")
def _pgd_delta(forward, z, clean, eps, cfg, gen):
    return pgd(forward, z, eps=eps, reference=clean, distance=cfg.distance, steps=cfg.steps,
               generator=gen).delta


@_register("adversarial-multi-eps", "adversarial training with ε_train ~ U[0, ε_max] per batch")
def _pgd_multi_eps(forward, z, clean, eps, cfg, gen):
    drawn = float(torch.rand((), generator=gen)) * eps
    return _pgd_delta(forward, z, clean, drawn, cfg, gen) if drawn > 0 else torch.zeros_like(z)


@_register("noise", "Gaussian-noise augmentation at the same budget")
def _noise_delta(forward, z, clean, eps, cfg, gen):
    return gaussian_jamming(z, eps, generator=gen)


@_register("finetune", "the control: the same fine-tuning with no perturbation (δ = 0)")
def _no_delta(forward, z, clean, eps, cfg, gen):
    return torch.zeros_like(z)


def adversarial_decoder_step(
    deliver: Callable[[torch.Tensor], torch.Tensor],
    z: torch.Tensor,
    x: torch.Tensor,
    cfg: HardeningConfig,
    optimizer: torch.optim.Optimizer,
    gen: torch.Generator,
    *,
    receiver: nn.Module,
) -> float:
    """One receiver update on perturbed latents: ``δ`` from the defence, loss ``MSE(G'(z + δ), x)``.

    ``deliver(z) -> x̂`` is everything after the adversary (channel and
    ``receiver``). The perturbation is computed with ``receiver`` in eval mode;
    the update runs in the mode the receiver had.
    """
    perturb = DEFENSES[cfg.kind][0]
    mode = receiver.training
    receiver.eval()
    with torch.no_grad():
        clean = deliver(z)
    delta = perturb(deliver, z, clean, cfg.eps, cfg, gen)
    receiver.train(mode)
    loss = (deliver(z + delta) - x).pow(2).flatten(1).sum(1).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def harden_receiver(
    link: Link, images: torch.Tensor, cfg: HardeningConfig, *, progress: bool | None = None
) -> nn.Module:
    """Fine-tune ``link``'s receiver (its decoder) in place against ``cfg``'s perturbations.

    The transmitter gets no gradient and no update; the returned decoder is in eval mode.
    """
    if cfg.kind not in DEFENSES:
        valid = ", ".join(repr(d) for d in sorted(DEFENSES))
        raise ValueError(f"`defense` must be one of {valid}; got {cfg.kind!r}")
    device = next(link.parameters()).device
    decoder = link.receiver.decoder
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
                total += adversarial_decoder_step(deliver, z, x, cfg, optimizer, gen, receiver=decoder) * len(idx)
        bar.set_postfix(adv_loss=f"{total / (images.shape[0] * cfg.k):.2f}")
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
    The encoder and ``σ_z`` are the base model's: only the receiver changes.
    """
    spec = {"kind": "hardened-receiver", "base": trained.key, "link": link_key, "defense": asdict(cfg)}
    key = config_key(spec)
    model = copy.deepcopy(trained.model)
    entry = store.load(key)
    if entry is not None:
        model.decoder.load_state_dict(entry.tensors)
    else:
        hardened = TrainedModel(model, trained.sigma_z, key, spec)
        harden_receiver(make_link(hardened).to(device), images, cfg, progress=progress)
        store.save(key, model.decoder.state_dict(), {**spec, "sigma_z": trained.sigma_z})
    for p in model.parameters():
        p.requires_grad_(True)
    return TrainedModel(model.to(device).eval(), trained.sigma_z, key, spec)
