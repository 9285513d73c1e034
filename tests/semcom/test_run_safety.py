"""Runs that fail loudly and stay inside their folder.

NaN/Inf stops a point with a message naming it, runs never escape or clobber `--out`, and a
changed scenario never reuses stale points."""

from __future__ import annotations

import json
import sys

import torch
import yaml
from click.testing import CliRunner

from semcom.cli import main

SMALL = {
    "name": "small",
    "seed": 2,
    "data": {"train_samples": 200, "test_samples": 8},
    "models": [{"variant": "vae-kld", "latent_dim": 4, "epochs": 1}],
    "adversary": {"eps": [0, 100], "attacks": [{"kind": "gaussian"}]},
    "eval_batch_size": 8,
    "report": {"grid_samples": 2},
}


def _run(tmp_path, doc, *extra):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(doc))
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), *extra],
                                catch_exceptions=False)
    return result.exit_code, result.output, out


def _one_error_line(output: str) -> str:
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    return lines[0]


def test_nan_from_the_decoder_stops_the_point_and_names_it(tmp_path, monkeypatch):
    from semcom.models.nets import ConvDecoder

    real = ConvDecoder.forward

    def nan_for_large_latents(self, z):
        out = real(self, z)
        if self.training:  # training sees small latents only; emit NaN in use, like a blown-up net
            return out
        large = z.norm(dim=1)[:, None, None, None] > 50
        return torch.where(large, torch.full_like(out, float("nan")), out)

    monkeypatch.setattr(ConvDecoder, "forward", nan_for_large_latents)
    code, output, out = _run(tmp_path, SMALL)
    assert code == 1
    line = _one_error_line(output)
    assert ("grid point model=vae-kld defense=none channel=ideal snr_db=None attack=gaussian: "
            "NaN/Inf in the outputs at ε=100") in line
    assert "run again to resume" in line
    assert not (out / "results.json").exists() and not (out / "report.md").exists()
    assert not (out / "journal.jsonl").exists() or "NaN" not in (out / "journal.jsonl").read_text()


def test_inf_in_the_latents_is_named_as_such(tmp_path, monkeypatch):
    from semcom.link import Transmitter

    monkeypatch.setattr(Transmitter, "forward",
                        lambda self, x: torch.full((x.shape[0], 4), float("inf")))
    code, output, _ = _run(tmp_path, SMALL)
    assert code == 1
    assert "attack=gaussian: NaN/Inf in the latents at ε=0" in _one_error_line(output)


def test_out_that_is_not_a_run_folder_is_left_alone(tmp_path):
    out = tmp_path / "run"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "mine.png").write_bytes(b"precious")
    (out / "results.json").write_text("{}")
    for extra in ([], ["--overwrite"], ["--no-resume"]):
        code, output, _ = _run(tmp_path, SMALL, *extra)
        assert code == 2
        assert "is not a semcom run folder" in _one_error_line(output)
    assert sorted(p.name for p in out.rglob("*")) == ["figures", "mine.png", "results.json"]


def test_labels_cannot_write_outside_out_and_stale_points_are_recomputed(tmp_path, sweep_calls):
    attack = {"kind": "gaussian", "label": "../../x"}
    doc = {**SMALL, "adversary": {"eps": [0, 1], "attacks": [attack]},
           "models": [{**SMALL["models"][0], "label": "/etc/evil"}],
           "channels": [{"kind": "ideal", "label": "..\\a/b"}]}
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    code, output, out = _run(tmp_path, doc)
    assert code == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "s.yaml"]
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before
    for path in out.rglob("*"):
        assert path.resolve().is_relative_to(out.resolve())
    assert {p.parent.name for p in out.rglob("*.png")} == {"figures"}

    # an unfinished run of a changed scenario: the journalled point no longer matches
    (out / "results.json").unlink()
    doc["adversary"]["eps"] = [0, 2]
    code, output, out = _run(tmp_path, doc)
    assert code == 0, output
    assert len(sweep_calls) == 2, "the first run's point, then the changed one again"
    assert [p["eps"] for p in json.loads((out / "results.json").read_text())["points"]] == [0, 2]


def test_no_resume_recomputes_every_point(tmp_path, sweep_calls):
    doc = {**SMALL, "adversary": {"eps": [0, 1], "attacks": [{"kind": "gaussian"}]}}
    code, output, out = _run(tmp_path, doc)
    assert code == 0 and len(sweep_calls) == 1, output
    (out / "results.json").unlink()
    assert _run(tmp_path, doc)[0] == 0 and len(sweep_calls) == 1  # resumed: nothing left to do
    (out / "results.json").unlink()
    assert _run(tmp_path, doc, "--no-resume")[0] == 0 and len(sweep_calls) == 2


def test_ray_executor_without_ray_is_bad_input(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, as where Ray is not installed
    code, output, out = _run(tmp_path, SMALL, "--executor", "ray")
    assert code == 2 and "pip install 'semcom[ray]'" in _one_error_line(output)
    assert not out.exists()
