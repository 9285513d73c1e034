"""The trade-off figure: clean quality against quality under attack, one point per receiver.

Per link, one panel per metric: x = the metric at the sweep's first budget
(clean), y = the metric under the scenario's untargeted PGD attack (else its
first attack that is not jamming) at a reference budget
(``report.reference_budget``, else the middle of the sweep; the nearest swept
value). One point per receiver — every defence and strength, ``none`` and the
control included — coloured by kind, labelled by its report name; error bars
are the sample standard deviation over replicates. Up and right is better
(for SSIM/PSNR/accuracy): the front a user picks an operating point from.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from semcom.study.replicates import mean_spread, points_per_replicate
from semcom.study.results import scenario_attacks, scenario_defenses

__all__ = ["reference_attack", "reference_budget", "tradeoff_points", "tradeoff_figures"]


def reference_attack(scenario: dict[str, Any]) -> str | None:
    """The name of the scenario's untargeted PGD attack, else of its first non-jamming attack."""
    attacks = scenario_attacks(scenario)
    for a in attacks:
        if a.kind == "pgd" and a.settings.get("target") is None:
            return a.name
    return next((a.name for a in attacks if not a.jamming), None)


def reference_budget(budgets: list[float], wanted: float | None) -> int:
    """Index of the swept budget nearest ``wanted`` (None: the middle of the sweep)."""
    target = (budgets[0] + budgets[-1]) / 2 if wanted is None else wanted
    return min(range(len(budgets)), key=lambda i: abs(budgets[i] - target))


def _kinds(scenario: dict[str, Any]) -> dict[tuple[str | None, str], str]:
    """``{(model or None, defence label): kind}``; Algorithm 1 models as ``algorithm1:<kind>``."""
    from semcom.defenses.controls import _label, _model_name

    kinds: dict[tuple[str | None, str], str] = {(None, _label(d)): d["kind"] for d in scenario["defenses"]}
    for m in scenario["models"]:
        if m.get("adversarial"):
            for d in scenario["defenses"]:
                if d["kind"] == "none":
                    kinds[(_model_name(m), _label(d))] = f"algorithm1:{m['adversarial']['kind']}"
    return kinds


def tradeoff_points(results: dict[str, Any]) -> tuple[str | None, float | None, dict[tuple, list[dict]]]:
    """``(attack, budget, {(channel, snr_db): [point]})``, a point per receiver with ``model``,
    ``defense``, ``kind`` and per metric ``clean``/``attacked`` as ``(mean, spread)``."""
    scenario = results["scenario"]
    attack = reference_attack(scenario)
    if attack is None:
        return None, None, {}
    unavailable = results.get("unavailable_metrics", {})
    metrics = [m for m in scenario["metrics"] if m not in unavailable]
    kinds = _kinds(scenario)
    curves: dict[tuple, list[list[dict]]] = defaultdict(list)
    for points in points_per_replicate(results):
        mine: dict[tuple, list[dict]] = defaultdict(list)
        for p in points:
            if p["attack"] == attack:
                mine[(p["channel"], p["snr_db"], p["model"], p["defense"])].append(p)
        for key, pts in mine.items():
            curves[key].append(pts)
    out: dict[tuple, list[dict]] = defaultdict(list)
    budget = None
    wanted = (scenario.get("report") or {}).get("reference_budget")
    for (channel, snr, model, defense), reps in curves.items():
        budgets = [p.get("budget", p["eps"]) for p in reps[0]]
        i = reference_budget(budgets, wanted)
        budget = budgets[i]
        kind = kinds.get((model, defense)) or kinds.get((None, defense), "?")
        out[(channel, snr)].append({
            "model": model, "defense": defense, "kind": kind,
            **{m: {"clean": mean_spread([r[0]["metrics"][m] for r in reps]),
                   "attacked": mean_spread([r[i]["metrics"][m] for r in reps])} for m in metrics}})
    return attack, budget, dict(out)


def tradeoff_figures(out: Path, results: dict[str, Any]) -> list[str]:
    """Draw ``figures/tradeoff_<link>.png`` per link with at least two receivers; their names."""
    from semcom.defenses.controls import comparisons
    from semcom.metrics.quality import get_metric
    from semcom.report.figures import _pyplot, _save

    if not (results.get("controls") or comparisons(results["scenario"])):
        return []  # no hardened receiver: nothing traded
    attack, budget, by_link = tradeoff_points(results)
    unavailable = results.get("unavailable_metrics", {})
    metrics = [m for m in results["scenario"]["metrics"] if m not in unavailable]
    symbol = "ε" if results.get("budget_axis", "eps") == "eps" else "PSR"
    unhardened = {d.name for d in scenario_defenses(results["scenario"]) if d.kind == "none"}
    names = []
    plt = _pyplot()
    for (channel, snr), receivers in by_link.items():
        if len(receivers) < 2:
            continue
        kinds = list(dict.fromkeys(r["kind"] for r in receivers))
        colours = {k: plt.get_cmap("tab10")(i % 10) for i, k in enumerate(kinds)}
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 4.0), squeeze=False)
        for ax, metric in zip(axes[0], metrics, strict=True):
            for kind in kinds:
                group = [r for r in receivers if r["kind"] == kind]
                xs = [r[metric]["clean"][0] for r in group]
                ys = [r[metric]["attacked"][0] for r in group]
                xerr = [r[metric]["clean"][1] or 0.0 for r in group]
                yerr = [r[metric]["attacked"][1] or 0.0 for r in group]
                marker = "s" if kind in ("none", "finetune") else "o"
                ax.errorbar(xs, ys, xerr=xerr, yerr=yerr, fmt=marker, color=colours[kind], label=kind,
                            capsize=2, markersize=6)
                for r, x, y in zip(group, xs, ys, strict=True):
                    text = r["defense"] if r["defense"] not in unhardened or r["kind"] == "none" else r["model"]
                    ax.annotate(text, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
            better = "" if get_metric(metric).higher_is_better else " (lower is better)"
            ax.set_xlabel(f"{metric.upper()} clean{better}")
            ax.set_ylabel(f"{metric.upper()} under {attack} at {symbol} = {budget:g}{better}")
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=7, title="kind", title_fontsize=7)
        reps = (results.get("replicates") or {}).get("count", 1)
        bars = f"error bars: sample std over {reps} replicates" if reps > 1 else "one replicate: no error bars"
        where = channel if snr is None else f"{channel} @ {snr:g} dB"
        fig.suptitle(f"Hardening trade-off · {where} · {bars}", fontsize=10)
        fig.tight_layout()
        name = "figures/tradeoff_" + re.sub(r"[^A-Za-z0-9_.-]+", "-", where) + ".png"
        _save(fig, out / name)
        names.append(name)
    return names
