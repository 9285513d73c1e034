"""Runs a scenario: trains or loads models, sweeps every grid point, writes the run folder.

Grid = models × channels × SNRs × attacks (× ε inside each sweep). Each finished
sweep is journalled (``journal.jsonl``, appended and fsynced) so an
interrupted run resumes without recomputing it; result files are written
atomically at the end.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from semcom.metrics import aaddc, get_metric, unavailable_metrics
from semcom.scenario import ModelConfig, Scenario
from semcom.store import ModelStore, atomic_write_bytes, atomic_write_text, config_key
from semcom.sweep import AttackSpec, SweepResult, derive_seed, sweep_attack

__all__ = ["RunExistsError", "GridPoint", "run_scenario", "grid", "train_config", "SCHEMA_VERSION"]

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1
OUTPUTS = ("results.json", "results.csv", "report.md", "figures", "samples", "journal.jsonl",
           "scenario.resolved.json", "environment.json")


class RunExistsError(ValueError):
    """The run folder holds a finished run and ``overwrite`` was not asked for."""


@dataclass(frozen=True)
class GridPoint:
    """One sweep: a model behind a defence, on a channel at an SNR, under one attack."""

    model: str
    defense: str
    channel: str
    snr_db: float | None
    attack: str

    @property
    def key(self) -> str:
        return config_key(self.__dict__)

    def labels(self) -> dict[str, Any]:
        return dict(self.__dict__)


def grid(sc: Scenario) -> Iterator[tuple[GridPoint, Any, Any, Any, Any]]:
    """Every grid point with its model, defence, channel and attack configs, in a stable order."""
    for m in sc.models:
        for d in sc.defenses:
            for ch in sc.channels:
                for snr in ch.snr_db or [None]:
                    for at in sc.adversary.attacks:
                        yield GridPoint(m.name, d.name, ch.name, snr, at.name), m, d, ch, at


def _attack_spec(cfg) -> AttackSpec:
    fields = cfg.model_dump(exclude={"label", "kind"})
    return AttackSpec(name=cfg.name, kind=cfg.kind, **fields)


def _prepare_folder(out: Path, overwrite: bool) -> dict[str, dict]:
    """Create or reuse ``out``; returns the journal of finished grid points."""
    if (out / "results.json").exists() and not overwrite:
        raise RunExistsError(
            f"{out}: holds a finished run; pass --overwrite to replace it or --out to write elsewhere"
        )
    if overwrite:
        for name in OUTPUTS:
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    journal: dict[str, dict] = {}
    path = out / "journal.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill: its point is recomputed
            if (out / "samples" / f"{entry['key']}.npy").exists():
                journal[entry["key"]] = entry
    return journal


def _journal(out: Path, key: str, point: GridPoint, result: SweepResult) -> dict:
    atomic_write_bytes(out / "samples" / f"{key}_latents.npy", _npy_bytes(result.latents))
    atomic_write_bytes(out / "samples" / f"{key}.npy", _npy_bytes(result.grid))
    entry = {"key": key, **point.labels(), "eps": result.eps, "metrics": result.metrics,
             "metrics_vs_clean": result.metrics_vs_clean, "psr_db": result.psr_db,
             "latent_abs_diff": result.latent_abs_diff}
    with open(out / "journal.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return entry


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array.astype(np.float32), allow_pickle=False)
    return buf.getvalue()


def _environment(sc: Scenario, device: str) -> dict[str, Any]:
    import platform
    import sys
    from importlib.metadata import version

    pkgs = ["semcom", "torch", "torchvision", "torchmetrics", "sionna-no-rt", "numpy", "lpips"]
    versions = {}
    for p in pkgs:
        try:
            versions[p] = version(p)
        except Exception:  # noqa: BLE001 - a missing optional package is recorded as absent
            versions[p] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "device": device,
            "torch_threads": torch.get_num_threads(), "seed": sc.seed, "versions": versions}


def train_config(m: ModelConfig, seed: int):
    """The :class:`~semcom.training.TrainConfig` of a scenario's model entry.

    ``m.adversarial`` turns on latent adversarial training during training
    (paper Algorithm 1): after each minibatch step, decoder-only steps on
    perturbed latents (untargeted PGD at ``ε_train`` for ``kind: adversarial``).
    """
    from semcom.hardening import HardeningConfig
    from semcom.training import TrainConfig

    adv = m.adversarial
    algorithm1 = None if adv is None else HardeningConfig(
        kind=adv.kind, eps=adv.eps, steps=adv.steps, k=adv.k, lr=adv.lr, distance=adv.distance,
        seed=seed)
    return TrainConfig(m.variant, m.latent_dim, m.weight, m.epochs, m.batch_size, m.lr, seed,
                       algorithm1)


def _unavailable(sc: Scenario) -> dict[str, str]:
    """``{metric: reason}`` for the scenario's metrics that cannot be computed here.

    Raises:
        LpipsUnavailable: an attack needs LPIPS as its distance and it cannot be loaded.
    """
    from semcom.perceptual import LpipsUnavailable, lpips_unavailable_reason

    for i, at in enumerate(sc.adversary.attacks):
        if getattr(at, "distance", None) == "lpips" and (reason := lpips_unavailable_reason()):
            raise LpipsUnavailable(
                f"adversary.attacks[{i}].distance: 'lpips' cannot be computed here: {reason}")
    return unavailable_metrics(sc.metrics)


def run_scenario(
    sc: Scenario,
    out: Path,
    *,
    store: ModelStore,
    device: str = "cpu",
    overwrite: bool = False,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Run ``sc`` into ``out`` and return the ``results.json`` document."""
    from semcom.data import DataSpec, load_dataset
    from semcom.hardening import HardeningConfig, get_or_harden
    from semcom.link import build_link
    from semcom.report import write_outputs
    from semcom.training import get_or_train

    unavailable = _unavailable(sc)
    metric_names = [m for m in sc.metrics if m not in unavailable]
    journal = _prepare_folder(out, overwrite)
    resolved = sc.model_dump(mode="json")
    atomic_write_text(out / "scenario.resolved.json", json.dumps(resolved, indent=2))
    atomic_write_text(out / "environment.json", json.dumps(_environment(sc, device), indent=2))

    spec = DataSpec(name=sc.data.name, root=sc.data.root, download=sc.data.download, seed=sc.seed,
                    train_size=sc.data.train_samples, test_size=sc.data.test_samples)
    train = load_dataset(spec, split="train")
    test = load_dataset(spec, split="test")
    data_key = {"name": spec.name, "seed": spec.seed, "train_size": spec.train_size}

    trained = {}
    for m in sc.models:
        trained[m.name] = get_or_train(train_config(m, sc.seed), train.images, data_key, store,
                                       device=device, progress=progress)

    receivers: dict[tuple, Any] = {}

    def receiver(m, d, ch, snr):
        """The model behind defence ``d`` on this link (hardened once, then from the store)."""
        if d.kind == "none":
            return trained[m.name]
        key = (m.name, d.name, ch.name, snr)
        if key not in receivers:
            cfg = HardeningConfig(kind=d.kind, eps=d.eps, steps=d.steps, k=d.k, epochs=d.epochs, lr=d.lr,
                                  distance=d.distance, seed=sc.seed)
            link_key = {**ch.model_dump(mode="json"), "snr_db": snr}
            receivers[key] = get_or_harden(
                trained[m.name], lambda t: build_link(t, ch, snr), link_key, train.images, cfg, store,
                device=device, progress=progress)
        return receivers[key]

    entries = []
    points = list(grid(sc))
    for point, m, d, ch, at in tqdm(points, desc="grid points", disable=progress is False or None):
        key = point.key
        if key not in journal:
            link = build_link(receiver(m, d, ch, point.snr_db), ch, point.snr_db).to(device)
            result = sweep_attack(
                link, test.images, _attack_spec(at), sc.adversary.eps_values, norm=sc.adversary.norm,
                metric_names=metric_names, batch_size=sc.eval_batch_size,
                seed=derive_seed(sc.seed, point.channel, str(point.snr_db)),
                grid_samples=sc.report.grid_samples,
            )
            journal[key] = _journal(out, key, point, result)
        entries.append(journal[key])

    results = _results(sc, resolved, entries, unavailable)
    write_outputs(out, results, test.images[: sc.report.grid_samples].numpy())
    return results


