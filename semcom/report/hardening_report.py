"""report.md's headline on hardening: each defence's gain over its control, in tables and in words.

Reads results.json's ``hardening`` and ``robustness`` records
(:mod:`semcom.metrics.robustness`; recomputed for a results.json written before them).
A gain is ``mean ± spread`` over replicates (the spread named once per section);
a gain no larger than its spread is marked "n.s." (not significant). Receivers
are matched by kind and settings (:func:`semcom.defenses.controls.comparisons`), never by label.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from semcom.metrics.robustness import hardening_table, robustness_table
from semcom.study.replicates import SPREAD

__all__ = ["control_section", "fmt_stat"]


def fmt_stat(s: dict[str, Any] | None, digits: int = 3, *, signed: bool = True) -> str:
    """``+0.012 ± 0.004``, with `` (n.s.)`` when not significant; ``–`` when absent."""
    if s is None or s.get("mean") is None:
        return "–"
    text = f"{s['mean']:+.{digits}f}" if signed else f"{s['mean']:.{digits}f}"
    if s.get("spread") is not None:
        text += f" ± {s['spread']:.{digits}f}"
    return text + (" (n.s.)" if s.get("significant") is False else "")


def _digits(metric: str) -> int:
    return 2 if metric == "psnr" else 3


def _where(channel: str, snr: float | None) -> str:
    return channel if snr is None else f"{channel} @ {snr:g} dB"


def _name(who: dict[str, str] | None) -> str:
    if who is None:
        return "–"
    return f"`{who['defense']}`" if who["defense"] != "none" else f"`{who['model']}`"


def _receiver(r: dict[str, Any]) -> str:
    return f"`{r['defense']}`" if not r["kind"].startswith("algorithm1:") else f"`{r['model']}`"


def _sentence(metric: str, attack: str, rows: list[dict[str, Any]], symbol: str) -> str:
    """What hardening bought over the control in one metric under one attack, in words."""
    name, digits = metric.upper(), _digits(metric)
    upper = rows[0]["upper_budgets"]
    at = f"{symbol} ≥ {upper[0]:g}"
    rows = [r for r in rows if r["gain_vs_control"] is not None]
    if not rows:
        return (f"- **{name}**: no control in this run (`auto_control: false`, or a run from before it): "
                "no gain over a control can be given.")
    winners = [r for r in rows if r["beats_control"]]
    best = max(winners or rows, key=lambda r: r["gain_vs_control"]["attack"]["mean"])
    g = best["gain_vs_control"]
    cost = (f"at a clean cost of {fmt_stat(g['clean'], digits)}" if g["clean"]["mean"] < 0
            else f"and {fmt_stat(g['clean'], digits)} clean")
    if winners:
        others = len(winners) - 1
        also = f" ({others} other defence(s) also beat the control)" if others else ""
        return (f"- **{name}**: {_receiver(best)} ({best['kind']}) beats its control {_name(best['control'])} at "
                f"every budget {at}: {fmt_stat(g['attack'], digits)} on average there (at least "
                f"{fmt_stat(g['attack_min'], digits)}), {cost}{also}.")
    why = ("not at every upper budget" if not g["beats"] else "within the spread over replicates")
    return (f"- **{name}**: **no defence beats the control** {_name(best['control'])} under {attack}. "
            f"The best, {_receiver(best)} ({best['kind']}), gains {fmt_stat(g['attack'], digits)} over it "
            f"at {at} ({why}), {cost}.")


def control_section(results: dict[str, Any]) -> list[str]:
    """``## Receiver hardening against its control (headline)``; empty without a hardened receiver."""
    records = results.get("hardening")
    if records is None:
        records = hardening_table(results)
    if not records:
        return []
    robust = results.get("robustness")
    if robust is None:
        robust = robustness_table(results)
    symbol = "ε" if results.get("budget_axis", "eps") == "eps" else "PSR"
    reps = (results.get("replicates") or {}).get("count", 1)
    thresholds = {r["metric"]: r["threshold"] for r in robust if r["threshold"] is not None}
    levels = ", ".join(f"{m.upper()} {v:g}" for m, v in thresholds.items()) or "a threshold (none set)"
    controls = sorted({_name(r["control"]) for r in records if r["control"]})
    spread = (f"Values are the mean ± the {SPREAD} ({reps} replicates); **n.s.** = not significant "
              "(the gain is no larger than its spread)." if reps > 1 else
              "One replicate: no spread over seeds is available, so no gain here is shown to be "
              "significant (set `replicates: 3` or more).")
    lines = [
        "## Receiver hardening against its control (headline)", "",
        f"The control {', '.join(controls) or '(none in this run)'} is the same receiver fine-tuning — same "
        "data, epochs, optimizer steps, learning rate, channel in the loop — with no perturbation "
        "(`kind: finetune`, docs/design.md §3): fine-tuning alone improves a receiver, so a defence "
        "has only bought what it adds over its control. Gain = metric of the hardened receiver − "
        "metric of the reference (sign-flipped for MSE/LPIPS: positive is better), under attack "
        f"averaged over the upper budgets (the upper half of the sweep; *min* = the smallest gain "
        f"there) and clean (at the first budget). Degradation = metric at the first budget − metric "
        f"at {symbol} (what the attacker takes away); its area is normalised like AADDC (lower is "
        f"more robust). Threshold budget = the least {symbol} at which the metric is no better than "
        f"{levels} (linear between swept budgets; `> sweep`: never). {spread}", "",
    ]
    area = {(r["model"], r["defense"], r["channel"], r["snr_db"], r["attack"], r["metric"]): r for r in robust}
    by_link: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        by_link[(r["channel"], r["snr_db"])].append(r)
    for (channel, snr), rows in by_link.items():
        lines += [f"### {_where(channel, snr)}", "", "In words:", ""]
        by_attack: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            by_attack[r["attack"]][r["metric"]].append(r)
        for attack, by_metric in by_attack.items():
            lines += [f"Under **{attack}**:", ""]
            lines += [_sentence(metric, attack, group, symbol) for metric, group in by_metric.items()]
            lines.append("")
        lines += ["| attack | metric | receiver (kind) | control | gain over control under attack (mean; min) "
                  "| clean gain over control | gain over `none` under attack | clean gain over `none` "
                  "| degradation area: receiver / control | threshold budget: receiver / control |",
                  "|---" * 10 + "|"]
        for r in rows:
            d = _digits(r["metric"])
            gc, gn = r["gain_vs_control"] or {}, r["gain_vs_none"] or {}
            mine = area.get((r["model"], r["defense"], channel, snr, r["attack"], r["metric"]), {})
            ctrl = r["control"] or {}
            theirs = area.get((ctrl.get("model"), ctrl.get("defense"), channel, snr, r["attack"], r["metric"]), {})
            level = mine.get("threshold")
            lines.append(
                f"| {r['attack']} | {r['metric'].upper()} | {_receiver(r)} ({r['kind']}) | {_name(r['control'])} | "
                f"{fmt_stat(gc.get('attack'), d)}; {fmt_stat(gc.get('attack_min'), d)} | "
                f"{fmt_stat(gc.get('clean'), d)} | {fmt_stat(gn.get('attack'), d)} | {fmt_stat(gn.get('clean'), d)} | "
                f"{fmt_stat(mine.get('degradation_area'), d, signed=False)} / "
                f"{fmt_stat(theirs.get('degradation_area'), d, signed=False)} | "
                f"{_threshold(mine, level, symbol)} / {_threshold(theirs, level, symbol)} |")
        lines.append("")
    return lines


def _threshold(record: dict[str, Any], level: float | None, symbol: str) -> str:
    """``1.23 ± 0.05`` (the budget at which the metric reaches ``level``), or ``> sweep``."""
    t = record.get("threshold_budget")
    if level is None or t is None:
        return "–"
    if not t["reached"]:
        return "> sweep"
    text = fmt_stat(t, 2, signed=False).replace(" (n.s.)", "")
    if t["reached"] < t["replicates"]:
        text += f" ({t['reached']}/{t['replicates']} reached)"
    return text
