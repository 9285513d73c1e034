"""LPIPS in a scenario: a metric (lower is better, baseline 1) and a PGD distance.

Without the ImageNet weights the metric is reported as unavailable, with the
reason, in results.json and report.md, and the rest of the run completes; an
attack that needs LPIPS is refused before anything is written. "Weights
present" is simulated by a random-init AlexNet backbone in a temporary hub
cache (``fake_hub`` in conftest.py): it checks the plumbing, not perceptual
calibration.
"""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from semcom.cli import main
from semcom.paths import cache_dir
from semcom.study.runner import run_scenario
from semcom.study.scenario import parse_scenario
from semcom.study.store import ModelStore

pytestmark = pytest.mark.usefixtures("no_network")

TINY = {
    "name": "lpips_tiny",
    "seed": 5,
    "data": {"train_samples": 200, "test_samples": 12},
    "models": [{"variant": "vae-kld", "latent_dim": 4, "epochs": 1}],
    "adversary": {"eps": [0, 1.0], "attacks": [{"kind": "pgd", "steps": 2}]},
    "metrics": ["ssim", "lpips"],
    "eval_batch_size": 12,
    "report": {"grid_samples": 2},
}


def _run(doc, out):
    return run_scenario(parse_scenario(doc, "tiny.yaml"), out, store=ModelStore(cache_dir()),
                        progress=False)


def _with_lpips_attack():
    return {**TINY, "adversary": {**TINY["adversary"],
                                  "attacks": [{"kind": "pgd", "steps": 2, "distance": "lpips"}]}}


def test_unavailable_lpips_is_reported_with_its_reason_and_the_run_completes(tmp_path, use_hub):
    use_hub(tmp_path / "empty-hub")
    results = _run(TINY, tmp_path / "run")
    reason = results["unavailable_metrics"]["lpips"]
    assert "alexnet-owt-7be5be79.pth" in reason and "never downloads" in reason
    points = results["points"]
    assert all(set(p["metrics"]) == {"ssim"} == set(p["metrics_vs_clean"]) for p in points)
    assert {a["metric"] for a in results["aaddc"]} == {"ssim"}
    on_disk = json.loads((tmp_path / "run" / "results.json").read_text())
    assert on_disk["unavailable_metrics"] == {"lpips": reason}
    report = (tmp_path / "run" / "report.md").read_text()
    assert "## Unavailable metrics" in report and reason in report
    assert "LPIPS (b =" not in report  # no AADDC column made up for it
    assert "lpips" not in (tmp_path / "run" / "results.csv").read_text()
    assert not (tmp_path / "empty-hub").exists()  # nothing downloaded


def test_lpips_metric_with_weights_present(tmp_path, fake_hub, use_hub):
    use_hub(fake_hub[0])
    results = _run(TINY, tmp_path / "run")
    assert results["unavailable_metrics"] == {}
    clean, attacked = results["points"]
    assert clean["metrics_vs_clean"]["lpips"] == pytest.approx(0.0, abs=1e-6)
    assert clean["metrics"]["lpips"] > 0  # reconstruction differs from the input
    assert attacked["metrics_vs_clean"]["lpips"] > 0
    area = next(a for a in results["aaddc"] if a["metric"] == "lpips")
    assert area["baseline"] == 1.0
    mean_lpips = (clean["metrics"]["lpips"] + attacked["metrics"]["lpips"]) / 2
    expected = 1.0 - mean_lpips  # lower is better: area above the curve, under b = 1
    assert area["value"] == pytest.approx(expected)
    assert "LPIPS (b = 1)" in (tmp_path / "run" / "report.md").read_text()


def test_lpips_attack_is_refused_without_weights(tmp_path, use_hub):
    use_hub(tmp_path / "empty-hub")
    path = tmp_path / "attack.yaml"
    path.write_text(yaml.safe_dump(_with_lpips_attack()))
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "adversary.attacks[0].distance" in lines[0]
    assert "alexnet-owt-7be5be79.pth" in lines[0]
    assert not out.exists(), "nothing is written before the check"


def test_lpips_attack_runs_with_weights_present(tmp_path, fake_hub, use_hub):
    use_hub(fake_hub[0])
    results = _run(_with_lpips_attack(), tmp_path / "run")
    _, attacked = results["points"]
    assert results["scenario"]["adversary"]["attacks"][0]["distance"] == "lpips"
    assert attacked["metrics_vs_clean"]["lpips"] > 0
