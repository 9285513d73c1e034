"""The equal-damage power gap: exact on shifted curves, honest bounds outside the sweep."""

import doctest

import numpy as np
import pytest

import semcom.report.gap
from semcom.report.gap import equal_damage_gaps, equal_damage_table, format_gap, headline

JAM_DB = np.arange(-30.0, 0.5, 1.0).tolist()


def _ssim_like(db):
    """A smooth decreasing damage curve of the power [dB] (SSIM-like, in (0, 1))."""
    return 1 / (1 + np.exp((np.asarray(db) + 12) / 4))


@pytest.mark.parametrize("shift", [3.0, 7.5, 12.0])
def test_a_curve_shifted_by_x_db_has_a_gap_of_x_db(shift):
    """An attack doing at P dB what jamming does at P + x dB has gap x (up to interpolation)."""
    jam = [(x, float(_ssim_like(x))) for x in JAM_DB]
    attack_db = [-30.0, -27.0, -22.0, -18.0]
    attack = [(x, float(_ssim_like(x + shift))) for x in attack_db]
    gaps = equal_damage_gaps(attack, jam, higher_is_better=True)
    assert [g.relation for g in gaps] == ["="] * 4
    # the oracle: numpy's linear interpolation of the (decreasing) jamming curve, inverted
    oracle = np.interp([m for _, m in attack], [m for _, m in jam][::-1], JAM_DB[::-1])
    np.testing.assert_allclose([g.jamming_psr_db for g in gaps], oracle, rtol=1e-9)
    np.testing.assert_allclose([g.gap_db for g in gaps], oracle - np.array(attack_db), rtol=1e-9)
    # and the interpolation on a 1 dB grid recovers the true shift closely
    np.testing.assert_allclose([g.gap_db for g in gaps], shift, atol=0.2)
    assert headline(gaps)[0] == "=" and headline(gaps)[1] == pytest.approx(shift, abs=0.2)


def test_lower_is_better_metrics_mirror_higher_is_better_ones():
    jam = [(x, float(_ssim_like(x))) for x in JAM_DB]
    attack = [(-25.0, float(_ssim_like(-20.0)))]
    up = equal_damage_gaps(attack, jam, higher_is_better=True)
    down = equal_damage_gaps(
        [(x, 1 - m) for x, m in attack], [(x, 1 - m) for x, m in jam], higher_is_better=False
    )
    assert up[0].gap_db == pytest.approx(5.0) and down[0].gap_db == pytest.approx(5.0)


def test_damage_beyond_the_sweep_gives_bounds_and_the_headline_says_so():
    jam = [(-20.0, 0.9), (-10.0, 0.8), (0.0, 0.6)]
    beyond = equal_damage_gaps([(-20.0, 0.3), (-10.0, 0.1)], jam, higher_is_better=True)
    assert [(g.relation, g.gap_db, g.jamming_psr_db) for g in beyond] == [
        (">", 20.0, None),
        (">", 10.0, None),
    ]
    assert headline(beyond) == (">", 20.0)
    below = equal_damage_gaps([(-20.0, 0.95), (-10.0, 0.9)], jam, higher_is_better=True)
    assert [(g.relation, g.gap_db) for g in below] == [("<", 0.0), ("<", -10.0)]
    assert headline(below) == ("<", -10.0)
    assert format_gap(">", 20.0) == "> 20.0 dB" and format_gap("=", 3.14) == "3.1 dB"


def test_points_without_a_psr_and_an_empty_jamming_curve_are_skipped():
    assert (
        equal_damage_gaps([(None, 0.9), (-10.0, 0.5)], [(None, 0.9)], higher_is_better=True) == []
    )
    gaps = equal_damage_gaps(
        [(None, 0.9), (-10.0, 0.5)], [(None, 0.9), (-10.0, 0.8), (0.0, 0.4)], higher_is_better=True
    )
    assert len(gaps) == 1 and gaps[0].gap_db == pytest.approx(7.5)
    assert headline([]) is None


def _points(attack, budgets, ssim, psr=None):
    head = {"model": "m", "defense": "none", "channel": "awgn", "snr_db": 10.0, "attack": attack}
    return [
        {
            **head,
            "budget": b,
            "eps": 1.0,
            "psr_db": b if psr is None else psr[i],
            "metrics": {"ssim": s, "mse": 0.0},
        }
        for i, (b, s) in enumerate(zip(budgets, ssim, strict=True))
    ]


def test_the_results_table_uses_psr_budgets_or_measured_psrs():
    budgets = [-20.0, -10.0, 0.0]
    points = _points("gaussian", budgets, [0.9, 0.8, 0.6]) + _points(
        "pgd", budgets, [0.8, 0.6, 0.2]
    )
    (record,) = equal_damage_table(points, "gaussian", ["ssim", "mse"], budget_axis="psr_db")
    assert (
        record["attack"] == "pgd"
        and record["metric"] == "ssim"
        and record["reference"] == "gaussian"
    )
    assert [p["budget"] for p in record["points"]] == budgets
    assert [p["relation"] for p in record["points"]] == ["=", "=", ">"]
    assert record["relation"] == "=" and record["gap_db"] == pytest.approx(10.0)
    # an ε sweep: the clean point has no PSR; the measured PSRs place the curves
    eps_points = _points(
        "gaussian", [0.0, 1.0, 2.0], [1.0, 0.9, 0.8], psr=[None, -20.0, -14.0]
    ) + _points("pgd", [0.0, 1.0, 2.0], [1.0, 0.8, 0.5], psr=[None, -20.0, -14.0])
    (record,) = equal_damage_table(eps_points, "gaussian", ["ssim"], budget_axis="eps")
    assert [p["budget"] for p in record["points"]] == [1.0, 2.0]
    assert record["points"][0]["gap_db"] == pytest.approx(6.0)
    assert equal_damage_table(points, "gaussian", ["psnr"], budget_axis="psr_db") == []


def test_docstring_examples_run():
    assert doctest.testmod(semcom.report.gap).failed == 0
