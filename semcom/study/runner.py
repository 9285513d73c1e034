"""Runs a scenario: trains or loads models, sweeps every grid point, writes the run folder.

Grid = models × defences × channels × SNRs × attacks (× ε inside each sweep).
The run is planned as three phases of jobs (:mod:`semcom.study.jobs`) handed to an
executor (:mod:`semcom.study.executors`: in process, or Ray): the models the
unfinished points need are trained, then their hardened receivers, then the
points are swept. Each finished point is journalled (``journal.jsonl``,
appended and fsynced, with a fingerprint of everything that determines its
numbers) so a run killed at any moment resumes without recomputing it, and a
changed scenario never reuses a stale point. Result files are written
atomically at the end; ``results.json`` is written last and marks a finished run.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from semcom import speed
from semcom.attacks.base import CLASS_TARGET
from semcom.attacks.break_power import break_power_records, break_spec
from semcom.defenses.certificate import certify_draws
from semcom.defenses.controls import comparisons, with_controls
from semcom.fileio import append_line
from semcom.link_resources import link_records
from semcom.metrics.quality import aaddc, get_metric, unavailable_metrics
from semcom.metrics.robustness import hardening_table, robustness_table
from semcom.models.training import TrainConfig, train_spec
from semcom.models.training_settings import check_model_shapes, trained_models
from semcom.report.gap import equal_damage_table
from semcom.study.break_power_config import covers, receiver_selected
from semcom.study.executors import Executor, InProcessExecutor, JobEnv
from semcom.study.jobs import GridPoint, HardenJob, PointJob, TrainJob
from semcom.study.replicates import add_replicates, mean_entries, replicate_scenarios
from semcom.study.results import Results
from semcom.study.run_files import point_files_intact
from semcom.study.run_lock import LOCK_NAME, RunFolderLock
from semcom.study.scenario import Scenario, ScenarioError
from semcom.study.store import ModelStore, atomic_write_bytes, atomic_write_text, config_key
from semcom.study.sweep import SweepResult, derive_seed

__all__ = ["RunFolderError", "RunExistsError", "GridPoint", "run_scenario", "grid", "SCHEMA_VERSION"]

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1
OUTPUTS = ("results.json", "results.csv", "report.md", "figures", "samples", "journal.jsonl",
           "scenario.resolved.json", "environment.json")
MARKER = "scenario.resolved.json"
"""Written first into every run folder: a non-empty folder without it is not semcom's."""


class RunFolderError(ValueError):
    """The run folder cannot be used as asked (bad input: the message says what to do)."""


class RunExistsError(RunFolderError):
    """The run folder holds a finished run and ``overwrite`` was not asked for."""


def grid(sc: Scenario, replicate: int = 0) -> Iterator[tuple[GridPoint, Any, Any, Any, Any]]:
    """Every grid point with its model, defence, channel and attack configs, in a stable order."""
    for m in sc.models:
        for d in sc.defenses:
            for ch in sc.channels:
                for snr in ch.snr_db or [None]:
                    for at in sc.adversary.attacks:
                        if not receiver_selected(at.defenses, d.kind):
                            continue
                        yield GridPoint(m.name, d.name, ch.name, snr, at.name, replicate), m, d, ch, at


def _sweep_seed(sc: Scenario, point: GridPoint) -> int:
    """The seed of a point's sweep: per link, so every attack meets the same channel draws."""
    return derive_seed(sc.seed, point.channel, str(point.snr_db))


_SHARED_BY_POINTS = {"name": True, "description": True, "models": True, "defenses": True,
                     "channels": True, "aaddc_baselines": True, "report": {"grid_eps"},
                     "adversary": {"attacks"}, "auto_control": True, "replicates": True}


