"""Robustness that is not clean quality, and each hardened receiver's gain over its control.

For one receiver, link, attack and metric, over a budget sweep ``b₀ < … < b_N``
(docs/design.md §3, "The control"):

* **degradation** ``d(b) = m(b₀) − m(b)`` (sign-flipped for lower-is-better
  metrics, so positive is damage): what the attacker takes away;
* **degradation area**: the trapezoid area of ``d`` over the sweep divided by
  ``b_N − b₀`` (normalised like AADDC; lower is more robust);
* **threshold budget**: the least budget at which the metric is no better than
  a threshold (SSIM 0.5, …), linear between swept budgets; None when the sweep
  never gets there.

A hardened receiver's **gain** over a reference receiver (its control, or the
unhardened ``none``) at a budget is ``m_hardened(b) − m_ref(b)`` (sign-flipped
for lower-is-better metrics: positive is better). The headline is the gain
under attack over the *upper budgets* (those at or above the sweep's middle):
its mean and its minimum, beside the clean gain at ``b₀``. With replicates
every number is the mean ± the sample standard deviation of the per-replicate
numbers (a paired difference for the gains: replicate r of both receivers shares
its seed); a gain no larger than its spread is not significant.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from semcom.defenses.controls import comparisons
from semcom.study.replicates import mean_spread, points_per_replicate

__all__ = ["DEFAULT_THRESHOLDS", "degradation", "degradation_area", "threshold_budget", "upper_budgets",
           "significant", "robustness_table", "hardening_table"]

DEFAULT_THRESHOLDS = {"ssim": 0.5, "psnr": 15.0, "accuracy": 0.5, "lpips": 0.3}
"""The threshold budget's level per metric unless ``report.robustness_thresholds`` sets one."""

_LINK = ("channel", "snr_db")


def _sign(metric: str) -> float:
    from semcom.metrics.quality import get_metric

    return 1.0 if get_metric(metric).higher_is_better else -1.0


def degradation(values: list[float], *, sign: float = 1.0) -> list[float]:
    """``sign·(m(b₀) − m(b))`` per budget: the damage at each budget (0 at ``b₀``).

    >>> degradation([0.8, 0.7, 0.5])
    [0.0, 0.1, 0.3]
    """
    return [round(sign * (values[0] - v), 12) + 0.0 for v in values]


def degradation_area(budgets: list[float], values: list[float], *, sign: float = 1.0) -> float:
    """The trapezoid area of the degradation over the sweep per unit budget.

    >>> degradation_area([0.0, 1.0, 2.0], [0.8, 0.6, 0.4])
    0.2
    """
    d = degradation(values, sign=sign)
    area = sum((b1 - b0) * (d0 + d1) / 2 for b0, b1, d0, d1 in zip(budgets, budgets[1:], d, d[1:], strict=False))
    return round(area / (budgets[-1] - budgets[0]), 12)


def threshold_budget(budgets: list[float], values: list[float], level: float, *, sign: float = 1.0) -> float | None:
    """The least budget at which ``sign·m ≤ sign·level``, linear between budgets; None if never.

    >>> threshold_budget([0.0, 1.0, 2.0], [0.8, 0.6, 0.4], 0.5)
    1.5
    """
    worse = [sign * v <= sign * level for v in values]
    if worse[0]:
        return budgets[0]
    for i in range(1, len(values)):
        if worse[i]:
            v0, v1 = values[i - 1], values[i]
            return budgets[i - 1] + (level - v0) / (v1 - v0) * (budgets[i] - budgets[i - 1])
    return None


def upper_budgets(budgets: list[float]) -> list[int]:
    """Indices of the budgets at or above the middle of the sweep (the upper half)."""
    middle = (budgets[0] + budgets[-1]) / 2
    return [i for i, b in enumerate(budgets) if b >= middle - 1e-12]


def significant(mean: float, spread: float | None) -> bool | None:
    """Whether a gain exceeds its spread (None without a spread: one replicate)."""
    return None if spread is None else abs(mean) > spread


def _stat(values: list[float]) -> dict[str, Any]:
    mean, spread = mean_spread(values)
    return {"mean": mean, "spread": spread, "significant": significant(mean, spread)}


def _curves(results: dict[str, Any]) -> list[dict[tuple, tuple[list[float], list[dict]]]]:
    """Per replicate: ``{(model, defense, channel, snr_db, attack): (budgets, metrics per budget)}``."""
    out = []
    for points in points_per_replicate(results):
        curves: dict[tuple, tuple[list[float], list[dict]]] = defaultdict(lambda: ([], []))
        for p in points:
            budgets, metrics = curves[(p["model"], p["defense"], p["channel"], p["snr_db"], p["attack"])]
            budgets.append(p.get("budget", p["eps"]))
            metrics.append(p["metrics"])
        out.append(dict(curves))
    return out


