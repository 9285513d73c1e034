"""Break power (docs/design.md §7): bisection against a dense sweep, attack against jamming, records."""

import math

import numpy as np
import pytest
import torch

from adversary import psr_to_eps
from channels import make_channel
from semcom.attacks.base import make_attack
from semcom.attacks.break_power import BreakSpec, bisect_break_power, break_power_records, summarise
from semcom.attacks.threats import Engagement, Threat
from semcom.link import Link
from semcom.metrics.quality import get_metric
from semcom.speed import inference_copy

SPEC = BreakSpec(thresholds=(("ssim", 0.5), ("psnr", 15.0)), low_db=-40.0, high_db=10.0, tolerance_db=1.0)


def _link(trained, kind="ideal", snr_db=None):
    return Link(trained.model, make_channel(kind), scale=2**0.5 * trained.sigma_z, snr_db=snr_db)


def _bisect(link, images, attack, spec=SPEC, **kw):
    return bisect_break_power(Engagement(link, attack, norm="l2", batch_size=200, seed=0, **kw), images, spec)


def _dense(link, images, attack, grid_db):
    """Oracle: every image at every PSR of ``grid_db`` (one batch); ``[G, T, N]`` broken or not."""
    link = inference_copy(link)
    threat = Threat(attack, link, norm="l2", placement="in_transit", budget_axis="eps")
    with torch.no_grad():
        z = link.transmitter(images)
        clean = link.deliver(z)
    g, n = len(grid_db), images.shape[0]
    zz, ref = z.repeat(g, 1), clean.repeat(g, 1, 1, 1)
    db = torch.tensor(grid_db).repeat_interleave(n)
    delta = threat.perturb_within(zz, ref, psr_to_eps(db, zz), torch.Generator().manual_seed(1)).delta
    with torch.no_grad():
        out = link.deliver(zz + delta).reshape(g, n, *images.shape[1:])
    broken = []
    for name, value in SPEC.thresholds:
        m = torch.stack([get_metric(name).fn(out[i], images) for i in range(g)])  # [G, N]
        broken.append(m <= value)
    clean_broken = torch.stack([get_metric(name).fn(clean, images) <= v for name, v in SPEC.thresholds])
    return torch.stack(broken, 1).numpy(), clean_broken.numpy()  # [G, T, N], [T, N]


@pytest.mark.parametrize("attack", [make_attack("pgd", label="pgd-untargeted"),
                                    make_attack("pgd", label="pgd-black", target="black")])
def test_bisected_break_power_matches_a_dense_sweep_of_the_same_images(tiny_vae, mnist, attack):
    """On a deterministic (ideal) link the bisection lands on the dense sweep's first break,
    within one tolerance, for (nearly) every image, and the medians agree within it."""
    images = mnist[1].images[:24]
    link = _link(tiny_vae)
    found = _bisect(link, images, attack)
    step = 0.5
    grid = np.arange(SPEC.low_db, SPEC.high_db + step / 2, step)
    broken, clean_broken = _dense(link, images, attack, grid.tolist())
    assert (found.broken_clean.T == clean_broken).all(), "the same images are broken without an attack"
    first = np.where(broken.any(0), grid[broken.argmax(0)], np.inf)  # [T, N] least broken grid PSR
    bisected = found.psr_db.T  # [T, N]
    intact = ~clean_broken
    assert intact.sum() >= 24, "most digits survive the clean link (of 2 × 24 states)"
    both = intact & np.isfinite(first) & np.isfinite(bisected)
    assert (np.isfinite(first) == np.isfinite(bisected))[intact].all(), "the same images break within range"
    close = np.abs(bisected - first)[both] <= SPEC.tolerance_db + step
    assert close.mean() >= 0.9, np.abs(bisected - first)[both]
    for t in range(len(SPEC.thresholds)):
        keep = both[t]
        assert abs(np.median(bisected[t][keep]) - np.median(first[t][keep])) <= SPEC.tolerance_db
    # the bisection's answer is itself a breaking budget on the dense grid (to the grid's resolution)
    at = np.clip(np.searchsorted(grid, bisected[both] - 1e-9), 0, len(grid) - 1)
    t_idx, n_idx = np.nonzero(both)
    assert broken[at, t_idx, n_idx].mean() >= 0.9


