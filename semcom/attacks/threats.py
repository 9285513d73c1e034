"""Threat models of a sweep: what one attack entry does to a batch of latents on a link.

A scenario's attack entry (an attack of :mod:`semcom.attacks`) becomes perturbations ``δ``
``[B, k]`` in latent units (docs/design.md §3) — in the units of the link's
transmitted signal (:meth:`semcom.link.Link.signal`), which is the latent on a
learned link and the QAM symbols on the digital link (§7):

* **budget** on one of :data:`BUDGET_AXES`: ``eps``, the latent norm bound
  ``‖δ_b‖ ≤ ε`` (the paper's), or ``psr_db``, a perturbation-to-signal power
  ratio per sample, ``ε_b = ‖s_b‖₂·10^(PSR/20)`` (:func:`adversary.psr_to_eps`).
  A PSR budget is a transmit power: the kept perturbation is scaled onto its
  L2 sphere (:func:`adversary.to_sphere`; an untargeted attack's kept iterate
  is there already), so its PSR is the budget. The universal perturbation,
  one ``δ_u`` for all samples, has its budget against the mean power of the
  training latents (the link's average transmit power);
* **placement** (:data:`PLACEMENTS`): ``in_transit`` adds ``δ`` to the latent
  before the channel; ``over_the_air`` is a jammer whose signal crosses its own
  fading channel, ``y = h c + h_j δ + n`` (:meth:`semcom.link.Link.deliver`);
* **attack kind** (:func:`semcom.attacks.base.attack_kinds`, one file each): white-box
  ``pgd`` (restarts, momentum, EOT over ``eot`` channel draws), query-only ``blackbox``
  (SPSA/NES; its receiver queries are counted), ``universal`` (optimised on
  the training split, reused for every test batch) and ``gaussian`` jamming;
  the attack does its own work (:meth:`semcom.attacks.base.AttackSettings.perturb_within`)
  with this module's helpers;
* **targets**: those of :data:`adversary.TARGETS`, and ``class:<k>``, the
  decoding of the mean training latent of class ``k`` (a reconstruction of a
  digit of that class), for targeted attacks.

With a random channel each forward call of an attack draws its own channel
from the attack's generator; the sweep evaluates over other, fresh draws.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from adversary import make_target, psr_to_eps, to_sphere
from semcom import speed
from semcom.attacks.base import CLASS_TARGET, AttackSettings, Perturbation
from semcom.link import Link

__all__ = [
    "BUDGET_AXES",
    "PLACEMENTS",
    "Engagement",
    "Threat",
    "class_prototype",
]

PLACEMENTS = ("in_transit", "over_the_air")
BUDGET_AXES = ("eps", "psr_db")


def _latents(link: Link, images: torch.Tensor) -> torch.Tensor:
    """The transmitted latents ``[N, k]`` of ``images [N, C, H, W]``, encoded in chunks on the link's device."""
    device = link.mapper.scale.device
    return torch.cat([link.transmitter(x.to(device)) for x in images.split(256)])