def _fingerprint(sc: Scenario, m, d, ch, at) -> str:
    """Key of every setting that determines a point's numbers: its journal entry must match."""
    common = sc.model_dump(mode="json", exclude=_SHARED_BY_POINTS)
    own = {name: cfg.model_dump(mode="json") for name, cfg in (("model", m), ("defense", d), ("channel", ch))}
    own["attack"] = at.model_dump(mode="json", exclude={"defenses"})  # which points exist, not their numbers
    return config_key({"common": common, **own, **speed.point_key_part()})


def _is_run_folder(out: Path) -> bool:
    """Absent, empty (bar temp files of a killed write), or holding semcom's marker file."""
    if not out.exists():
        return True
    if not out.is_dir():
        return False
    return (out / MARKER).is_file() or all(p.name.endswith(".tmp") or p.name == LOCK_NAME for p in out.iterdir())


def _check_folder(out: Path, *, overwrite: bool) -> None:
    """Raise :class:`RunFolderError` if ``out`` may not be written as asked (writes nothing)."""
    if not _is_run_folder(out):
        raise RunFolderError(f"{out}: is not a semcom run folder (no {MARKER}); "
                             "choose a new or empty --out")
    if (out / "results.json").exists() and not overwrite:
        raise RunExistsError(f"{out}: holds a finished run; pass --overwrite to replace it "
                             "or --out to write elsewhere")


def _prepare_folder(out: Path, *, overwrite: bool, resume: bool) -> dict[str, dict]:
    """Create or reuse ``out``; returns the journal of finished points (empty unless resuming)."""
    if overwrite or not resume:
        for name in OUTPUTS:
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    return _read_journal(out)


def _read_journal(out: Path) -> dict[str, dict]:
    """Finished points by key. A line cut short by a kill (or otherwise unreadable) is dropped
    from the file, so the next append starts on a line of its own; its point is recomputed."""
    path = out / "journal.jsonl"
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8", errors="replace")
    journal, kept = {}, []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        key = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(key, str) or not re.fullmatch(r"[0-9a-f]{16}", key):
            continue
        kept.append(line)
        if point_files_intact(out, key):  # samples cut short by a disk fault: the point is recomputed
            journal[key] = entry
    if len(kept) != len(text.splitlines()) or not text.endswith("\n"):
        atomic_write_text(path, "".join(f"{line}\n" for line in kept))
    return journal


def _journal(out: Path, job: PointJob, fingerprint: str, result: SweepResult) -> dict:
    key = job.point.key
    atomic_write_bytes(out / "samples" / f"{key}_latents.npy", _npy_bytes(result.latents))
    atomic_write_bytes(out / "samples" / f"{key}.npy", _npy_bytes(result.grid))
    entry = {"key": key, **job.point.labels(), "config": fingerprint, "seed": job.seed,
             "eps": result.eps, "metrics": result.metrics,
             "metrics_vs_clean": result.metrics_vs_clean, "psr_db": result.psr_db,
             "budget": result.budgets, "queries": result.queries,
             "latent_abs_diff": result.latent_abs_diff, "clean_metrics": result.clean,
             "channel_uses": result.channel_uses, "avg_power": result.avg_power}
    if result.certificate is not None:
        entry["certificate"] = result.certificate
    if result.break_power is not None:
        entry["break_power"] = result.break_power
    append_line(out / "journal.jsonl", json.dumps(entry, allow_nan=False))
    return entry


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array.astype(np.float32), allow_pickle=False)
    return buf.getvalue()


def _environment(sc: Scenario, device: str, executor: Executor) -> dict[str, Any]:
    import platform
    import sys
    from importlib.metadata import version

    pkgs = ["semcom", "torch", "torchvision", "torchmetrics", "sionna-no-rt", "numpy", "lpips",
            "ray"]
    versions = {}
    for p in pkgs:
        try:
            versions[p] = version(p)
        except Exception:  # noqa: BLE001 - a missing optional package is recorded as absent
            versions[p] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "device": device,
            "executor": type(executor).__name__, "torch_threads": torch.get_num_threads(),
            "speed": speed.speed_setting(),
            "seed": sc.seed, "versions": versions}


