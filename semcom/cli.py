"""The ``semcom`` command line: run, validate, list, report, cache.

A thin layer: it validates the whole scenario before computing anything,
configures logging, and maps errors to exit codes — 0 ok, 2 bad input (one
line, no traceback), 1 failure. Heavy libraries are imported inside the
commands so that ``semcom --help`` starts fast.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

__all__ = ["main"]


class _OneLine(click.ClickException):
    """One ``error:`` line on stderr, no traceback."""

    def show(self, file=None) -> None:
        click.echo(f"error: {' '.join(self.message.splitlines())}", err=True)


class _BadInput(_OneLine):
    """Exit code 2: the input (scenario, options, run folder) is wrong."""

    exit_code = 2


class _Failure(_OneLine):
    """Exit code 1: the run itself failed."""

    exit_code = 1


def _fail_bad_input(err: Exception | str) -> None:
    raise _BadInput(str(err)) from None


def _environment_fault(err: OSError, after: str = "") -> _Failure:
    """Exit code 1, one line naming the path and the reason (a full disk, no permission, …)."""
    from semcom.fileio import os_error_line

    return _Failure(os_error_line(err) + after)


class _Interrupted(_OneLine):
    """Ctrl-C (exit 130) or SIGTERM (exit 143): one line; the journal is intact."""

    def __init__(self, signum: int) -> None:
        import signal

        super().__init__(f"interrupted by {signal.Signals(signum).name}: the finished grid points are kept "
                         "in the run folder's journal; run again to resume")
        self.exit_code = 128 + signum


def _cache_root() -> Path:
    from semcom.paths import CacheDirError, checked_cache_dir

    try:
        return checked_cache_dir()
    except CacheDirError as err:
        _fail_bad_input(err)


def _load(path: str):
    from semcom.study.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as err:
        _fail_bad_input(err)


def _device(name: str) -> str:
    import torch

    if name.startswith("cuda") and not torch.cuda.is_available():
        raise _BadInput(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return name


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.version_option(package_name="semcom")
def main(verbose: bool) -> None:
    """semcom: attack, measure and harden learned communication links."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False),
              help="Run folder (default: runs/<scenario name>).")
@click.option("--device", default="cpu", show_default=True,
              help="torch device: cpu, cuda, cuda:1, …")
@click.option("--overwrite", is_flag=True, help="Replace a finished run in the run folder.")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Continue an unfinished run from its journal, or recompute every grid point.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where jobs run: this process, or Ray tasks ($RAY_ADDRESS joins a cluster).")
@click.option("--workers", type=click.IntRange(1, 1024), default=None,
              help="CPUs of a local Ray (default: all); ignored with $RAY_ADDRESS.")
def run(scenario: str, out: str | None, device: str, overwrite: bool, resume: bool, executor: str,
        workers: int | None) -> None:
    """Run SCENARIO (a YAML file) and write its report; an unfinished run resumes."""
    sc = _load(scenario)
    device = _device(device)
    from semcom.speed import speed_setting

    try:
        speed_setting()  # $SEMCOM_SPEED naming no route: one line, exit 2
    except ValueError as err:
        _fail_bad_input(err)
    from semcom.data import DatasetNotFoundError
    from semcom.metrics.perceptual import LpipsUnavailable
    from semcom.models.plugins import PluginError
    from semcom.signals import TerminateAsInterrupt, Terminated
    from semcom.study.executors import ExecutorError, make_executor
    from semcom.study.jobs import PointError
    from semcom.study.run_lock import FolderInUseError
    from semcom.study.runner import RunFolderError, run_scenario
    from semcom.study.scenario import ScenarioError
    from semcom.study.store import ModelStore

    folder = Path(out) if out else Path("runs") / sc.name
    store = ModelStore(_cache_root())  # $SEMCOM_CACHE naming a file: one line, exit 2
    try:
        runner = make_executor(executor, workers=workers)
    except ExecutorError as err:
        _fail_bad_input(err)
    try:
        with TerminateAsInterrupt():
            run_scenario(sc, folder, store=store, device=device, overwrite=overwrite, resume=resume,
                         executor=runner)
    except Terminated:
        raise _Interrupted(15) from None
    except KeyboardInterrupt:
        raise _Interrupted(2) from None
    except (RunFolderError, DatasetNotFoundError, FolderInUseError) as err:
        _fail_bad_input(err)
    except (PluginError, ScenarioError, LpipsUnavailable) as err:  # a key that does not fit the data or machine
        _fail_bad_input(f"{scenario}: {err}")
    except PointError as err:
        raise _Failure(f"{err}; the finished points are kept: fix the cause and run again "
                       "to resume") from None
    except ExecutorError as err:
        raise _Failure(str(err)) from None
    except OSError as err:  # the machine's fault (full disk, no permission, a vanished folder)
        raise _environment_fault(err, "; the finished grid points are kept in the journal: fix the cause "
                                      "and run again to resume") from None
    finally:
        runner.close()
    click.echo(f"report: {folder / 'report.md'}")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
def validate(scenario: str) -> None:
    """Check SCENARIO without running it."""
    sc = _load(scenario)
    from semcom.models.plugins import PluginError, check_factories
    from semcom.study.runner import grid

    try:
        loads = check_factories(sc.models)
    except PluginError as err:
        _fail_bad_input(f"{scenario}: {err}")

    from semcom.defenses.controls import with_controls

    n = len(list(grid(with_controls(sc)))) * sc.replicates
    axis = "ε" if sc.adversary.budget_axis == "eps" else "PSR"
    values = len(sc.adversary.budget_values)
    click.echo(f"{scenario}: ok — {n} grid points × {values} {axis} values")
    for line in loads:  # the outside code and files a run would load (a factory runs its package's code)
        click.echo(f"  loads {line}")


