"""An attack's ``defenses``: which receivers it is run on (the control follows its defence)."""

import json

import pytest
import yaml
from click.testing import CliRunner

from semcom.cli import main
from semcom.study.break_power_config import receiver_selected
from semcom.study.scenario import parse_scenario

DOC = {"name": "sel", "seed": 3, "data": {"train_samples": 200, "test_samples": 8},
       "models": [{"variant": "vae-kld", "latent_dim": 4, "epochs": 1}],
       "defenses": [{"kind": "none"}, {"kind": "noise", "eps": 1.0, "epochs": 1}],
       "adversary": {"eps": [0, 1.0], "attacks": [{"kind": "pgd", "steps": 2},
                                                   {"kind": "pgd", "target": "black", "steps": 2,
                                                    "defenses": ["none"]},
                                                   {"kind": "gaussian"}]},
       "eval_batch_size": 8, "report": {"grid_samples": 2}, "break_power": {"enabled": False}}


def test_the_control_follows_the_defences_it_controls():
    assert receiver_selected(None, "noise") and receiver_selected(["none"], "none")
    assert not receiver_selected(["none"], "noise") and not receiver_selected(["none"], "finetune")
    assert receiver_selected(["noise"], "finetune") and not receiver_selected(["noise"], "none")


def test_fewer_receivers_attacked_is_less_work_and_an_absent_kind_is_one_line(tmp_path):
    every = {**DOC, "adversary": {**DOC["adversary"], "attacks": [
        {k: v for k, v in a.items() if k != "defenses"} for a in DOC["adversary"]["attacks"]]}}
    assert parse_scenario(DOC, "x.yaml").decoder_passes() < parse_scenario(every, "x.yaml").decoder_passes()
    bad = {**DOC, "adversary": {**DOC["adversary"], "attacks": [{"kind": "pgd", "defenses": ["smoothing"]}]}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    result = CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {path}: adversary.attacks[0].defenses: 'smoothing' is not the kind of any of the scenario's "
        "defenses ['noise', 'none']"]


@pytest.mark.slow
def test_an_attack_limited_to_the_receivers_as_trained_runs_only_there(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "sel.yaml"
    path.write_text(yaml.safe_dump(DOC))
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "run")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    ran = {(p["defense"], p["attack"]) for p in results["points"]}
    # none, noise and its automatic control × (untargeted, jamming); targeted-black on `none` only
    assert ran == {(d, a) for d in ("none", "noise", "control") for a in ("pgd-untargeted", "gaussian")} | {
        ("none", "pgd-black")}
    report = (tmp_path / "run" / "report.md").read_text()
    assert "## Receiver hardening against its control (headline)" in report and "pgd-black" in report
