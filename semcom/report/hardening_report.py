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
from semcom.study.results import Results

__all__ = ["certificate_section", "control_section", "fmt_stat"]


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


def _name(who: dict[str, str] | None, results: Results) -> str:
    """A compared receiver by its defence, or by its model where that is the unhardened receiver (kind ``none``)."""
    if who is None:
        return "–"
    return f"`{who['defense']}`" if not results.is_unhardened(who["defense"]) else f"`{who['model']}`"


def _receiver(r: dict[str, Any]) -> str:
    return f"`{r['defense']}`" if not r["kind"].startswith("algorithm1:") else f"`{r['model']}`"


def _sentence(metric: str, attack: str, rows: list[dict[str, Any]], symbol: str, results: Results) -> str:
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
        control = _name(best["control"], results)
        return (f"- **{name}**: {_receiver(best)} ({best['kind']}) beats its control {control} at "
                f"every budget {at}: {fmt_stat(g['attack'], digits)} on average there (at least "
                f"{fmt_stat(g['attack_min'], digits)}), {cost}{also}.")
    why = ("not at every upper budget" if not g["beats"] else "within the spread over replicates")
    return (f"- **{name}**: **no defence beats the control** {_name(best['control'], results)} under {attack}. "
            f"The best, {_receiver(best)} ({best['kind']}), gains {fmt_stat(g['attack'], digits)} over it "
            f"at {at} ({why}), {cost}.")


def control_section(grouped: Results) -> list[str]:
    """``## Receiver hardening against its control (headline)``; empty without a hardened receiver."""
    results = grouped.doc
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
    controls = sorted({_name(r["control"], grouped) for r in records if r["control"]})
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
            lines += [_sentence(metric, attack, group, symbol, grouped) for metric, group in by_metric.items()]
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
            control = _name(r["control"], grouped)
            lines.append(
                f"| {r['attack']} | {r['metric'].upper()} | {_receiver(r)} ({r['kind']}) | {control} | "
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


def certificate_section(results: dict[str, Any]) -> list[str]:
    """``## Certified vs empirical damage``: per certified receiver, the certificate table and, in words,
    how far the strongest attack found comes to the bound; empty without a certificate.

    A replicate's empirical damage above its certified worst case would be a
    broken certificate: each replicate is checked, not only their mean.
    """
    from semcom.defenses.certificate import certificate_table

    records = results.get("certificates") or []
    if not records:
        return []
    per_rep = (results.get("replicates") or {}).get("certificates") or records
    lines = ["## Certified vs empirical damage (smoothed receivers)", "",
             "The certificate bounds the damage of *every* perturbation with ‖δ‖₂ ≤ ε on the receiver's "
             "input, not only of the ones PGD finds (docs/design.md §7, \"Certificate\"); the empirical column "
             "is untargeted PGD with EOT through the smoothing noise. Certified MSE above empirical MSE (and "
             "certified PSNR below empirical PSNR) is what a sound certificate gives; the gap is what the "
             "bound leaves unproven.", ""]
    for rec in records:
        name = f"{rec['model']} · {rec['defense']} · {_where(rec['channel'], rec['snr_db'])} · {rec['attack']}"
        same = [r for r in per_rep if all(r.get(k) == rec[k] for k in ("model", "defense", "channel", "snr_db",
                                                                          "attack"))] or [rec]
        violated = sorted({row["eps"] for r in same for row in r["per_eps"]
                           if row.get("empirical_mse", -1.0) > row["certified_mse"] + 1e-9})
        rows = [row for row in rec["per_eps"] if row["eps"] > 0]
        lines += [f"### {name}", "", certificate_table(rec), ""]
        if violated:
            lines += [f"**The certificate is violated** at ε = {', '.join(f'{e:g}' for e in violated)}: "
                      "the attack found more damage than the bound allows — a bug to report.", ""]
        elif rows:
            useful = [row for row in rows if row["certified_mse"] < row["trivial_mse"]]
            top = max(useful, key=lambda row: row["eps"]) if useful else None
            words = (f"The bound holds at every ε in every replicate ({len(same)}). It is below the trivial bound "
                     f"(any output in [0, 1]) up to ε = {top['eps']:g}, where it guarantees PSNR ≥ "
                     f"{top['certified_psnr']:.2f} dB" if top else
                     f"The bound holds at every ε in every replicate ({len(same)}), but it is no better than the "
                     "trivial bound at any ε > 0 of the sweep (σ too small for these budgets)")
            emp = top.get("empirical_psnr") if top else None
            lines += [words + (f" against {emp:.2f} dB under the attack found." if emp is not None else "."), ""]
    return lines
