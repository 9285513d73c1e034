"""Threat models of a sweep: what one attack entry does to a batch of latents on a link.

A scenario's attack entry (:class:`AttackSpec`) becomes perturbations ``δ``
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
* **attack kind** (:data:`ATTACK_KINDS`): white-box ``pgd`` (restarts,
  momentum, EOT over ``eot`` channel draws), query-only ``blackbox``
  (SPSA/NES; its receiver queries are counted), ``universal`` (optimised on
  the training split, reused for every test batch) and ``gaussian`` jamming;
* **targets**: those of :data:`adversary.TARGETS`, and ``class:<k>``, the
  decoding of the mean training latent of class ``k`` (a reconstruction of a
  digit of that class), for targeted attacks.

With a random channel each forward call of an attack draws its own channel
from the attack's generator; the sweep evaluates over other, fresh draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from adversary import (
    blackbox_pgd,
    gaussian_jamming,
    make_target,
    perturbation_norm,
    pgd,
    psr_to_eps,
    to_sphere,
    universal_perturbation,
)
from semcom.link import Link

__all__ = [
    "ATTACK_KINDS",
    "BUDGET_AXES",
    "CLASS_TARGET",
    "PLACEMENTS",
    "AttackSpec",
    "Perturbation",
    "Threat",
    "class_prototype",
]

PLACEMENTS = ("in_transit", "over_the_air")
BUDGET_AXES = ("eps", "psr_db")
ATTACK_KINDS = ("pgd", "blackbox", "universal", "gaussian")
CLASS_TARGET = "class:"
"""Prefix of the targets ``class:<k>`` (a reconstruction of class ``k``)."""


@dataclass(frozen=True)
class AttackSpec:
    """What the sweep needs to know of one attack (built from a scenario entry).

    ``kind`` is one of :data:`ATTACK_KINDS`; fields a kind does not use keep
    their defaults (``restarts``/``momentum``/``eot``: pgd; ``estimator``/
    ``samples``/``query_budget``: blackbox; ``epochs``/``batch_size``: universal).
    """

    name: str
    kind: str
    target: str | None = None
    distance: str = "mse"
    steps: int = 10
    alpha_factor: float = 2.5
    random_start: bool = False
    restarts: int = 1
    momentum: float = 0.0
    eot: int = 1
    estimator: str = "spsa"
    samples: int = 8
    query_budget: int | None = None
    epochs: int = 5
    batch_size: int = 64


@dataclass(frozen=True)
class Perturbation:
    """One attack's output on a batch.

    Attributes:
        delta: ``δ [B, k]`` in latent units (for the universal attack, one
            ``δ_u [k]`` expanded over the batch: the same tensor for all).
        eps: the latent L2 (or L∞) budget ``ε_b [B]`` it was made under.
        queries: receiver queries per sample of a query-only attack, else None.
    """

    delta: torch.Tensor
    eps: torch.Tensor
    queries: int | None = None


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
        attack: the attack.
        link: the link under attack (frozen by the caller).
        norm: ``"l2"`` or ``"linf"`` (``psr_db`` budgets are L2).
        placement: one of :data:`PLACEMENTS`.
        budget_axis: one of :data:`BUDGET_AXES`.
        train: training images ``[N, C, H, W]`` and labels ``[N]`` (or None):
            needed by the universal attack and by ``class:<k>`` targets.
    """

    def __init__(
        self,
        attack: AttackSpec,
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
        if attack.kind not in ATTACK_KINDS:
            raise ValueError(f"attack `kind` must be one of {ATTACK_KINDS}; got {attack.kind!r}")
        if budget_axis == "psr_db" and norm != "l2":
            raise ValueError(
                f"`psr_db` budgets are L2 power ratios: `norm` must be 'l2'; got {norm!r}"
            )
        self.attack, self.link, self.norm = attack, link, norm
        self.placement, self.budget_axis = placement, budget_axis
        self.train = train
        self.prototype = self._prototype()
        self._universal: dict[float, torch.Tensor] = {}

    def _needs_train(self, what: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.train is None:
            raise ValueError(f"{what} needs the training split (`train`)")
        return self.train

    def _prototype(self) -> torch.Tensor | None:
        target = self.attack.target
        if target is None or not target.startswith(CLASS_TARGET):
            return None
        images, labels = self._needs_train(f"target {target!r}")
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

    def _reference(
        self, clean: torch.Tensor, gen: torch.Generator | None
    ) -> tuple[torch.Tensor, bool]:
        """``(reference, targeted)``: the clean output, or the target images."""
        target = self.attack.target
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
        attack's randomness and its channel draws. The universal ``δ_u`` is
        optimised on the first call at each ``value`` and then shared.
        """
        a = self.attack
        if a.kind == "universal":
            if value not in self._universal:
                with self.link.attack_path():
                    self._universal[value] = self._universal_delta(value, gen)
            delta_u = self._universal[value]
            eps = torch.full_like(z[:, 0], perturbation_norm(delta_u[None], self.norm).item())
            return Perturbation(delta_u.expand_as(z), eps)
        return self.perturb_within(z, clean, self.budget(value, z), gen)

    def perturb_within(
        self, z: torch.Tensor, clean: torch.Tensor, eps: torch.Tensor, gen: torch.Generator
    ) -> Perturbation:
        """The attack on latents ``z [B, k]`` under per-sample latent budgets ``eps [B]``.

        What :meth:`perturb` does at one sweep value, with any budget per
        sample (the break-power bisection, docs/design.md §7). Not for the
        universal attack, whose one ``δ_u`` serves every sample.
        """
        a = self.attack
        if a.kind == "universal":
            raise ValueError("the universal attack has one budget for all samples, not one per sample")
        if a.kind == "gaussian":
            delta = gaussian_jamming(z, eps, norm=self.norm, generator=gen)
            return Perturbation(self._at_budget(delta, eps), eps)
        reference, targeted = self._reference(clean, gen)
        common = dict(eps=eps, reference=reference, targeted=targeted, distance=a.distance,
                      steps=a.steps, alpha=a.alpha_factor * eps / a.steps, norm=self.norm,
                      generator=gen)
        forward = self.forward(z, gen)
        if a.kind == "blackbox":
            result = blackbox_pgd(forward, z, estimator=a.estimator, samples=a.samples,
                                  query_budget=a.query_budget, **common)
            return Perturbation(self._at_budget(result.delta, eps), eps, result.queries)
        with self.link.attack_path():  # white-box: the differentiable receiver (digital: soft path)
            result = pgd(forward, z, random_start=a.random_start, restarts=a.restarts,
                         momentum=a.momentum, eot=a.eot, **common)
        return Perturbation(self._at_budget(result.delta, eps), eps)

    def _at_budget(self, delta: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """A PSR budget is a transmit power: the perturbation spends all of it."""
        return to_sphere(delta, eps) if self.budget_axis == "psr_db" else delta

    @torch.no_grad()
    def _universal_delta(self, value: float, gen: torch.Generator) -> torch.Tensor:
        """``δ_u [k]`` optimised by PGD over minibatches of the training latents."""
        a = self.attack
        images, _ = self._needs_train("the universal attack")
        latents = _latents(self.link, images)  # [N, k]
        clean = torch.cat([self.link.receiver.decoder(b) for b in latents.split(256)])
        z = self.link.signal(latents)  # [N, d]: the transmitted signals
        if self.budget_axis == "eps":
            eps = float(value)
        else:  # against the mean transmit power of the training latents
            eps = psr_to_eps(float(value), z.pow(2).mean(0, keepdim=True).sqrt()).item()
        reference, targeted = self._reference(clean, gen)
        result = universal_perturbation(
            lambda zb, d: self.forward(zb, gen)(d), z, eps=eps, references=reference,
            targeted=targeted, distance=a.distance, epochs=a.epochs, batch_size=a.batch_size,
            norm=self.norm, generator=gen, additive=False,
        )
        return self._at_budget(result.delta[None], torch.tensor([eps]))[0]