def _metrics(results: dict[str, Any]) -> list[str]:
    unavailable = results.get("unavailable_metrics", {})
    return [m for m in results["scenario"]["metrics"] if m not in unavailable]


def _thresholds(results: dict[str, Any]) -> dict[str, float]:
    given = results["scenario"].get("report", {}).get("robustness_thresholds") or {}
    return {**DEFAULT_THRESHOLDS, **given}


def robustness_table(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per receiver × link × attack × metric: degradation per budget, its area and the threshold
    budget (each ``{"mean", "spread", ...}`` over replicates): results.json's ``robustness``."""
    reps = _curves(results)
    thresholds = _thresholds(results)
    records = []
    for key, (budgets, _) in reps[0].items():
        for metric in _metrics(results):
            sign = _sign(metric)
            curves = [[m[metric] for m in rep[key][1]] for rep in reps]
            per_budget = list(zip(*(degradation(c, sign=sign) for c in curves), strict=True))
            level = thresholds.get(metric)
            reached = [None if level is None else threshold_budget(budgets, c, level, sign=sign) for c in curves]
            hit = [b for b in reached if b is not None]
            records.append({
                **dict(zip(("model", "defense", "channel", "snr_db", "attack"), key, strict=True)), "metric": metric,
                "budgets": budgets,
                "degradation": [mean_spread(list(v))[0] for v in per_budget],
                "degradation_spread": [mean_spread(list(v))[1] for v in per_budget],
                "degradation_area": _stat([degradation_area(budgets, c, sign=sign) for c in curves]),
                "threshold": level,
                "threshold_budget": {**(_stat(hit) if hit else {"mean": None, "spread": None}),
                                     "reached": len(hit), "replicates": len(curves)},
            })
    return records


def _gains(reps: list[dict], mine: tuple, ref: tuple, metric: str, upper: list[int]) -> dict[str, Any] | None:
    """The gain of receiver ``mine`` over ``ref`` (both ``(model, defense)``) on one link and attack."""
    sign = _sign(metric)
    per_rep = []
    for rep in reps:
        if mine not in rep or ref not in rep:
            return None
        a = [m[metric] for m in rep[mine][1]]
        b = [m[metric] for m in rep[ref][1]]
        per_rep.append([sign * (x - y) for x, y in zip(a, b, strict=True)])
    budgets = reps[0][mine][0]
    per_budget = [_stat([g[i] for g in per_rep]) for i in range(len(budgets))]
    return {
        "attack": _stat([sum(g[i] for i in upper) / len(upper) for g in per_rep]),
        "attack_min": _stat([min(g[i] for i in upper) for g in per_rep]),
        "clean": _stat([g[0] for g in per_rep]),
        "per_budget": [{"budget": b, **s} for b, s in zip(budgets, per_budget, strict=True)],
        "beats": all(per_budget[i]["mean"] > 0 for i in upper),
    }


def hardening_table(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per hardened receiver × link × attack × metric: its gain over its control and over the
    unhardened receiver (results.json's ``hardening``). ``beats_control``: the mean gain is
    positive at every upper budget and (with replicates) its upper-budget mean is significant."""
    reps = _curves(results)
    links = list(dict.fromkeys((k[2], k[3]) for k in reps[0]))
    attacks = list(dict.fromkeys(k[4] for k in reps[0]))
    pairs = results.get("controls") or comparisons(results["scenario"])
    records = []
    for c in pairs:
        for channel, snr in links:
            for attack in attacks:
                def key(who, channel=channel, snr=snr, attack=attack):
                    return None if who is None else (who["model"], who["defense"], channel, snr, attack)

                mine = key(c["hardened"])
                if mine not in reps[0]:
                    continue
                budgets = reps[0][mine][0]
                upper = upper_budgets(budgets)
                for metric in _metrics(results):
                    vs_control = _gains(reps, mine, key(c["control"]), metric, upper) if c["control"] else None
                    vs_none = _gains(reps, mine, key(c["baseline"]), metric, upper) if c["baseline"] else None
                    beats = None
                    if vs_control is not None:
                        beats = vs_control["beats"] and vs_control["attack"]["significant"] is not False
                    records.append({
                        **c["hardened"], "kind": c["kind"], "control": c["control"], "baseline": c["baseline"],
                        "channel": channel, "snr_db": snr, "attack": attack, "metric": metric,
                        "upper_budgets": [budgets[i] for i in upper],
                        "gain_vs_control": vs_control, "gain_vs_none": vs_none, "beats_control": beats})
    return records
