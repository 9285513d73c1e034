"""The jobs a run is made of: train a model, harden a receiver, sweep one grid point.

Each job is a small frozen, picklable record of its configuration that an
executor (:mod:`semcom.study.executors`) can run anywhere; what it needs beyond its
configuration (images, trained models) it reads by name from the phase's
shared objects. Training and hardening jobs are shared by many grid points and
run once per run; their models come back on the CPU, whichever device trained
them, so they can travel to any worker.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from semcom.attacks.base import AttackSettings
from semcom.attacks.break_power import BreakSpec, bisect_break_power, summarise
from semcom.attacks.threats import Engagement
from semcom.defenses.hardening import HardeningConfig, get_or_harden
from semcom.link import build_link
from semcom.models.trained import TrainedModel
from semcom.models.training import TrainConfig, get_or_train
from semcom.study.executors import JobEnv
from semcom.study.store import ModelStore, config_key
from semcom.study.sweep import NonFiniteError, SweepResult, sweep_attack

__all__ = ["GridPoint", "PointError", "TrainJob", "HardenJob", "PointJob"]


@dataclass(frozen=True)
class GridPoint:
    """One sweep: a model behind a defence, on a channel at an SNR, under one attack."""

    model: str
    defense: str
    channel: str
    snr_db: float | None
    attack: str
    replicate: int = 0
    """The replicate (docs/design.md §7); 0, a plain run's, is left out of the key and labels."""

    @property
    def key(self) -> str:
        return config_key(self.labels())

    def labels(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "replicate" or v}

    def describe(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.labels().items())


class PointError(RuntimeError):
    """A grid point could not be computed; ``str`` names the point and the cause."""


def _on_cpu(trained: TrainedModel) -> TrainedModel:
    return dataclasses.replace(trained, model=trained.model.cpu())


@dataclass(frozen=True)
class TrainJob:
    """Train one autoencoder on the shared ``train`` images, or load it from the store."""

    cfg: TrainConfig
    data_key: dict[str, Any]

    @property
    def needs(self) -> tuple[str, ...]:
        return ("train",)

    def run(self, shared: Mapping[str, Any], env: JobEnv) -> TrainedModel:
        store = ModelStore(env.store_root)
        trained = get_or_train(self.cfg, shared["train"], self.data_key, store, device=env.device,
                               progress=env.progress)
        return _on_cpu(trained)


@dataclass(frozen=True)
class HardenJob:
    """Harden the receiver of the shared model ``model`` on one link, or load it from the store."""

    model: str
    cfg: HardeningConfig
    channel: Any  # semcom.study.link_entries.ChannelConfig
    snr_db: float | None

    @property
    def needs(self) -> tuple[str, ...]:
        return ("train", self.model)

    def run(self, shared: Mapping[str, Any], env: JobEnv) -> TrainedModel:
        link_key = {**self.channel.model_dump(mode="json"), "snr_db": self.snr_db}
        hardened = get_or_harden(
            shared[self.model], lambda t: build_link(t, self.channel, self.snr_db), link_key,
            shared["train"], self.cfg, ModelStore(env.store_root), device=env.device,
            progress=env.progress)
        return _on_cpu(hardened)


@dataclass(frozen=True)
class PointJob:
    """Sweep one attack over every budget on the link of the shared ``receiver`` model.

    ``eps`` holds the budgets on the ``budget_axis`` (ε, or PSR in dB). With
    ``break_power`` the point's break power is bisected too (same link, same
    attack, own seeds; docs/design.md §7).
    """

    point: GridPoint
    receiver: str
    channel: Any  # semcom.study.link_entries.ChannelConfig
    attack: AttackSettings
    adversary: Any  # semcom.study.adversary_entry.AdversaryConfig: the budgets, their axis and norm, the placement
    metrics: tuple[str, ...]
    batch_size: int
    seed: int
    grid_samples: int
    precision: str = "fp32"
    certify: int = 0
    """Monte-Carlo draws of the smoothed receiver's certificate (0: none; :mod:`semcom.defenses.certificate`)."""
    break_power: BreakSpec | None = None

    @property
    def needs(self) -> tuple[str, ...]:
        return ("test", "test_labels", "train", "train_labels", "classifier", self.receiver)

    def run(self, shared: Mapping[str, Any], env: JobEnv) -> SweepResult:
        """The sweep's result; NaN/Inf raises :class:`PointError` naming the point."""
        link = build_link(shared[self.receiver], self.channel, self.point.snr_db).to(env.device)
        adv = self.adversary
        engagement = Engagement(link, self.attack, norm=adv.norm, batch_size=self.batch_size, seed=self.seed,
                                budget_axis=adv.budget_axis, placement=adv.placement, labels=shared["test_labels"],
                                train=(shared["train"], shared["train_labels"]), classifier=shared["classifier"],
                                precision=self.precision)
        try:
            result = sweep_attack(engagement, shared["test"], tuple(adv.budget_values), metric_names=self.metrics,
                                  grid_samples=self.grid_samples)
            if self.break_power is not None:
                found = bisect_break_power(engagement, shared["test"], self.break_power)
                records = summarise(found, self.break_power, budget_axis=adv.budget_axis)
                result = dataclasses.replace(result, break_power=records)
        except NonFiniteError as err:
            raise PointError(f"grid point {self.point.describe()}: {err}") from None
        if self.certify:
            from semcom.defenses.certificate import sweep_certificate

            result.certificate = sweep_certificate(link, shared["test"], tuple(adv.budget_values), result.metrics,
                                                   draws=self.certify, seed=self.seed)
        return result