@torch.no_grad()
def class_prototype(link: Link, images: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """The ``class:<k>`` target ``[1, C, H, W]``: the decoded mean latent of class ``k``.

    ``images [N, C, H, W]`` and ``labels [N]`` are the training split.
    """
    chosen = images[labels == k]
    if chosen.shape[0] == 0:
        raise ValueError(f"`target` class:{k} has no training images of class {k}")
    return link.receiver.decoder(_latents(link, chosen).mean(0, keepdim=True))


class Threat:
    """One attack on one link, under a budget axis and a placement.

    Args:
        attack: the attack (a registered :class:`semcom.attacks.base.AttackSettings`).
        link: the link under attack (frozen by the caller).
        norm: ``"l2"`` or ``"linf"`` (``psr_db`` budgets are L2).
        placement: one of :data:`PLACEMENTS`.
        budget_axis: one of :data:`BUDGET_AXES`.
        train: training images ``[N, C, H, W]`` and labels ``[N]`` (or None):
            needed by the universal attack and by ``class:<k>`` targets.
    """

    def __init__(
        self,
        attack: AttackSettings,
        link: Link,
        *,
        norm: str,
        placement: str,
        budget_axis: str,
        train: tuple[torch.Tensor, torch.Tensor | None] | None = None,
    ) -> None:
        if placement not in PLACEMENTS:
            raise ValueError(f"`placement` must be one of {PLACEMENTS}; got {placement!r}")
        if budget_axis not in BUDGET_AXES:
            raise ValueError(f"`budget_axis` must be one of {BUDGET_AXES}; got {budget_axis!r}")
        if not isinstance(attack, AttackSettings):
            raise TypeError(f"`attack` must be an attack of semcom.attacks; got {type(attack).__name__}")
        if budget_axis == "psr_db" and norm != "l2":
            raise ValueError(
                f"`psr_db` budgets are L2 power ratios: `norm` must be 'l2'; got {norm!r}"
            )
        self.attack, self.link, self.norm = attack, link, norm
        self.placement, self.budget_axis = placement, budget_axis
        self.train = train
        self.prototype = self._prototype()
        self.universal: dict[float, torch.Tensor] = {}
        """The universal attack's ``δ_u`` per sweep value, optimised once per link."""
        self._training_latents: tuple[torch.Tensor, torch.Tensor] | None = None

    def needs_train(self, what: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The training split; ValueError naming ``what`` needs it when there is none."""
        if self.train is None:
            raise ValueError(f"{what} needs the training split (`train`)")
        return self.train

    def training_latents(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(latents [N, k], clean outputs [N, C, H, W])`` of the training split on this link.

        Encoded and decoded once per threat, however many budgets use them (the universal attack).
        """
        if self._training_latents is None:
            images, _ = self.needs_train("the universal attack")
            with torch.no_grad():
                latents = _latents(self.link, images)
                clean = torch.cat([self.link.receiver.decoder(b) for b in latents.split(256)])
            self._training_latents = (latents, clean)
        return self._training_latents

    def _prototype(self) -> torch.Tensor | None:
        target = getattr(self.attack, "target", None)
        if target is None or not target.startswith(CLASS_TARGET):
            return None
        images, labels = self.needs_train(f"target {target!r}")
        if labels is None:
            raise ValueError(f"target {target!r} needs a labelled data set")
        return class_prototype(self.link, images, labels, int(target.removeprefix(CLASS_TARGET)))

    def forward(
        self, z: torch.Tensor, gen: torch.Generator | None
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """``δ ↦`` the receiver's output for the transmitted signal ``z`` with ``δ`` placed as configured.

        ``z`` is :meth:`semcom.link.Link.signal` of the latents: the latent
        itself on a learned link, the QAM symbols' real view on the digital link.
        """
        if self.placement == "in_transit":
            return lambda d: self.link.deliver_signal(z + d, generator=gen)
        return lambda d: self.link.deliver_signal(z, jam=d, generator=gen)

    def budget(self, value: float, signal: torch.Tensor) -> torch.Tensor:
        """Per-sample latent budget ``ε [B]`` of a sweep value for ``signal [B, k]``."""
        if self.budget_axis == "eps":
            return torch.full_like(signal[:, 0], float(value))
        return psr_to_eps(float(value), signal)

    def reference(
        self, clean: torch.Tensor, gen: torch.Generator | None
    ) -> tuple[torch.Tensor, bool]:
        """``(reference, targeted)``: the clean output, or the target images."""
        target = getattr(self.attack, "target", None)
        if target is None:
            return clean, False
        if self.prototype is not None:
            return self.prototype, True
        decoder = self.link.receiver.decoder
        latent_dim = self.link.mapper.latent_dim
        made = make_target(target, clean, decode=decoder, latent_dim=latent_dim, generator=gen)
        return made, True

    def perturb(
        self, z: torch.Tensor, clean: torch.Tensor, value: float, gen: torch.Generator
    ) -> Perturbation:
        """The attack on the transmitted signal ``z [B, d]`` (:meth:`semcom.link.Link.signal`) at ``value``.

        ``clean`` are the ideal reconstructions; ``gen`` drives the
        attack's randomness and its channel draws.
        """
        return self.attack.perturb(self, z, clean, value, gen)

    def perturb_within(
        self, z: torch.Tensor, clean: torch.Tensor, eps: torch.Tensor, gen: torch.Generator
    ) -> Perturbation:
        """The attack on latents ``z [B, k]`` under per-sample latent budgets ``eps [B]``.

        What :meth:`perturb` does at one sweep value, with any budget per
        sample (the break-power bisection, docs/design.md §7). Not for an attack
        whose one perturbation serves every sample (the universal one).
        """
        return self.attack.perturb_within(self, z, clean, eps, gen)

    def at_budget(self, delta: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """A PSR budget is a transmit power: the perturbation spends all of it."""
        return to_sphere(delta, eps) if self.budget_axis == "psr_db" else delta


@dataclass(frozen=True)
class Engagement:
    """One attack against one link, with what the attack and the evaluation may use.

    What a budget sweep (:func:`semcom.study.sweep.sweep_attack`) and a break-power
    bisection (:func:`semcom.attacks.break_power.bisect_break_power`) of the same grid
    point share, given once.

    Attributes:
        link: the link under attack (not changed: the runs attack its inference copy).
        attack: the attack (a registered :class:`semcom.attacks.base.AttackSettings`).
        norm: ``"l2"`` or ``"linf"`` (``psr_db`` budgets and break power are L2).
        batch_size: images per chunk, attacked at once.
        seed: root of every attack and evaluation seed (:func:`semcom.study.sweep.derive_seed`).
        budget_axis: one of :data:`BUDGET_AXES`.
        placement: one of :data:`PLACEMENTS`.
        labels: ``[N]`` true classes of the attacked images, for ``accuracy`` (or None).
        train: training images ``[N, C, H, W]`` and labels ``[N]`` (or None), for the
            universal attack and ``class:<k>`` targets.
        classifier: the semantic classifier (:mod:`semcom.metrics.classifier`), or None.
        precision: ``"fp32"``, or ``"bf16"`` autocast of the passes through the link
            (latents, budgets and metrics stay fp32).
    """

    link: Link
    attack: AttackSettings
    norm: str = "l2"
    batch_size: int = 250
    seed: int = 0
    budget_axis: str = "eps"
    placement: str = "in_transit"
    labels: torch.Tensor | None = None
    train: tuple[torch.Tensor, torch.Tensor | None] | None = None
    classifier: Any = None
    precision: str = "fp32"

    @property
    def device(self) -> torch.device:
        return next(self.link.parameters()).device

    def autocast(self):
        """The context of the passes through the link at :attr:`precision`."""
        return speed.autocast(self.device, self.precision)

    @functools.cached_property
    def threat(self) -> Threat:
        """The :class:`Threat` on the link's inference copy (:func:`semcom.speed.inference_copy`): made
        once, so a grid point's sweep and bisection share the copy and a ``class:<k>`` prototype."""
        return Threat(self.attack, speed.inference_copy(self.link), norm=self.norm, placement=self.placement,
                      budget_axis=self.budget_axis, train=self.train)