@main.command("list")
def list_registries() -> None:
    """Show the registered model variants, data sets, channels, defences, attacks, targets, distances and metrics."""
    from adversary import TARGETS
    from channels import CHANNELS
    from semcom.attacks.base import attack_kinds, pgd_distances
    from semcom.data import DATASETS
    from semcom.defenses import defense_kinds
    from semcom.metrics.quality import METRICS
    from semcom.models import VARIANTS
    from semcom.models.factory_trust import load_components

    load_components()  # installed packages' components (entry points) are listed too
    sections = {
        "models": {n: v.description + _settings_text(v.Settings) for n, v in VARIANTS.items()},
        "datasets": {n: _first_line(d) + _settings_text(d) for n, d in DATASETS.items()},
        "channels": {n: _channel_line(c) for n, c in CHANNELS.items()},
        "defenses": {n: d.description + _settings_text(d.Settings) for n, d in defense_kinds().items()},
        "attacks": {n: a.description + _settings_text(a, skip=("kind", "label"))
                    for n, a in attack_kinds().items()},
        "targets": {**{n: "" for n in TARGETS}, "class:<k>": "a reconstruction of class k"},
        "distances": {n: (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
                      for n, fn in pgd_distances().items()},
        "metrics": {n: ("higher is better" if m.higher_is_better else "lower is better")
                    for n, m in METRICS.items()},
    }
    for title, entries in sections.items():
        click.echo(f"{title}:")
        for name in sorted(entries):
            desc = entries[name]
            click.echo(f"  {name:<16} {desc}".rstrip())


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
def report(run_dir: str) -> None:
    """Redraw report.md and figures of a finished RUN_DIR from its results.json."""
    import json

    import numpy as np

    from semcom.report.markdown import write_outputs

    folder = Path(run_dir)
    path = folder / "results.json"
    if not path.is_file():
        raise _BadInput(f"{path}: no results.json; is {folder} a finished run folder?")
    results = json.loads(path.read_text())
    from semcom.data import DataConfig, load_dataset

    sc = results["scenario"]
    spec = DataConfig.model_validate(sc["data"]).spec(sc["seed"])  # the run's data, as the runner loads it
    inputs = load_dataset(spec, split="test").images[: sc["report"]["grid_samples"]].numpy()
    from semcom.study.run_lock import FolderInUseError, RunFolderLock

    try:
        with RunFolderLock(folder):
            write_outputs(folder, results, np.asarray(inputs))
    except FolderInUseError as err:
        _fail_bad_input(err)
    except OSError as err:
        raise _environment_fault(err) from None
    click.echo(f"report: {folder / 'report.md'}")


def _channel_line(cls) -> str:
    """A channel's first docstring line and its settings (its ``Settings`` class) with their defaults."""
    return _first_line(cls) + _settings_text(cls.Settings)


def _first_line(cls) -> str:
    """The first line of a component class's docstring (its description)."""
    return (cls.__doc__ or "").strip().splitlines()[0]


def _settings_text(model, skip: tuple[str, ...] = ()) -> str:
    """`` [settings: name=default, …]`` of a component's settings class (empty without settings)."""
    fields = [f"{n} (required)" if f.is_required() else f"{n}={f.default!r}"
              for n, f in model.model_fields.items() if n not in skip]
    return f" [settings: {', '.join(fields)}]" if fields else ""


def _size(n: float) -> str:
    """Bytes in decimal units: ``812 B``, ``1.3 MB``."""
    units = ["B", "kB", "MB", "GB"]
    while n >= 1000 and len(units) > 1:
        n, units = n / 1000, units[1:]
    return f"{n:.0f} B" if units[0] == "B" else f"{n:.1f} {units[0]}"


@main.group()
def cache() -> None:
    """Inspect, check and empty the model store ($SEMCOM_CACHE or the user cache folder)."""


def _store():
    from semcom.study.store import ModelStore

    return ModelStore(_cache_root())


@cache.command("list")
def cache_list() -> None:
    """Show every stored model: key, kind, size and creation time."""
    store = _store()
    entries = store.entries()
    click.echo(f"{'key':<16}  {'kind':<18}  {'size':>9}  created")
    for e in entries:
        kind = e.kind or ("(unreadable)" if e.complete else "(incomplete)")
        click.echo(f"{e.key:<16}  {kind:<18}  {_size(e.size):>9}  {e.created}")
    total = _size(sum(e.size for e in entries))
    click.echo(f"{len(entries)} entries, {total} in {store.root / 'models'}")


@cache.command("verify")
@click.option("--prune", is_flag=True, help="Remove the bad entries (rebuilt when next needed).")
def cache_verify(prune: bool) -> None:
    """Recompute every entry's SHA-256s; list the bad ones and exit 1 if there are any."""
    store = _store()
    entries = store.entries()
    bad = {e.key: reason for e in entries if (reason := store.verify(e.key))}
    for key, reason in bad.items():
        click.echo(f"bad {key}: {reason}" + ("; removed" if prune else ""))
        if prune:
            store.remove(key)
    click.echo(f"{len(entries)} entries checked, {len(bad)} bad")
    if bad:
        sys.exit(1)


@cache.command("clear")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def cache_clear(yes: bool) -> None:
    """Remove every stored model (parsed data sets are kept)."""
    store = _store()
    entries = store.entries()
    if not entries:
        click.echo(f"nothing to remove in {store.root / 'models'}")
        return
    total = _size(sum(e.size for e in entries))
    if not yes:
        where = store.root / "models"
        click.confirm(f"Remove {len(entries)} stored models ({total}) from {where}?", abort=True)
    for e in entries:
        store.remove(e.key)
    click.echo(f"removed {len(entries)} entries ({total})")


if __name__ == "__main__":
    main()