def _seeds(sc: Scenario) -> dict[str, Any]:
    """The seeds of a run: the scenario's (data split, training, hardening), each link's sweep."""
    links = {(p.channel, p.snr_db): _sweep_seed(sc, p) for p, *_ in grid(sc)}
    return {"scenario": sc.seed,
            "sweeps": [{"channel": ch, "snr_db": snr, "seed": s} for (ch, snr), s in links.items()]}


@dataclass
class _Plan:
    """The jobs the unfinished points need, each named as its result is among the shared objects.

    Training jobs are named by their config, so two model entries that train
    the same network share one job; ``models`` maps ``model:<name>`` to its
    training job. Hardened receivers are ``receiver:<model>/<defence>/<link>``.
    """

    train: dict[str, TrainJob] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    harden: dict[str, HardenJob] = field(default_factory=dict)
    points: list[PointJob] = field(default_factory=list)


def _plan(sc: Scenario, todo: list[tuple], data_key: dict, plugins: dict[str, Any], metrics: list[str],
          plan: _Plan | None = None) -> _Plan:
    """Jobs for the unfinished points (of one replicate, ``sc`` carrying its seed), added to
    ``plan``; ``plugins`` (user models, already loaded) need no training; ``metrics`` are the
    scenario's metrics this machine can compute. A replicate's models and receivers are named
    with ``@r<index>`` appended (none for replicate 0)."""
    plan = plan or _Plan()
    for point, m, d, ch, at in todo:
        model = f"model:{m.name}"
        if m.name not in plugins:
            model += f"@r{point.replicate}" if point.replicate else ""
            cfg = TrainConfig.from_entry(m, sc.seed)
            plan.models[model] = f"train:{config_key(train_spec(cfg))}"
            plan.train[plan.models[model]] = TrainJob(cfg, data_key)
        receiver = model
        if d.kind != "none":
            receiver = f"receiver:{m.name}/{d.name}/{ch.name}/{point.snr_db}"
            receiver += f"@r{point.replicate}" if point.replicate else ""
            plan.harden[receiver] = HardenJob(model, d.hardening(sc.seed), ch, point.snr_db)
        plan.points.append(PointJob(
            point=point, receiver=receiver, channel=ch, attack=at, adversary=sc.adversary,
            metrics=tuple(metrics), batch_size=sc.eval_batch_size, seed=_sweep_seed(sc, point),
            grid_samples=sc.report.grid_samples, precision=sc.precision, certify=certify_draws(sc, d, ch, at),
            break_power=break_spec(sc, at, metrics) if covers(sc.break_power, d.kind) else None))
    return plan


def _run_phase(executor: Executor, jobs: dict[str, Any], shared: dict, env: JobEnv) -> dict:
    """Run ``jobs`` (by name) and return their results by the same names."""
    names = list(jobs)
    return {names[i]: result for i, result in executor.map([jobs[n] for n in names], shared, env)}


def _unavailable(sc: Scenario) -> dict[str, str]:
    """``{metric: reason}`` for the scenario's metrics that cannot be computed here.

    Raises:
        LpipsUnavailable: an attack needs LPIPS as its distance and it cannot be loaded.
    """
    from semcom.metrics.perceptual import LpipsUnavailable, lpips_unavailable_reason

    for i, at in enumerate(sc.adversary.attacks):
        if getattr(at, "distance", None) == "lpips" and (reason := lpips_unavailable_reason()):
            raise LpipsUnavailable(
                f"adversary.attacks[{i}].distance: 'lpips' cannot be computed here: {reason}")
    return unavailable_metrics(sc.metrics)


