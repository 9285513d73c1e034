"""A tiny scenario through the real CLI: outputs, the results.json contract, reuse and resume."""

import csv
import json

import pytest
import yaml
from click.testing import CliRunner

from semcom.cli import main

TINY = {
    "name": "tiny",
    "seed": 3,
    "data": {"train_samples": 300, "test_samples": 24},
    "models": [{"variant": "vae-kld", "latent_dim": 4, "epochs": 1}],
    "defenses": [{"kind": "none"}, {"kind": "adversarial", "eps": 1.0, "epochs": 1, "steps": 2}],
    "channels": [{"kind": "ideal"}, {"kind": "awgn", "snr_db": [10]}],
    "adversary": {"eps": [0, 0.5, 1.0],
                  "attacks": [{"kind": "pgd", "steps": 3}, {"kind": "pgd", "target": "black", "steps": 3},
                              {"kind": "gaussian"}]},
    "eval_batch_size": 16,
    "report": {"grid_samples": 3},
}
ATTACKS = ["pgd-untargeted", "pgd-black", "gaussian"]


def _invoke(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e")
    scenario = folder / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(TINY))
    out = folder / "run"
    code, output = _invoke("run", str(scenario), "--out", str(out))
    assert code == 0, output
    assert f"report: {out / 'report.md'}" in output
    return scenario, out


def test_results_json_contract(finished_run):
    _, out = finished_run
    results = json.loads((out / "results.json").read_text())
    assert results["schema_version"] == 1
    assert results["scenario"]["name"] == "tiny"
    points = results["points"]
    # 1 model × 2 defences × 2 links × 3 attacks × 3 ε
    assert len(points) == 2 * 2 * 3 * 3
    keys = {"model", "defense", "channel", "snr_db", "attack", "eps", "psr_db", "metrics", "metrics_vs_clean"}
    assert all(set(p) == keys for p in points)
    assert {p["attack"] for p in points} == set(ATTACKS)
    assert {p["defense"] for p in points} == {"none", "adversarial"}
    assert {p["snr_db"] for p in points} == {None, 10}
    assert all(isinstance(v, float) for p in points for v in p["metrics"].values())
    assert all(set(p["metrics"]) == {"ssim", "psnr", "mse"} for p in points)
    assert all((p["psr_db"] is None) == (p["eps"] == 0) for p in points)
    aaddc = results["aaddc"]
    assert len(aaddc) == 2 * 2 * 3 * 3
    assert {a["baseline"] for a in aaddc if a["metric"] == "mse"} == {1.0}
    assert all(set(a) == {"model", "defense", "channel", "snr_db", "attack", "metric", "value", "baseline"}
               for a in aaddc)


def test_csv_and_report_and_figures(finished_run):
    _, out = finished_run
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 36 * 3 * 2  # points × metrics × {input, clean}
    report = (out / "report.md").read_text()
    assert "## AADDC" in report and "PSNR gap [dB]" in report and "## Receiver hardening" in report
    for line in report.splitlines():
        if line.startswith("![") and "(" in line:
            assert (out / line.split("(")[1].rstrip(")")).is_file(), line
    assert len(list((out / "figures").glob("dd_*.png"))) == 4
    assert len(list((out / "figures").glob("grid_*.png"))) == 4
    assert len(list((out / "figures").glob("hardening_*.png"))) == 2
    env = json.loads((out / "environment.json").read_text())
    assert env["seed"] == 3 and env["versions"]["torch"]


def test_finished_run_is_not_overwritten(finished_run):
    scenario, out = finished_run
    before = (out / "results.json").read_bytes()
    code, output = _invoke("run", str(scenario), "--out", str(out))
    assert code == 2 and "--overwrite" in output and len(output.strip().splitlines()) == 1
    assert (out / "results.json").read_bytes() == before


def test_rerun_reuses_stored_models_and_gives_identical_numbers(finished_run, monkeypatch):
    scenario, out = finished_run
    before = json.loads((out / "results.json").read_text())

    def no_training(*args, **kwargs):
        raise AssertionError("the model store should have supplied this model")

    monkeypatch.setattr("semcom.training.train_autoencoder", no_training)
    monkeypatch.setattr("semcom.hardening.harden_receiver", no_training)
    code, output = _invoke("run", str(scenario), "--out", str(out), "--overwrite")
    assert code == 0, output
    after = json.loads((out / "results.json").read_text())
    assert after["points"] == before["points"] and after["aaddc"] == before["aaddc"]


def test_unfinished_run_resumes_from_the_journal(finished_run, monkeypatch, tmp_path):
    import shutil

    scenario, out = finished_run
    partial = tmp_path / "partial"
    shutil.copytree(out, partial)
    (partial / "results.json").unlink()
    journal = (partial / "journal.jsonl").read_text().splitlines()
    (partial / "journal.jsonl").write_text("\n".join(journal[:-2]) + "\n" + journal[-2][:20])  # last line cut

    import semcom.runner

    calls = []
    real = semcom.runner.sweep_attack
    monkeypatch.setattr(semcom.runner, "sweep_attack", lambda *a, **k: calls.append(1) or real(*a, **k))
    code, output = _invoke("run", str(scenario), "--out", str(partial))
    assert code == 0, output
    assert len(calls) == 2, "only the two unfinished grid points are recomputed"
    a = json.loads((partial / "results.json").read_text())
    b = json.loads((out / "results.json").read_text())
    assert a["points"] == b["points"]


def test_report_command_redraws(finished_run):
    _, out = finished_run
    (out / "report.md").unlink()
    code, output = _invoke("report", str(out))
    assert code == 0, output
    assert (out / "report.md").is_file()


def test_latent_records_and_figures_are_redrawn(finished_run):
    _, out = finished_run
    results = json.loads((out / "results.json").read_text())
    assert results["unavailable_metrics"] == {}
    records = results["latent_difference"]
    assert len(records) == 2 * 2 * 3  # one per grid point (Eq. 7 per ε and latent dimension)
    for r in records:
        assert r["eps"] == [0, 0.5, 1.0] and len(r["mean_abs_delta"]) == 3
        assert all(len(row) == 4 for row in r["mean_abs_delta"])  # latent_dim 4
        assert all(v == 0 for v in r["mean_abs_delta"][0])
    assert len(list((out / "samples").glob("*_latents.npy"))) == 12
    figures = sorted(p.name for p in (out / "figures").glob("*.png")
                     if p.name.startswith(("latent_diff_", "tsne_")))
    assert len(figures) == 2 * 4  # one of each per link
    report = (out / "report.md").read_text()
    assert all(f"(figures/{name})" in report for name in figures)
    for name in figures:
        (out / "figures" / name).unlink()
    code, output = _invoke("report", str(out))
    assert code == 0, output
    assert all((out / "figures" / name).is_file() for name in figures)
