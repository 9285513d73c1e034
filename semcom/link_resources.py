"""What each link spends, and learned against digital links side by side (docs/design.md §7).

Comparisons between a learned and a digital link are at stated resources:
``channel_uses`` (complex symbols per image) and ``avg_power`` (mean ``|x|²``
of the clean transmitted symbols, measured on the test images) of every link.
They are recorded per grid point in the journal and gathered here into
results.json's ``links`` list and the report's "Links" table. When a scenario
has a digital link, one figure puts the DD-curves of all links over the same
physical channel and SNR side by side.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["link_records", "links_section", "side_by_side_figure"]

_KEYS = ("model", "defense", "channel", "snr_db")


def _physical(results: dict[str, Any]) -> dict[str, str]:
    """Channel label → the physical channel under it (a digital link's ``fading``, else its kind)."""
    out = {}
    for ch in results["scenario"]["channels"]:
        label = ch.get("label") or ch["kind"]
        out[label] = (ch.get("fading") or "awgn") if ch["kind"] == "digital" else ch["kind"]
    return out


def _kinds(results: dict[str, Any]) -> dict[str, str]:
    return {(ch.get("label") or ch["kind"]): ch["kind"] for ch in results["scenario"]["channels"]}


def link_records(entries: list[dict]) -> list[dict[str, Any]]:
    """One record per link (model, defense, channel, snr_db) with its ``channel_uses`` and ``avg_power``."""
    seen: dict[tuple, dict[str, Any]] = {}
    for e in entries:
        if e.get("channel_uses") is None:  # journals written before resources were recorded
            continue
        key = tuple(e[k] for k in _KEYS)
        seen.setdefault(key, {**dict(zip(_KEYS, key, strict=True)), "channel_uses": e["channel_uses"],
                              "avg_power": e["avg_power"]})
    return list(seen.values())


def links_section(results: dict[str, Any]) -> list[str]:
    """The report's table of channel uses and average power per link (empty without records)."""
    records = results.get("links") or []
    if not records:
        return []
    kinds, physical = _kinds(results), _physical(results)
    lines = ["## Links: channel uses and power", "",
             "Every link's resources per image: complex channel uses (symbols sent) and the average "
             "power of the clean transmitted symbols (`avg_power`, mean |x|², measured on the test "
             "images). A digital link's signal is its QAM symbols; in-transit perturbations and PSR "
             "budgets are there.", "",
             "| model | defense | channel | kind | physical channel | SNR [dB] | channel uses | avg power |",
             "|---|---|---|---|---|---|---|---|"]
    for r in records:
        snr = "—" if r["snr_db"] is None else f"{r['snr_db']:g}"
        lines.append(f"| {r['model']} | {r['defense']} | {r['channel']} | {kinds.get(r['channel'], '?')} | "
                     f"{physical.get(r['channel'], '?')} | {snr} | {r['channel_uses']:g} | {r['avg_power']:.3f} |")
    return lines + [""]


def side_by_side_figure(out: Path, results: dict[str, Any], metrics: list[str], xlabel: str) -> list[str]:
    """``figures/learned_vs_digital.png``: one row per (model, defense, physical channel, SNR), a line per
    (link, attack); drawn only when the scenario has a digital link."""
    from semcom.report.figures import plot_dd_curves

    kinds, physical = _kinds(results), _physical(results)
    if "digital" not in kinds.values():
        return []
    rows: dict[str, dict[str, tuple[list[float], dict[str, list[float]]]]] = defaultdict(dict)
    grouped: dict[tuple, list[dict]] = defaultdict(list)
    for p in results["points"]:
        grouped[tuple(p[k] for k in (*_KEYS, "attack"))].append(p)
    for (model, defense, channel, snr, attack), pts in grouped.items():
        at = "no noise" if snr is None else f"SNR {snr:g} dB"
        where = f"{model} · {defense} · {physical.get(channel, channel)} · {at}"
        rows[where][f"{channel}: {attack}"] = (
            [p["budget"] for p in pts], {m: [p["metrics"][m] for p in pts] for m in metrics})
    styles = {label: {"linestyle": "--"} for curves in rows.values() for label in curves
              if kinds.get(label.split(": ")[0]) == "digital"}
    name = "figures/learned_vs_digital.png"
    plot_dd_curves(dict(sorted(rows.items())), metrics, "Learned vs digital links (dashed: digital)",
                   out / name, xlabel=xlabel, styles=styles)
    return [name]
