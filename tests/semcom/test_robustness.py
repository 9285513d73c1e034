"""Robustness numbers that are not clean quality, gains over the control, and their significance in words."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from semcom.metrics.robustness import degradation, degradation_area, hardening_table, robustness_table, threshold_budget
from semcom.report.hardening_report import control_section
from semcom.study.replicates import add_replicates, mean_entries, replicate_seed

BUDGETS = [0.0, 0.5, 1.0, 1.5, 2.0]


def test_degradation_area_and_threshold_against_independent_oracles():
    ssim = [0.82, 0.78, 0.69, 0.60, 0.51]
    assert degradation(ssim) == pytest.approx([0.82 - v for v in ssim])
    oracle = np.trapezoid(0.82 - np.array(ssim), BUDGETS) / 2.0
    assert degradation_area(BUDGETS, ssim) == pytest.approx(oracle)
    mse = [0.02, 0.03, 0.05]  # lower is better: degradation is the rise
    assert degradation([0.02, 0.03, 0.05], sign=-1.0) == pytest.approx([0.0, 0.01, 0.03])
    assert degradation_area([0, 1, 2], mse, sign=-1.0) == pytest.approx(np.trapezoid([0, 0.01, 0.03], [0, 1, 2]) / 2)
    # SSIM crosses 0.6 exactly at ε = 1.5, 0.65 at the linear interpolation between 1.0 and 1.5
    assert threshold_budget(BUDGETS, ssim, 0.6) == pytest.approx(1.5)
    assert threshold_budget(BUDGETS, ssim, 0.65) == pytest.approx(np.interp(-0.65, [-0.69, -0.60], [1.0, 1.5]))
    assert threshold_budget(BUDGETS, ssim, 0.3) is None  # never within the sweep
    assert threshold_budget(BUDGETS, ssim, 0.9) == 0.0  # already at the first budget
    assert threshold_budget([0, 1, 2], mse, 0.04, sign=-1.0) == pytest.approx(1.5)


def _results(curves: dict[str, list[list[float]]]) -> dict:
    """A results document of one link and attack: ``curves[defence][replicate] = SSIM per budget``."""
    kinds = {"none": "none", "control": "finetune", "adv": "adversarial", "noise": "noise"}
    scenario = {"metrics": ["ssim"], "report": {},
                "models": [{"label": None, "source": "builtin", "variant": "vae-kld", "adversarial": None}],
                "defenses": [{"kind": kinds[d], "label": d, "epochs": 3, "k": 1, "lr": 5e-4,
                              **({"eps": 1.0} if kinds[d] not in ("none", "finetune") else {})} for d in curves],
                "adversary": {"attacks": [{"kind": "pgd"}]}}
    n_rep = len(next(iter(curves.values())))
    docs = []
    for r in range(n_rep):
        points = [{"model": "vae-kld", "defense": d, "channel": "ideal", "snr_db": None, "attack": "pgd-untargeted",
                   "eps": b, "budget": b, "metrics": {"ssim": reps[r][i]}, "metrics_vs_clean": {"ssim": 1.0}}
                  for d, reps in curves.items() for i, b in enumerate(BUDGETS)]
        docs.append({"scenario": scenario, "points": points, "aaddc": [], "seeds": {"scenario": r}})
    mean = {**docs[0], "points": mean_entries([d["points"] for d in docs])}
    if n_rep > 1:
        add_replicates(mean, docs)
    mean["robustness"], mean["hardening"] = robustness_table(mean), hardening_table(mean)
    return mean


NONE = [0.71, 0.68, 0.61, 0.53, 0.45]
CONTROL = [0.83, 0.79, 0.69, 0.60, 0.51]


def test_a_gain_within_the_spread_is_not_significant_and_said_so():
    # the defence is better than the control on average at every upper budget, but by less than the
    # replicate spread: not significant, and the report must not claim it beats the control
    noisy = [[c + s for c in CONTROL] for s in (0.03, -0.025, 0.01)]
    control = [CONTROL, CONTROL, CONTROL]
    res = _results({"none": [NONE] * 3, "control": control, "adv": noisy})
    (rec,) = [r for r in res["hardening"] if r["defense"] == "adv"]
    gain = rec["gain_vs_control"]["attack"]
    assert gain["mean"] == pytest.approx(statistics.fmean([0.03, -0.025, 0.01]))
    assert gain["spread"] == pytest.approx(statistics.stdev([0.03, -0.025, 0.01]))
    assert gain["mean"] > 0 and gain["significant"] is False and rec["beats_control"] is False
    text = "\n".join(control_section(res))
    assert "**no defence beats the control** `control`" in text and "within the spread" in text
    assert "(n.s.)" in text and "sample standard deviation (ddof = 1) over replicates (3 replicates)" in text
    # gain over none (a second column) is large and significant
    assert rec["gain_vs_none"]["attack"]["mean"] == pytest.approx(
        statistics.fmean([c - n for c, n in zip(CONTROL, NONE, strict=True)][2:]) + gain["mean"])


def test_a_clear_gain_over_the_control_is_reported_with_its_clean_cost():
    better = [[c + 0.05 * (i / 4) - 0.02 + s for i, c in enumerate(CONTROL)] for s in (0.001, -0.001, 0.0)]
    res = _results({"none": [NONE] * 3, "control": [CONTROL] * 3, "adv": better})
    (rec,) = [r for r in res["hardening"] if r["defense"] == "adv"]
    assert rec["beats_control"] is True and rec["gain_vs_control"]["attack"]["significant"] is True
    assert rec["gain_vs_control"]["clean"]["mean"] == pytest.approx(-0.02)
    text = "\n".join(control_section(res))
    assert "`adv` (adversarial) beats its control `control` at every budget ε ≥ 1" in text
    assert "at a clean cost of -0.020" in text


def test_one_replicate_has_no_spread_and_says_so():
    res = _results({"none": [NONE], "control": [CONTROL], "noise": [[c - 0.01 for c in CONTROL]]})
    (rec,) = [r for r in res["hardening"] if r["defense"] == "noise"]
    assert rec["gain_vs_control"]["attack"]["spread"] is None and rec["beats_control"] is False
    text = "\n".join(control_section(res))
    assert "One replicate: no spread" in text and "**no defence beats the control**" in text
    deg = [r for r in res["robustness"] if r["defense"] == "control"][0]
    assert deg["degradation"] == pytest.approx([0.83 - v for v in CONTROL])


def test_replicate_seeds_keep_replicate_zero_and_differ_otherwise():
    assert replicate_seed(7, 0) == 7
    seeds = {replicate_seed(7, r) for r in range(1, 6)}
    assert len(seeds) == 5 and 7 not in seeds and all(0 <= s < 2**31 for s in seeds)
    assert replicate_seed(7, 3) == replicate_seed(7, 3) != replicate_seed(8, 3)


def test_tradeoff_has_one_point_per_receiver_with_replicate_error_bars(tmp_path):
    from semcom.report.tradeoff import tradeoff_figures, tradeoff_points

    adv = [[c + s for c in CONTROL] for s in (0.03, -0.025, 0.01)]
    res = _results({"none": [NONE] * 3, "control": [CONTROL] * 3, "adv": adv})
    attack, budget, by_link = tradeoff_points(res)
    assert attack == "pgd-untargeted" and budget == 1.0  # the middle of the sweep
    (points,) = by_link.values()
    by_defense = {p["defense"]: p for p in points}
    assert {d: p["kind"] for d, p in by_defense.items()} == {"none": "none", "control": "finetune",
                                                            "adv": "adversarial"}
    clean, attacked = by_defense["adv"]["ssim"]["clean"], by_defense["adv"]["ssim"]["attacked"]
    assert clean[0] == pytest.approx(CONTROL[0] + statistics.fmean([0.03, -0.025, 0.01]))
    assert attacked[1] == pytest.approx(statistics.stdev([0.03, -0.025, 0.01]))
    assert by_defense["none"]["ssim"]["attacked"] == (pytest.approx(NONE[2]), 0.0)
    assert tradeoff_figures(tmp_path, res) == ["figures/tradeoff_ideal.png"]
    assert (tmp_path / "figures" / "tradeoff_ideal.png").stat().st_size > 10_000
