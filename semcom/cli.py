"""The ``semcom`` command line: run, validate, list, report.

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


class _BadInput(click.ClickException):
    """Exit code 2 with one line on stderr."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"error: {self.message}", err=True)


def _fail_bad_input(err: Exception) -> None:
    raise _BadInput(str(err)) from None


def _load(path: str):
    from semcom.scenario import ScenarioError, load_scenario

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
@click.option("--out", type=click.Path(file_okay=False), help="Run folder (default: runs/<scenario name>).")
@click.option("--device", default="cpu", show_default=True, help="torch device: cpu, cuda, cuda:1, …")
@click.option("--overwrite", is_flag=True, help="Replace a finished run in the run folder.")
@click.option("--executor", type=click.Choice(["local"]), default="local", show_default=True,
              help="Where grid points run.")
def run(scenario: str, out: str | None, device: str, overwrite: bool, executor: str) -> None:
    """Run SCENARIO (a YAML file) and write its report; an unfinished run resumes."""
    sc = _load(scenario)
    device = _device(device)
    from semcom.data import DatasetNotFoundError
    from semcom.paths import cache_dir
    from semcom.perceptual import LpipsUnavailable
    from semcom.runner import RunExistsError, run_scenario
    from semcom.store import ModelStore

    folder = Path(out) if out else Path("runs") / sc.name
    try:
        run_scenario(sc, folder, store=ModelStore(cache_dir()), device=device, overwrite=overwrite)
    except (RunExistsError, DatasetNotFoundError, LpipsUnavailable) as err:
        _fail_bad_input(err)
    click.echo(f"report: {folder / 'report.md'}")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
def validate(scenario: str) -> None:
    """Check SCENARIO without running it."""
    sc = _load(scenario)
    from semcom.runner import grid

    n = len(list(grid(sc)))
    click.echo(f"{scenario}: ok — {n} grid points × {len(sc.adversary.eps_values)} ε values")


@main.command("list")
def list_registries() -> None:
    """Show the registered model variants, channels, attacks, targets, distances and metrics."""
    from adversary import DISTANCES, TARGETS
    from channels import CHANNELS
    from semcom.data import DATASETS
    from semcom.metrics import METRICS
    from semcom.models import VARIANTS

    sections = {
        "models": {n: v.description for n, v in VARIANTS.items()},
        "datasets": {n: "" for n in DATASETS},
        "channels": {n: (c.__doc__ or "").strip().splitlines()[0] for n, c in CHANNELS.items()},
        "attacks": {"pgd": "latent PGD (untargeted, or targeted with `target`)",
                    "gaussian": "equal-energy Gaussian jamming"},
        "targets": {n: "" for n in TARGETS},
        "distances": {n: "" for n in DISTANCES},
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

    from semcom.report import write_outputs

    folder = Path(run_dir)
    path = folder / "results.json"
    if not path.is_file():
        raise _BadInput(f"{path}: no results.json; is {folder} a finished run folder?")
    results = json.loads(path.read_text())
    from semcom.data import DataSpec, load_dataset

    sc = results["scenario"]
    spec = DataSpec(name=sc["data"]["name"], root=sc["data"]["root"], seed=sc["seed"],
                    test_size=sc["data"]["test_samples"])
    inputs = load_dataset(spec, split="test").images[: sc["report"]["grid_samples"]].numpy()
    write_outputs(folder, results, np.asarray(inputs))
    click.echo(f"report: {folder / 'report.md'}")


if __name__ == "__main__":
    main()
