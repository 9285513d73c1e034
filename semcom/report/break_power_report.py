"""The report's leading section: break power per attack and its power advantage over jamming.

Rebuilt from results.json's ``break_power`` records (docs/design.md §7,
:func:`semcom.attacks.break_power.break_power_records`): one sentence in words per
undefended link, then one table of every record.
"""

from __future__ import annotations

from typing import Any

from semcom.report.gap import LINK_KEYS

__all__ = ["break_power_section", "criterion"]

DIGITS = ("mnist", "mnist-embedded")
"""Data sets whose images the report's sentence calls digits."""


def criterion(metric: str, threshold: float) -> str:
    """``"SSIM ≤ 0.5"``, ``"PSNR ≤ 15 dB"``, ``"misclassified"``, ``"MSE ≥ 0.1"``: when an image is broken."""
    from semcom.metrics.quality import get_metric

    if metric == "accuracy" and threshold == 0:
        return "misclassified"
    m = get_metric(metric)
    unit = f" {m.unit}" if m.unit else ""
    return f"{metric.upper()} {'≤' if m.higher_is_better else '≥'} {threshold:g}{unit}"


def _db(value: float | None, top: float) -> str:
    return f"> {top:g}" if value is None else f"{value:.1f}"


def _advantage(r: dict[str, Any]) -> str:
    if r.get("power_advantage_db") is None:
        return "–"
    rel = r["power_advantage_relation"]
    return f"{'' if rel == '=' else rel + ' '}{r['power_advantage_db'] + 0.0:.1f} dB"


def _link(r: dict[str, Any]) -> str:
    where = r["channel"] if r["snr_db"] is None else f"{r['channel']} @ {r['snr_db']:g} dB"
    return f"{r['model']} ({r['defense']}) · {where}"


def _sentence(records: list[dict[str, Any]], jamming: str | None, noun: str) -> str | None:
    """E.g. "On m (none) · ideal, pgd-untargeted breaks half the digits (SSIM ≤ 0.5) at −18.2 dB PSR …"."""
    attacks = [r for r in records if r["attack"] != jamming]
    if not attacks:
        return None
    first = next((r for r in attacks if r["attack"] == "pgd-untargeted"), attacks[0])
    top = first["range_db"][1]
    broken_when = criterion(first["metric"], first["threshold"])
    words = f"On {_link(first)}, {first['attack']} breaks half the {noun} ({broken_when})"
    if first["median_psr_db"] is None:
        words += f" only above {top:g} dB PSR (not within the search range)"
    else:
        words += f" at {first['median_psr_db']:.1f} dB PSR"
        if first.get("median_eps") is not None:
            words += f" (ε = {first['median_eps']:.2f})"
    jam = next((r for r in records if r["attack"] == jamming and r["metric"] == first["metric"]
                and r["threshold"] == first["threshold"]), None)
    if jam is not None:
        need = f"{jam['median_psr_db']:.1f} dB" if jam["median_psr_db"] is not None else f"more than {top:g} dB"
        words += f"; Gaussian jamming needs {need}"
        if first.get("power_advantage_db") is not None:
            words += f": a power advantage of {_advantage(first)}"
    return words + "."


def break_power_section(results: dict[str, Any]) -> list[str]:
    """Markdown lines of the break-power headline (empty for a run without records)."""
    records = results.get("break_power") or []
    sc = results["scenario"]
    if not records:
        return []
    axis = results.get("budget_axis", "eps")
    jams = [a.get("label") or "gaussian" for a in sc["adversary"]["attacks"] if a["kind"] == "gaussian"]
    jamming = jams[0] if jams else None
    low, high = records[0]["range_db"]
    skipped = [a.get("label") or f"universal-{a.get('target') or 'untargeted'}"
               for a in sc["adversary"]["attacks"] if a["kind"] == "universal"]
    noun = "digits" if sc["data"]["name"] in DIGITS else "images"
    lines = ["## Break power (headline)", ""]
    by_link: dict[tuple, list[dict[str, Any]]] = {}
    for r in records:
        by_link.setdefault(tuple(r[k] for k in LINK_KEYS), []).append(r)
    for link, recs in by_link.items():
        if link[1] == "none" and (sentence := _sentence(recs, jamming, noun)):
            lines.append(f"- {sentence}")
    lines += [
        "",
        "Per test image, the least budget at which the attack breaks it, found by bisection on a per-image "
        f"budget in [{low:g}, {high:g}] dB PSR to within {records[0]['tolerance_db']:g} dB (the least breaking "
        "budget on the bisection path; PGD's damage is not exactly monotone in the budget). Of the "
        f"{records[0]['images'] + records[0]['broken_clean']} test images per point, median and quartiles over "
        "those the unattacked link carries intact (`intact images`; the others are left out); `> X`: that share "
        "is not broken within the range. Power advantage = jamming's median − the attack's."
        + (" On this ε axis the PSR is the budget's, ε_b = ‖z_b‖·10^(PSR/20)." if axis == "eps" else ""),
        "",
    ]
    if skipped:
        lines += [f"Skipped: {', '.join(skipped)} (one δ_u serves every image: no per-image budget).", ""]
    eps_col = axis == "eps"
    head = ["link", "attack", "broken when", "median PSR [dB]", "quartiles [dB]"]
    head += ["median ε"] if eps_col else []
    head += ["broken within range", "intact images", "advantage over jamming"]
    lines += ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for r in records:
        row = [_link(r), r["attack"], criterion(r["metric"], r["threshold"]), _db(r["median_psr_db"], high),
               f"{_db(r['q25_psr_db'], high)} … {_db(r['q75_psr_db'], high)}"]
        if eps_col:
            row.append("–" if r.get("median_eps") is None else f"{r['median_eps']:.3f}")
        share = "–" if r["broken_share"] is None else f"{100 * r['broken_share']:.0f} %"
        row += [share, str(r["images"]), _advantage(r)]
        lines.append("| " + " | ".join(row) + " |")
    return lines + [""]