@pytest.mark.parametrize(("kind", "snr_db"), [("ideal", None), ("awgn", 20.0)])
def test_untargeted_pgd_breaks_with_less_power_than_gaussian_jamming(tiny_vae, mnist, kind, snr_db):
    link = _link(tiny_vae, kind, snr_db)
    images = mnist[1].images[:40]
    entries = []
    for attack in (make_attack("pgd", label="pgd-untargeted"), make_attack("gaussian", label="gaussian")):
        records = summarise(_bisect(link, images, attack), SPEC, budget_axis="eps")
        entries.append({"model": "m", "defense": "none", "channel": kind, "snr_db": snr_db,
                        "attack": attack.name, "break_power": records})
    table = break_power_records(entries, "gaussian")
    by = {(r["attack"], r["metric"]): r for r in table}
    for metric in ("ssim", "psnr"):
        pgd, jam = by["pgd-untargeted", metric], by["gaussian", metric]
        assert pgd["median_psr_db"] is not None and jam["median_psr_db"] is not None
        assert pgd["median_psr_db"] < jam["median_psr_db"], (pgd, jam)
        assert pgd["power_advantage_relation"] == "="
        assert pgd["power_advantage_db"] == pytest.approx(jam["median_psr_db"] - pgd["median_psr_db"])
        assert pgd["power_advantage_db"] > 0 and jam["power_advantage_db"] is None
        assert pgd["q25_psr_db"] <= pgd["median_psr_db"] <= (pgd["q75_psr_db"] or math.inf)
        assert 0.5 <= pgd["broken_share"] <= 1 and pgd["median_eps"] > 0


def test_not_broken_within_range_is_recorded_as_such(tiny_vae, mnist):
    """A range whose top is far too weak breaks nothing: +inf per image, no median, share 0."""
    spec = BreakSpec(thresholds=(("ssim", 0.5),), low_db=-90.0, high_db=-60.0, tolerance_db=2.0)
    found = _bisect(_link(tiny_vae), mnist[1].images[:30], make_attack("gaussian", label="gaussian"), spec)
    intact = ~found.broken_clean[:, 0]
    assert np.isinf(found.psr_db[intact, 0]).all() and np.isnan(found.psr_db[~intact, 0]).all()
    (rec,) = summarise(found, spec, budget_axis="psr_db")
    assert rec["median_psr_db"] is None and rec["q25_psr_db"] is None and rec["broken_share"] == 0.0
    assert "median_eps" not in rec and rec["images"] == int(intact.sum())
    assert found.rounds == math.ceil(math.log2(30 / 2))


def test_power_advantage_is_a_bound_when_jamming_does_not_break_half():
    head = {"model": "m", "defense": "none", "channel": "ideal", "snr_db": None}
    rec = {"metric": "ssim", "threshold": 0.5, "q25_psr_db": None, "q75_psr_db": None, "broken_share": 0.4,
           "range_db": [-40.0, 10.0]}
    entries = [{**head, "attack": "pgd", "break_power": [{**rec, "median_psr_db": -20.0}]},
               {**head, "attack": "gaussian", "break_power": [{**rec, "median_psr_db": None}]}]
    pgd, jam = break_power_records(entries, "gaussian")
    assert (pgd["power_advantage_relation"], pgd["power_advantage_db"]) == (">", 30.0)
    assert jam["power_advantage_db"] is None and break_power_records(entries, None)[0]["power_advantage_db"] is None


VALID = {"name": "tiny", "models": [{"variant": "vae-kld", "latent_dim": 4, "epochs": 1}],
         "adversary": {"eps": [0, 1], "attacks": [{"kind": "pgd"}, {"kind": "gaussian"}]}}
BAD = [
    ({"thresholds": {"accuracy": 0}}, "break_power.thresholds: 'accuracy' is not computed (not in `metrics`"),
    ({"thresholds": {"fid": 1.0}}, "break_power.thresholds: 'fid' is a set-level metric"),
    ({"thresholds": {}}, "break_power.thresholds: must name at least one metric"),
    ({"range_db": [10, -40]}, "break_power.range_db: must be [low, high] in dB with -100 ≤ low < high ≤ 60"),
    ({"range_db": [0, 0]}, "break_power.range_db: must be [low, high]"),
    ({"range_db": [-40]}, "break_power.range_db: must be [low, high]"),
    ({"tolerance_db": 0}, "break_power.tolerance_db: must be > 0.0; got 0"),
    ({"samples": 0}, "break_power.samples: must be ≥ 1; got 0"),
    ({"bisect": True}, "break_power.bisect: unknown key"),
    ({"defenses": ["smoothing"]}, "break_power.defenses: 'smoothing' is not the kind of any of the scenario's"),
]


