"""A tiny scenario through the real CLI: outputs, the results.json contract, reuse and resume."""

import copy
import csv
import json

import pytest
import yaml
from click.testing import CliRunner

from semcom.cli import main
from semcom.report.markdown import render_report
from semcom.study.results import LinkKey, Results

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


# The typed results object (semcom/study/results.py): the runner's points grouped once, kinds not labels.

def _doc(run) -> dict:
    _, out = run
    return json.loads((out / "results.json").read_text())


def test_grouping_round_trips_the_points_the_runner_wrote(finished_run):
    doc = _doc(finished_run)
    grouped = Results.from_doc(doc)
    assert grouped.points == doc["points"], "each point once, in the run's order"
    assert len(grouped.links) == 3 * 2  # (none, adversarial, control) × (ideal, awgn @ 10 dB)
    for key, link in grouped.links.items():
        assert link.key == key and link.defense.name == key.defense
        assert list(link.curves) == ["pgd-untargeted", "pgd-black", "gaussian"]
        for name, curve in link.curves.items():
            assert curve.attack.name == name and curve.budgets == [0.0, 0.5, 1.0]
            assert all(LinkKey.of(p) == key and p["attack"] == name for p in curve.points)
            assert curve.values("ssim") == [p["metrics"]["ssim"] for p in curve.points]
    assert set(Results.by_link(doc["aaddc"])) == set(grouped.links)
    assert grouped.jamming == "gaussian" and grouped.untargeted_pgd == "pgd-untargeted"
    assert grouped.attacks["pgd-black"].kind == "pgd" and grouped.attacks["pgd-black"].settings["target"] == "black"
    assert [d for d in grouped.defenses if grouped.is_unhardened(d)] == ["none"]
    assert grouped.defenses["control"].kind == "finetune" and not grouped.is_unhardened("control")


def _renamed(doc: dict, attacks: dict[str, str], defenses: dict[str, str]) -> dict:
    """``doc`` as if the scenario had labelled its entries: every record renamed, the labels set."""
    def walk(node):
        if isinstance(node, dict):
            out = {k: walk(v) for k, v in node.items()}
            for key, names in (("attack", attacks), ("defense", defenses)):
                if isinstance(out.get(key), str) and out[key] in names:
                    out[key] = names[out[key]]
            return out
        return [walk(v) for v in node] if isinstance(node, list) else node

    sc = doc["scenario"]
    new = walk({k: v for k, v in doc.items() if k != "scenario"})
    new["scenario"] = scenario = copy.deepcopy(sc)
    grouped = Results.from_doc(doc)
    for entry, name in zip(scenario["adversary"]["attacks"], grouped.attacks, strict=True):
        entry["label"] = attacks.get(name, entry.get("label"))
    for entry, name in zip(scenario["defenses"], grouped.defenses, strict=True):
        entry["label"] = defenses.get(name, entry.get("label"))
    return new


def test_the_report_finds_jamming_untargeted_pgd_and_the_unhardened_receiver_by_kind(finished_run):
    doc = _doc(finished_run)
    renamed = _renamed(doc, {"gaussian": "noise-jammer", "pgd-untargeted": "plain-pgd"}, {"none": "as-trained"})
    grouped = Results.from_doc(renamed)
    assert grouped.jamming == "noise-jammer" and grouped.untargeted_pgd == "plain-pgd"
    assert grouped.is_unhardened("as-trained") and grouped.points != doc["points"]
    before, after = render_report(doc, []), render_report(renamed, [])
    assert "| PSNR PGD [dB] |" in before and "(needs both" not in before
    assert "| PSNR PGD [dB] |" in after and "(needs both" not in after, "the gap table found by kind"
    assert "AADDC of the unhardened receiver (`as-trained`)" in after
    assert after.count("| plain-pgd |") == before.count("| pgd-untargeted |") > 0
    # the same tables, row for row, once the names are put back
    back = after.replace("plain-pgd", "pgd-untargeted").replace("noise-jammer", "gaussian").replace(
        "as-trained", "none")
    assert back == before