def _results(
    sc: Scenario, resolved: dict, entries: list[dict], unavailable: dict[str, str]
) -> dict[str, Any]:
    points, areas, latent = [], [], []
    labels = ("model", "defense", "channel", "snr_db", "attack")
    for e in entries:
        head = {k: e[k] for k in labels}
        for i, eps in enumerate(e["eps"]):
            points.append({**head, "eps": eps, "psr_db": e["psr_db"][i], "metrics": e["metrics"][i],
                           "metrics_vs_clean": e["metrics_vs_clean"][i]})
        if "latent_abs_diff" in e:  # absent from journals written before it was recorded
            latent.append({**head, "eps": e["eps"], "mean_abs_delta": e["latent_abs_diff"]})
        for name in (m for m in sc.metrics if m not in unavailable):
            metric = get_metric(name)
            base = sc.aaddc_baselines.get(name, metric.default_baseline)
            curve = [p[name] for p in e["metrics"]]
            value = aaddc(e["eps"], curve, higher_is_better=metric.higher_is_better, baseline=base)
            areas.append({**head, "metric": name, "value": value, "baseline": base})
    return {"schema_version": SCHEMA_VERSION, "scenario": resolved, "points": points,
            "aaddc": areas, "unavailable_metrics": unavailable, "latent_difference": latent}
