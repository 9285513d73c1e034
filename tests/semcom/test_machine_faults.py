"""Faults of the machine, not of the scenario (issue 18): a full disk at every write of a run, a run
folder in use, no permission, a damaged sample file, SIGTERM, a cache setting naming a file, and
two runs training the same model — each one line and nothing lost."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import semcom.fileio
from semcom.cli import main

ROOT = Path(__file__).parents[2]

TINY = {
    "name": "tiny",
    "seed": 3,
    "data": {"train_samples": 200, "test_samples": 8},
    "models": [{"variant": "vae-kld", "latent_dim": 4, "epochs": 1}],
    "channels": [{"kind": "awgn", "snr_db": [10]}],
    "adversary": {"eps": [0, 1], "attacks": [{"kind": "gaussian"}]},
    "metrics": ["psnr", "ssim"],
    "eval_batch_size": 8,
    "report": {"grid_samples": 2},
}
"""One model (latent 4, 1 epoch on 200 digits), one link, one jamming point, two budgets."""


def _invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def _one_line(output: str) -> str:
    assert "Traceback" not in output, output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    return lines[0]


def _numbers(out: Path) -> tuple:
    results = json.loads((out / "results.json").read_text())
    return results["points"], results["aaddc"], results["latent_difference"]


class _Faults:
    """Counts the file writes (every one goes through :func:`semcom.fileio.write_all`), records the
    name of the file each one is for, and makes the ``fail_at``-th fail with ENOSPC after writing
    half its bytes, as a filling disk does."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at, self.count, self.real, self.names = fail_at, 0, semcom.fileio.write_all, []

    def __call__(self, fd: int, data: bytes) -> None:
        self.count += 1
        self.names.append(_target(os.readlink(f"/proc/self/fd/{fd}")))
        if self.count == self.fail_at:
            os.write(fd, bytes(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.real(fd, data)


def _target(name: str) -> str:
    """The file a write is for: ``.report.md.k2x9.tmp`` (an atomic write's temp file) is ``report.md``."""
    name = Path(name).name
    return name[1:].rsplit(".", 2)[0] if name.startswith(".") and name.endswith(".tmp") else name


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The scenario file, a model store holding its trained model, and an uninterrupted run:
    ``(scenario, store, reference run folder, files written by a cold run, by a warm run)`` (one
    name per write, in order)."""
    folder = tmp_path_factory.mktemp("faults")
    scenario = folder / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(TINY))
    store = folder / "store"
    counts = []
    mp = pytest.MonkeyPatch()
    mp.setenv("SEMCOM_CACHE", str(store))
    try:
        for name in ("cold", "reference"):  # trains into the store, then a run on the warm store
            faults = _Faults()
            mp.setattr(semcom.fileio, "write_all", faults)
            code, output = _invoke("run", scenario, "--out", folder / name)
            assert code == 0, output
            counts.append(faults.names)
            mp.setattr(semcom.fileio, "write_all", faults.real)
    finally:
        mp.undo()
    return scenario, store, folder / "reference", counts[0], counts[1]


def _no_partial_set(out: Path) -> None:
    """No result file unless all are, and no temp file left behind."""
    if not (out / "results.json").exists():
        assert not any((out / name).exists() for name in ("results.csv", "report.md", "figures")), \
            sorted(p.name for p in out.iterdir())
    assert not [p for p in out.rglob("*.tmp")], list(out.rglob("*.tmp"))


def _fail_then_resume(tmp_path, monkeypatch, scenario, store, k, reference):
    out = tmp_path / f"run-{k}"
    monkeypatch.setenv("SEMCOM_CACHE", str(store))
    faults = _Faults(fail_at=k)
    monkeypatch.setattr(semcom.fileio, "write_all", faults)
    code, output = _invoke("run", scenario, "--out", out)
    monkeypatch.setattr(semcom.fileio, "write_all", faults.real)
    assert code == 1, (k, output)
    line = _one_line(output)
    assert "no space left on device (ENOSPC)" in line, line
    assert Path(line.split(": ")[1]).is_relative_to(out) or Path(line.split(": ")[1]).is_relative_to(store), line
    if out.exists():
        _no_partial_set(out)
    code, output = _invoke("run", scenario, "--out", out)  # the disk is healthy again
    assert code == 0, (k, output)
    assert _numbers(out) == _numbers(reference), f"the rerun after a fault at write {k} differs"
    return line


@pytest.mark.slow
def test_every_write_of_a_tiny_run_can_fail_with_a_full_disk(tiny, tmp_path, monkeypatch):
    """A run on a warm store performs 12 writes today (lock, scenario, environment, 2 samples,
    journal, csv, 3 figures, report, results); each one fails once in turn, and its line names it."""
    scenario, store, reference, cold, warm = tiny
    assert {".semcom.lock", "scenario.resolved.json", "environment.json", "journal.jsonl", "results.csv",
            "report.md"} < set(warm) and warm[-1] == "results.json", warm
    assert len([n for n in warm if n.endswith(".png")]) == 3 and len([n for n in warm if n.endswith(".npy")]) == 2
    for k, name in enumerate(warm, start=1):
        line = _fail_then_resume(tmp_path, monkeypatch, scenario, store, k, reference)
        assert Path(line.split(": ")[1]).name == name, (k, line)


@pytest.mark.slow
def test_the_model_store_writes_can_fail_with_a_full_disk(tiny, tmp_path, monkeypatch):
    """The two writes a cold store adds (weights, then metadata) fail in turn; the rerun trains
    again and gives the same numbers."""
    scenario, _, reference, cold, warm = tiny
    assert [n for n in cold if n not in warm] == ["weights.safetensors", "meta.json"]
    for k, name in [(k, n) for k, n in enumerate(cold, start=1) if n not in warm]:
        store = tmp_path / f"store-{k}"
        shutil.copytree(tiny[1] / "data", store / "data")  # the parsed digits, not the model
        line = _fail_then_resume(tmp_path, monkeypatch, scenario, store, k, reference)
        assert line.endswith(f"{name}: no space left on device (ENOSPC); the finished grid points are "
                             "kept in the journal: fix the cause and run again to resume"), line


@pytest.mark.slow
def test_a_full_disk_at_the_figures_keeps_no_result_file_and_resumes(tiny, tmp_path, monkeypatch,
                                                                       sweep_calls):
    """The issue's first row: the first figure fails (PIL, before: a 68-line traceback)."""
    scenario, store, reference, _, _ = tiny
    out = tmp_path / "run"
    monkeypatch.setenv("SEMCOM_CACHE", str(store))
    faults = _Faults(fail_at=1 + next(i for i, n in enumerate(tiny[4]) if n.endswith(".png")))
    monkeypatch.setattr(semcom.fileio, "write_all", faults)
    code, output = _invoke("run", scenario, "--out", out)
    monkeypatch.setattr(semcom.fileio, "write_all", faults.real)
    assert code == 1
    figure = out / "figures" / "dd_vae-kld_none_awgn_10dB.png"
    assert _one_line(output).startswith(f"error: {figure}: no space left on device"), output
    assert sorted(p.name for p in out.iterdir()) == [".semcom.lock", "environment.json", "journal.jsonl",
                                                     "samples", "scenario.resolved.json"]
    code, output = _invoke("run", scenario, "--out", out)
    assert code == 0 and len(sweep_calls) == 1, "the journalled point is not swept again"
    assert _numbers(out) == _numbers(reference)


@pytest.mark.slow
def test_a_truncated_sample_file_is_recomputed(tiny, tmp_path, monkeypatch, sweep_calls):
    scenario, store, reference, _, _ = tiny
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    (out / "results.json").unlink()
    (grid,) = [p for p in (out / "samples").glob("*.npy") if not p.name.endswith("_latents.npy")]
    grid.write_bytes(grid.read_bytes()[:100])  # a disk fault, a bad copy
    monkeypatch.setenv("SEMCOM_CACHE", str(store))
    code, output = _invoke("run", scenario, "--out", out)
    assert code == 0, output
    assert len(sweep_calls) == 1, "the damaged point is swept again"
    assert _numbers(out) == _numbers(reference)


def test_an_unwritable_out_is_one_line_naming_it(tiny, tmp_path, monkeypatch):
    """A read-only folder (simulated: the tests run as root, whom permissions do not stop)."""
    scenario, store, _, _, _ = tiny
    monkeypatch.setenv("SEMCOM_CACHE", str(store))
    real_mkdir = Path.mkdir
    readonly = tmp_path / "ro"

    def mkdir(self, *args, **kwargs):
        if self.is_relative_to(readonly):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    code, output = _invoke("run", scenario, "--out", readonly / "run")
    assert code == 1
    assert _one_line(output).startswith(f"error: {readonly / 'run'}: read-only file system (EROFS)"), output


def test_a_cache_setting_naming_a_file_is_one_line(tiny, tmp_path, monkeypatch):
    scenario = tiny[0]
    file = tmp_path / "not-a-folder"
    file.write_text("x")
    monkeypatch.setenv("SEMCOM_CACHE", str(file))
    for args in (["run", scenario, "--out", tmp_path / "run"], ["cache", "list"]):
        code, output = _invoke(*args)
        assert code == 2
        assert _one_line(output) == (f"error: $SEMCOM_CACHE={file}: is not a folder; point SEMCOM_CACHE "
                                     "at a folder (or unset it)")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c_and_the_rerun_resumes(tiny, tmp_path, monkeypatch, sweep_calls):
    """Two points; SIGTERM arrives while the second is swept: one line, exit 143, the first kept."""
    scenario, store, _, _, _ = tiny
    doc = {**TINY, "adversary": {"eps": [0, 1], "attacks": [{"kind": "gaussian"},
                                                           {"kind": "gaussian", "label": "jam2"}]}}
    scenario = tmp_path / "two.yaml"
    scenario.write_text(yaml.safe_dump(doc))
    out = tmp_path / "run"
    monkeypatch.setenv("SEMCOM_CACHE", str(store))
    import semcom.study.jobs

    real = semcom.study.jobs.sweep_attack

    def terminated_at_the_second(*args, **kwargs):
        if len(sweep_calls) == 1:  # the first point is journalled
            os.kill(os.getpid(), signal.SIGTERM)  # as a batch scheduler does
        return real(*args, **kwargs)

    monkeypatch.setattr(semcom.study.jobs, "sweep_attack", terminated_at_the_second)
    before = signal.getsignal(signal.SIGTERM)  # not SIG_DFL once another test has started Ray
    code, output = _invoke("run", scenario, "--out", out)
    assert code == 143
    assert _one_line(output) == ("error: interrupted by SIGTERM: the finished grid points are kept in the "
                                 "run folder's journal; run again to resume")
    assert signal.getsignal(signal.SIGTERM) is before, "the handler in place before the run is restored"
    assert len((out / "journal.jsonl").read_text().splitlines()) == 1
    monkeypatch.setattr(semcom.study.jobs, "sweep_attack", real)
    code, output = _invoke("run", scenario, "--out", out)
    assert code == 0, output
    assert len(sweep_calls) == 2, "only the interrupted point is swept again"


def _python(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_a_second_run_into_a_folder_in_use_is_refused_and_a_killed_holder_does_not_block(tiny, tmp_path,
                                                                                          monkeypatch):
    scenario, store, _, _, _ = tiny
    out = tmp_path / "run"
    holder = _python("""
        import sys, time
        from pathlib import Path
        from semcom.study.run_lock import RunFolderLock
        RunFolderLock(Path(sys.argv[1])).__enter__()  # as a run in progress holds it
        print("held", flush=True)
        time.sleep(120)
    """, str(out))
    try:
        assert holder.stdout.readline().strip() == "held", holder.stderr.read()
        monkeypatch.setenv("SEMCOM_CACHE", str(store))
        code, output = _invoke("run", scenario, "--out", out)
        assert code == 2
        assert _one_line(output) == (f"error: {out}: in use by another semcom run, pid {holder.pid}; wait for "
                                     "it to end or choose another --out")
        assert sorted(p.name for p in out.iterdir()) == [".semcom.lock"], "the refused run wrote nothing"
    finally:
        holder.kill()  # SIGKILL: no chance to clean up
        holder.wait()
    code, output = _invoke("run", scenario, "--out", out)
    assert code == 0, output


@pytest.mark.slow
def test_two_processes_missing_the_same_model_train_it_once(tmp_path, mnist, monkeypatch):
    """This process trains; while it does, a second process asks the store for the same model: it
    waits for the entry and loads it (its own training would fail)."""
    import semcom.models.training
    from semcom.models.training import TrainConfig, get_or_train
    from semcom.study.store import ModelStore

    store = tmp_path / "store"
    started = tmp_path / "second-started"
    cfg = TrainConfig(variant="vae-kld", latent_dim=3, epochs=1, seed=5)
    images = mnist[0].images[:200]
    torch_file = tmp_path / "images.pt"
    import torch

    torch.save(images, torch_file)
    second = None
    real = semcom.models.training.train_autoencoder

    def train_while_another_asks(*args, **kwargs):
        nonlocal second
        second = _python("""
            import sys
            from pathlib import Path
            import torch
            import semcom.models.training
            from semcom.study.store import ModelStore
            from semcom.models.training import TrainConfig, get_or_train

            def refuse(*args, **kwargs):
                raise SystemExit("trained a second time")

            semcom.models.training.train_autoencoder = refuse
            images = torch.load(sys.argv[2])
            cfg = TrainConfig(variant="vae-kld", latent_dim=3, epochs=1, seed=5)
            Path(sys.argv[3]).touch()
            got = get_or_train(cfg, images, {"name": "lock-test"}, ModelStore(sys.argv[1]), progress=False)
            print(got.key, flush=True)
        """, str(store), str(torch_file), str(started))
        deadline = time.monotonic() + 120
        while not started.exists():
            assert second.poll() is None and time.monotonic() < deadline, second.stderr.read()
            time.sleep(0.05)
        time.sleep(1.0)  # the second process is now inside `load`, waiting on the key's lock
        return real(*args, **kwargs)

    monkeypatch.setattr(semcom.models.training, "train_autoencoder", train_while_another_asks)
    first = get_or_train(cfg, images, {"name": "lock-test"}, ModelStore(store), progress=False)
    stdout, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr
    assert stdout.strip() == first.key
    assert f"model store entry {first.key} is being built by another process; waiting for it" in stderr
    assert ModelStore(store).keys() == [first.key]


def test_a_build_that_failed_in_this_process_does_not_block_the_next(tmp_path):
    """The key lock is per process: a miss whose build never saved (it raised) leaves the key held
    by its store object, and a later miss here goes on at once instead of waiting for itself."""
    import torch

    from semcom.study.store import ModelStore

    first = ModelStore(tmp_path)
    assert first.load("k1") is None  # a build starts … and fails: no save
    second = ModelStore(tmp_path)
    assert second.load("k1") is None  # would block forever if it waited on the first
    second.save("k1", {"w": torch.zeros(2)}, {"kind": "test"})
    assert first.load("k1") is not None
