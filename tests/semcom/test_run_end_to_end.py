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
    "report": {"grid_samples": 3, "tsne": True},
}
ATTACKS = ["pgd-untargeted", "pgd-black", "gaussian"]
ADDED_POINT_KEYS = {"budget", "queries"}  # additive to schema_version 1


def _invoke(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _run_scenario(tmp_path_factory, doc):
    """Write ``doc`` as a scenario file, run it through the CLI; ``(scenario, run folder)``."""
    folder = tmp_path_factory.mktemp("e2e")
    scenario = folder / f"{doc['name']}.yaml"
    scenario.write_text(yaml.safe_dump(doc))
    out = folder / "run"
    code, output = _invoke("run", str(scenario), "--out", str(out))
    assert code == 0, output
    assert f"report: {out / 'report.md'}" in output
    return scenario, out


def _forbid(monkeypatch, *trainers):
    """Make each named training function fail: the model store must supply what it trains."""

    def no_training(*args, **kwargs):
        raise AssertionError("the model store should have supplied this model")

    for name in trainers:
        monkeypatch.setattr(name, no_training)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    return _run_scenario(tmp_path_factory, TINY)


def test_results_json_contract(finished_run):
    _, out = finished_run
    results = json.loads((out / "results.json").read_text())
    assert results["schema_version"] == 1
    assert results["scenario"]["name"] == "tiny"
    points = results["points"]
    # 1 model × 3 defences (the control added) × 2 links × 3 attacks × 3 ε
    assert len(points) == 3 * 2 * 3 * 3
    keys = {"model", "defense", "channel", "snr_db", "attack", "eps", "psr_db", "metrics", "metrics_vs_clean"}
    assert all(set(p) == keys | ADDED_POINT_KEYS for p in points)  # schema 1 plus additive keys
    assert all(p["budget"] == p["eps"] and p["queries"] is None for p in points)
    assert results["budget_axis"] == "eps" and results["equal_damage_gaps"]
    assert {p["attack"] for p in points} == set(ATTACKS)
    assert {p["defense"] for p in points} == {"none", "adversarial", "control"}
    assert {p["snr_db"] for p in points} == {None, 10}
    assert all(isinstance(v, float) for p in points for v in p["metrics"].values())
    assert all(set(p["metrics"]) == {"ssim", "psnr", "mse"} for p in points)
    assert all((p["psr_db"] is None) == (p["eps"] == 0) for p in points)
    aaddc = results["aaddc"]
    assert len(aaddc) == 3 * 2 * 3 * 3
    assert {a["baseline"] for a in aaddc if a["metric"] == "mse"} == {1.0}
    assert all(set(a) == {"model", "defense", "channel", "snr_db", "attack", "metric", "value", "baseline"}
               for a in aaddc)


def test_csv_and_report_and_figures(finished_run):
    _, out = finished_run
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 54 * 3 * 2  # points × metrics × {input, clean}
    report = (out / "report.md").read_text()
    assert "## AADDC" in report and "PSNR gap [dB]" in report and "## Receiver hardening" in report
    for line in report.splitlines():
        if line.startswith("![") and "(" in line:
            assert (out / line.split("(")[1].rstrip(")")).is_file(), line
    assert len(list((out / "figures").glob("dd_*.png"))) == 6
    assert len(list((out / "figures").glob("grid_*.png"))) == 6
    assert len(list((out / "figures").glob("tradeoff_*.png"))) == 2
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

    _forbid(monkeypatch, "semcom.models.training.train_autoencoder", "semcom.defenses.hardening.harden_receiver")
    code, output = _invoke("run", str(scenario), "--out", str(out), "--overwrite")
    assert code == 0, output
    after = json.loads((out / "results.json").read_text())
    assert after["points"] == before["points"] and after["aaddc"] == before["aaddc"]


def test_unfinished_run_resumes_from_the_journal(finished_run, sweep_calls, tmp_path):
    import shutil

    scenario, out = finished_run
    partial = tmp_path / "partial"
    shutil.copytree(out, partial)
    (partial / "results.json").unlink()
    journal = (partial / "journal.jsonl").read_text().splitlines()
    (partial / "journal.jsonl").write_text("\n".join(journal[:-2]) + "\n" + journal[-2][:20])  # last line cut

    code, output = _invoke("run", str(scenario), "--out", str(partial))
    assert code == 0, output
    assert len(sweep_calls) == 2, "only the two unfinished grid points are recomputed"
    a = json.loads((partial / "results.json").read_text())
    b = json.loads((out / "results.json").read_text())
    assert a["points"] == b["points"]


def test_report_command_redraws(finished_run):
    _, out = finished_run
    (out / "report.md").unlink()
    code, output = _invoke("report", str(out))
    assert code == 0, output
    assert (out / "report.md").is_file()


PSR_SCENARIO = {
    "name": "jammer",
    "data": {"train_samples": 300, "test_samples": 24},
    "models": [{"variant": "vae-kld", "latent_dim": 4, "epochs": 1}],
    "channels": [{"kind": "rayleigh", "snr_db": [10]}],
    "adversary": {"psr_db": [-20, -10, 0], "placement": "over_the_air",
                  "attacks": [{"kind": "pgd", "steps": 3, "eot": 2},
                              {"kind": "blackbox", "steps": 2, "samples": 2},
                              {"kind": "universal", "epochs": 1, "batch_size": 100},
                              {"kind": "gaussian"}]},
    "metrics": ["ssim", "accuracy", "fid"],
    "eval_batch_size": 16,
    "report": {"grid_samples": 2},
}


@pytest.fixture(scope="module")
def psr_run(tmp_path_factory):
    scenario, out = _run_scenario(tmp_path_factory, PSR_SCENARIO)
    return scenario, out, json.loads((out / "results.json").read_text())


def test_a_psr_sweep_over_the_air_reports_both_axes_queries_and_gaps(psr_run):
    from semcom.metrics.quality import aaddc

    _, out, results = psr_run
    assert results["schema_version"] == 1 and results["budget_axis"] == "psr_db"
    points = results["points"]
    assert len(points) == 4 * 3
    for p in points:
        assert p["budget"] in (-20.0, -10.0, 0.0) and p["eps"] > 0
        assert set(p["metrics"]) == {"ssim", "accuracy", "fid"}
        if p["attack"] != "universal-untargeted":  # per-sample budgets: the PSR is the budget
            assert p["psr_db"] == pytest.approx(p["budget"], abs=0.01)
        blackbox = p["attack"] == "blackbox-untargeted"
        assert p["queries"] == (1 + 2 * (2 * 2 + 1) if blackbox else None)
    curve = [p["metrics"]["ssim"] for p in points if p["attack"] == "gaussian"]
    area = next(a for a in results["aaddc"] if a["attack"] == "gaussian" and a["metric"] == "ssim")
    expected = aaddc([-20, -10, 0], curve, higher_is_better=True, baseline=0)
    assert area["value"] == pytest.approx(expected)  # over the dB axis
    fid = next(a for a in results["aaddc"] if a["metric"] == "fid")
    assert fid["baseline"] == 0.0 and fid["value"] <= 0
    gaps = results["equal_damage_gaps"]
    assert {(g["attack"], g["metric"]) for g in gaps} == {
        (a, m) for a in ("pgd-untargeted", "blackbox-untargeted", "universal-untargeted")
        for m in ("ssim", "accuracy")}
    assert all(g["relation"] in "=<>" and len(g["points"]) == 3 for g in gaps)
    report = (out / "report.md").read_text()
    assert "## Equal-damage power gap to Gaussian jamming" in report and "headline gap" in report
    assert "budget axis PSR" in report and "placement over_the_air" in report
    assert list((out / "figures").glob("latent_diff_*.png")) and not list((out / "figures").glob("tsne_*.png"))


def test_the_reference_classifier_is_trained_once_and_stored(psr_run, monkeypatch):
    scenario, out, results = psr_run

    _forbid(monkeypatch, "semcom.metrics.classifier.train_classifier", "semcom.models.training.train_autoencoder")
    code, output = _invoke("run", str(scenario), "--out", str(out), "--overwrite")
    assert code == 0, output
    assert json.loads((out / "results.json").read_text())["points"] == results["points"]


def test_latent_records_and_figures_are_redrawn(finished_run):
    _, out = finished_run
    results = json.loads((out / "results.json").read_text())
    assert results["unavailable_metrics"] == {}
    records = results["latent_difference"]
    assert len(records) == 3 * 2 * 3  # one per grid point, the control's included (Eq. 7 per ε and dimension)
    for r in records:
        assert r["eps"] == [0, 0.5, 1.0] and len(r["mean_abs_delta"]) == 3
        assert all(len(row) == 4 for row in r["mean_abs_delta"])  # latent_dim 4
        assert all(v == 0 for v in r["mean_abs_delta"][0])
    assert len(list((out / "samples").glob("*_latents.npy"))) == 18
    figures = sorted(p.name for p in (out / "figures").glob("*.png")
                     if p.name.startswith(("latent_diff_", "tsne_")))
    assert len(figures) == 3 * 2 * 2  # latent_diff and tsne per receiver (the control included) and link
    report = (out / "report.md").read_text()
    assert all(f"(figures/{name})" in report for name in figures)
    for name in figures:
        (out / "figures" / name).unlink()
    code, output = _invoke("report", str(out))
    assert code == 0, output
    assert all((out / "figures" / name).is_file() for name in figures)