def _locked(run: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Run with the run folder locked (:mod:`semcom.study.run_lock`): checked first (writing nothing into
    a folder that is not semcom's), then locked before anything is written, and checked again."""

    @functools.wraps(run)
    def locked(sc: Scenario, out: Path, **kwargs: Any) -> dict[str, Any]:
        out = Path(out)
        _check_folder(out, overwrite=kwargs.get("overwrite", False))
        with RunFolderLock(out):
            return run(sc, out, **kwargs)

    return locked


@_locked
def run_scenario(
    sc: Scenario,
    out: Path,
    *,
    store: ModelStore,
    device: str = "cpu",
    overwrite: bool = False,
    resume: bool = True,
    executor: Executor | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Run ``sc`` into ``out`` and return the ``results.json`` document.

    An unfinished run in ``out`` resumes from its journal unless ``resume`` is
    False; a finished one is replaced only with ``overwrite``. A grid point that
    fails (e.g. :class:`semcom.study.jobs.PointError` on NaN/Inf) stops the run; the
    points finished before it stay journalled.
    """
    from semcom.data import load_dataset
    from semcom.models.plugins import plug_ins
    from semcom.report.markdown import write_outputs

    executor = executor or InProcessExecutor()
    sc = with_controls(sc)
    _check_folder(out, overwrite=overwrite)
    spec = sc.data.spec(sc.seed)
    train = load_dataset(spec, split="train")  # a missing data set fails before anything is written
    test = load_dataset(spec, split="test")
    data_key = spec.store_key()
    _check_labels(sc, train)
    check_model_shapes(sc, tuple(train.images.shape[1:]))  # DeepJSCC's code must fit the images
    unavailable = _unavailable(sc)  # an attack needing LPIPS that cannot load fails before writing
    # plug-in models are loaded and checked before anything is written: a bad one leaves no run folder
    plugins = plug_ins(sc, train.images, data_key, device=device, store=store, progress=progress)

    journal = _prepare_folder(out, overwrite=overwrite, resume=resume)
    resolved = sc.model_dump(mode="json")
    atomic_write_text(out / MARKER, json.dumps(resolved, indent=2))
    atomic_write_text(out / "environment.json",
                      json.dumps(_environment(sc, device, executor), indent=2))

    reps = replicate_scenarios(sc)
    points = [point for r, sc_r in enumerate(reps) for point in grid(sc_r, r)]
    fingerprints = {p.key: _fingerprint(reps[p.replicate], *cfgs) for p, *cfgs in points}
    todo = [(p, *cfgs) for p, *cfgs in points
            if journal.get(p.key, {}).get("config") != fingerprints[p.key]]
    available = [m for m in sc.metrics if m not in unavailable]
    plan = _Plan()
    for r, sc_r in enumerate(reps):
        _plan(sc_r, [t for t in todo if t[0].replicate == r], data_key, plugins, available, plan)
    env = JobEnv(str(store.root), device, progress, speed.speed_setting())

    trained = _run_phase(executor, plan.train, {"train": train.images}, env)
    models = {name: trained[job] for name, job in plan.models.items()}
    models.update({f"model:{name}": model for name, model in plugins.items()})
    receivers = _run_phase(executor, plan.harden, {"train": train.images, **models}, env)
    classifier = _reference_classifier(sc, train, data_key, store, device, progress) if plan.points else None
    sweep_data = {"test": test.images, "test_labels": test.labels, "train": train.images,
                  "train_labels": train.labels, "classifier": classifier}
    finished = executor.map(plan.points, {**sweep_data, **models, **receivers}, env)
    for i, result in tqdm(finished, total=len(plan.points), desc="grid points",
                          disable=progress is False or None):
        job = plan.points[i]
        journal[job.point.key] = _journal(out, job, fingerprints[job.point.key], result)

    entries = [[journal[p.key] for p, *_ in points if p.replicate == r] for r in range(len(reps))]
    results = _results(sc, resolved, mean_entries(entries), available, unavailable)
    if len(reps) > 1:
        add_replicates(results, [_results(sc_r, resolved, e, available, unavailable)
                                 for sc_r, e in zip(reps, entries, strict=True)])
    results["controls"] = comparisons(resolved)
    results["robustness"], results["hardening"] = robustness_table(results), hardening_table(results)
    write_outputs(out, results, test.images[: sc.report.grid_samples].numpy())
    return results


def _results(sc: Scenario, resolved: dict, entries: list[dict], available: list[str],
             unavailable: dict[str, str]) -> dict[str, Any]:
    """The results.json document (schema 1; ``budget``, ``queries``, ``budget_axis``, ``seeds``,
    ``equal_damage_gaps``, ``unavailable_metrics``, ``latent_difference`` and ``break_power`` are additive);
    ``available`` are the scenario's metrics computed here, ``unavailable`` the others with why."""
    points, areas, latent, clean = [], [], [], []
    labels = ("model", "defense", "channel", "snr_db", "attack")
    for e in entries:
        head = {k: e[k] for k in labels}
        budgets = e.get("budget", e["eps"])
        queries = e.get("queries", [None] * len(budgets))
        for i, eps in enumerate(e["eps"]):
            points.append({**head, "eps": eps, "psr_db": e["psr_db"][i], "metrics": e["metrics"][i],
                           "metrics_vs_clean": e["metrics_vs_clean"][i], "budget": budgets[i],
                           "queries": queries[i]})
        if "latent_abs_diff" in e:  # absent from journals written before it was recorded
            latent.append({**head, "eps": e["eps"], "mean_abs_delta": e["latent_abs_diff"]})
        if e.get("clean_metrics"):  # the unattacked link (PSNR vs SNR); absent from older journals
            clean.append({**head, "metrics": e["clean_metrics"]})
        for name in available:
            metric = get_metric(name)
            base = sc.aaddc_baselines.get(name, metric.default_baseline)
            curve = [p[name] for p in e["metrics"]]
            value = aaddc(budgets, curve, higher_is_better=metric.higher_is_better, baseline=base)
            areas.append({**head, "metric": name, "value": value, "baseline": base})
    jamming = [a.name for a in sc.adversary.attacks if a.jamming]
    axis = sc.adversary.budget_axis
    gaps = equal_damage_table(Results.from_points(points, resolved, axis), available)
    certificates = [{**{k: e[k] for k in labels}, **e["certificate"]} for e in entries if "certificate" in e]
    return {"schema_version": SCHEMA_VERSION, "scenario": resolved, "seeds": _seeds(sc), "points": points,
            "aaddc": areas, "budget_axis": axis, "equal_damage_gaps": gaps,
            "unavailable_metrics": unavailable, "latent_difference": latent, "certificates": certificates,
            "clean": clean, "trained_models": trained_models(sc),
            "break_power": break_power_records(entries, jamming[0] if jamming else None),
            "links": link_records(entries)}


def _check_labels(sc: Scenario, train) -> None:
    """Semantic metrics and ``class:<k>`` targets need a labelled data set with class k."""
    needs = [m for m in sc.metrics if get_metric(m).needs]
    for i, at in enumerate(sc.adversary.attacks):
        target = getattr(at, "target", None) or ""
        if not target.startswith(CLASS_TARGET):
            continue
        if train.num_classes is None:
            raise ScenarioError(f"adversary.attacks[{i}].target: {target!r} needs a labelled "
                                f"data set; {sc.data.name!r} has no labels")
        if int(target.removeprefix(CLASS_TARGET)) >= train.num_classes:
            raise ScenarioError(f"adversary.attacks[{i}].target: {sc.data.name!r} has classes 0 to "
                                f"{train.num_classes - 1}; got {target!r}")
    if needs and train.num_classes is None:
        raise ScenarioError(f"metrics: {needs} need a labelled data set (a reference classifier); "
                            f"{sc.data.name!r} has no labels")


def _reference_classifier(sc: Scenario, train, data_key: dict, store: ModelStore, device: str,
                          progress: bool | None):
    """The data set's reference classifier (trained once, then stored), if a metric needs it."""
    if not any("classifier" in get_metric(m).needs for m in sc.metrics):
        return None
    from semcom.metrics.classifier import get_or_train_classifier

    return get_or_train_classifier(train.images, train.labels, train.num_classes, data_key, store,
                                   seed=sc.seed, device=device, progress=progress)
