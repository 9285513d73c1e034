"""Replicates: the same seed reproduces them, replicate 0 is the plain run, the others differ."""

from __future__ import annotations

import json

import pytest

from semcom.study.runner import run_scenario
from semcom.study.scenario import parse_scenario
from semcom.study.store import ModelStore

DOC = {
    "name": "reps", "seed": 5,
    "data": {"train_samples": 200, "test_samples": 16},
    "models": [{"latent_dim": 4, "epochs": 1}],
    "defenses": [{"kind": "none"}, {"kind": "noise", "eps": 1.0, "epochs": 1}],
    "adversary": {"eps": [0, 1.0], "attacks": [{"kind": "pgd", "steps": 2}]},
    "metrics": ["ssim", "psnr"],
    "eval_batch_size": 16, "report": {"grid_samples": 2},
}


def _run(tmp_path, name, store, **extra):
    sc = parse_scenario({**DOC, **extra}, "reps.yaml")
    run_scenario(sc, tmp_path / name, store=ModelStore(tmp_path / store), progress=False)
    return json.loads((tmp_path / name / "results.json").read_text())


@pytest.mark.slow
def test_replicates_reproduce_and_replicate_zero_is_the_plain_run(tmp_path):
    a = _run(tmp_path, "a", "store-a", replicates=2)
    b = _run(tmp_path, "b", "store-b", replicates=2)  # a fresh store: everything retrained
    assert a["points"] == b["points"] and a["replicates"] == b["replicates"] and a["hardening"] == b["hardening"]
    plain = _run(tmp_path, "plain", "store-a")
    reps = a["replicates"]
    assert reps["count"] == 2 and "replicates" not in plain
    first = [{k: v for k, v in p.items() if k != "replicate"} for p in reps["points"] if p["replicate"] == 0]
    second = [p for p in reps["points"] if p["replicate"] == 1]
    assert first == plain["points"]  # replicate 0 is the scenario's own seed: today's numbers
    assert [p["metrics"] for p in second] != [p["metrics"] for p in plain["points"]]  # other seeds
    assert {p["defense"] for p in plain["points"]} == {"none", "noise", "control"}  # the control is added
    for mean, p0, p1 in zip(a["points"], first, second, strict=True):
        assert mean["metrics"]["ssim"] == pytest.approx((p0["metrics"]["ssim"] + p1["metrics"]["ssim"]) / 2)
        assert mean["spread"]["metrics"]["ssim"] == pytest.approx(
            abs(p0["metrics"]["ssim"] - p1["metrics"]["ssim"]) / 2**0.5)
    assert [s["scenario"] for s in reps["seeds"]][0] == 5 and reps["seeds"][1]["scenario"] != 5