@pytest.mark.parametrize(("settings", "message"), BAD, ids=[m.split(":")[1].strip()[:30] for _, m in BAD])
def test_bad_break_power_settings_are_one_line_naming_the_key(tmp_path, settings, message):
    import yaml
    from click.testing import CliRunner

    from semcom.cli import main

    doc = {**VALID, "break_power": settings}
    if "fid" in settings.get("thresholds", {}):
        doc["metrics"] = ["ssim", "fid"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: {message}"), lines


def test_thresholds_default_to_the_computed_metrics_and_the_range_to_minus_40_to_10_db():
    from semcom.study.break_power_config import resolved_thresholds
    from semcom.study.scenario import parse_scenario

    sc = parse_scenario({**VALID, "metrics": ["ssim", "mse", "accuracy"]}, "x.yaml")
    assert resolved_thresholds(sc.break_power, sc.metrics) == {"ssim": 0.5, "accuracy": 0.0}
    assert sc.break_power.range_db == [-40.0, 10.0] and sc.break_power.enabled
    off = parse_scenario({**VALID, "break_power": {"enabled": False}}, "x.yaml")
    assert off.decoder_passes() < sc.decoder_passes(), "the bisections are counted in the study's work"


def test_break_power_defenses_limits_the_bisections_to_those_receivers():
    from semcom.study.break_power_config import covers
    from semcom.study.scenario import parse_scenario

    doc = {**VALID, "defenses": [{"kind": "none"}, {"kind": "noise", "eps": 1.0, "epochs": 1}]}
    every = parse_scenario(doc, "x.yaml")
    undefended = parse_scenario({**doc, "break_power": {"defenses": ["none"]}}, "x.yaml")
    assert covers(every.break_power, "noise") and not covers(undefended.break_power, "noise")
    assert covers(undefended.break_power, "none")
    # the hardened receiver's bisections are no longer counted in the study's work
    assert undefended.decoder_passes() < every.decoder_passes()


RUN = {
    "name": "bp", "seed": 1, "data": {"train_samples": 300, "test_samples": 16},
    "models": [{"variant": "vae-kld", "latent_dim": 4, "epochs": 1}],
    "channels": [{"kind": "ideal"}, {"kind": "awgn", "snr_db": [10]}],
    "adversary": {"eps": [0, 1.0], "attacks": [{"kind": "pgd", "steps": 3}, {"kind": "gaussian"},
                                                {"kind": "universal", "epochs": 1}]},
    "eval_batch_size": 16, "report": {"grid_samples": 2},
    "break_power": {"tolerance_db": 2.0},
}
FIELDS = {"model", "defense", "channel", "snr_db", "attack", "metric", "threshold", "median_psr_db", "q25_psr_db",
          "q75_psr_db", "broken_share", "median_eps", "power_advantage_db"}


def _run(tmp_path, doc, out):
    import yaml
    from click.testing import CliRunner

    from semcom.cli import main

    path = tmp_path / "bp.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_a_run_records_leads_with_and_resumes_its_break_power(tmp_path, sweep_calls, monkeypatch):
    import json
    import shutil

    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    _run(tmp_path, RUN, out)
    results = json.loads((out / "results.json").read_text())
    records = results["break_power"]
    # 2 links × (pgd, gaussian) × (ssim, psnr): the universal attack is skipped
    assert len(records) == 2 * 2 * 2 and {r["attack"] for r in records} == {"pgd-untargeted", "gaussian"}
    assert all(FIELDS <= set(r) for r in records)
    assert {(r["metric"], r["threshold"]) for r in records} == {("ssim", 0.5), ("psnr", 15.0)}
    assert all(r["images"] + r["broken_clean"] == 16 for r in records)
    report = (out / "report.md").read_text()
    first_section = next(line for line in report.splitlines() if line.startswith("## "))
    assert first_section == "## Break power (headline)", first_section
    assert "pgd-untargeted breaks half the digits" in report and "Skipped: universal-untargeted" in report

    partial = tmp_path / "partial"
    shutil.copytree(out, partial)
    (partial / "results.json").unlink()
    calls = len(sweep_calls)
    _run(tmp_path, RUN, partial)
    assert len(sweep_calls) == calls, "every point, break power included, comes from the journal"
    assert json.loads((partial / "results.json").read_text())["break_power"] == records

    (partial / "results.json").unlink()
    _run(tmp_path, {**RUN, "break_power": {"tolerance_db": 4.0}}, partial)
    assert len(sweep_calls) == calls + 6, "other break-power settings are other numbers: recomputed"
