"""Run outputs: results.json / results.csv, report.md and figures.

Everything here is rebuilt from ``results.json`` and the per-point image
samples, so ``semcom report RUN_DIR`` can redraw a finished run.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from semcom.link_resources import links_section, side_by_side_figure
from semcom.report.break_power_report import break_power_section
from semcom.report.figures import plot_dd_curves, plot_image_grid
from semcom.report.gap import GAP_METRICS, LINK_KEYS, equal_damage_table, format_gap, points_by_link
from semcom.report.hardening_report import control_section
from semcom.report.snr_figure import snr_figures, training_section
from semcom.report.tradeoff import tradeoff_figures
from semcom.study.store import atomic_write_text, config_key

__all__ = ["write_outputs", "render_report", "GAUSSIAN", "UNTARGETED"]

GAUSSIAN = "gaussian"
UNTARGETED = "pgd-untargeted"
AXIS_LABELS = {"eps": ("ε", "budget ε (latent units)"), "psr_db": ("PSR", "PSR budget [dB]")}


def _axis(results: dict[str, Any]) -> str:
    """The budget axis, ``"eps"`` or ``"psr_db"`` (runs before the PSR axis: ``"eps"``)."""
    return results.get("budget_axis", "eps")


def _budget(p: dict[str, Any]) -> float:
    """A point's value on the budget axis."""
    return p.get("budget", p["eps"])


def _link_label(link: tuple) -> str:
    model, defense, channel, snr = link
    where = channel if snr is None else f"{channel} @ {snr:g} dB"
    return f"{model} ({defense}) · {where}"


def _slug(link: tuple) -> str:
    text = "_".join(f"{v:g}dB" if isinstance(v, float) else str(v) for v in link if v is not None)
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)


def _csv(results: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*LINK_KEYS, "attack", "eps", "psr_db", "metric", "reference", "value",
                     "budget"])
    for p in results["points"]:
        head = [p[k] for k in LINK_KEYS] + [p["attack"], p["eps"], p["psr_db"]]
        for reference, key in (("input", "metrics"), ("clean", "metrics_vs_clean")):
            for metric, value in p[key].items():
                writer.writerow([*head, metric, reference, value, _budget(p)])
    return buf.getvalue()


def _fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _replicates_note(results: dict[str, Any]) -> str:
    reps = results.get("replicates")
    return "" if not reps else (f" Mean ± {reps['spread']} ({reps['count']} replicates); the other tables "
                                "show the mean over replicates unless they give a ± themselves.")


def _fmt_spread(entry: dict[str, Any], digits: int) -> str:
    """An AADDC value, with `` ± spread`` over replicates where the run has them (§7)."""
    spread = entry.get("spread")
    return _fmt(entry["value"], digits) + ("" if spread is None else f" ± {spread:.{digits}f}")


def _computed_metrics(results: dict[str, Any]) -> list[str]:
    """The scenario's metrics less those unavailable on the machine that ran it."""
    unavailable = results.get("unavailable_metrics", {})
    return [m for m in results["scenario"]["metrics"] if m not in unavailable]


def _unavailable_section(results: dict[str, Any]) -> list[str]:
    unavailable = results.get("unavailable_metrics", {})
    if not unavailable:
        return []
    lines = ["## Unavailable metrics", "",
             "Asked for by the scenario but not computed on the machine that ran it "
             "(never computed on substitute weights):", ""]
    lines += [f"- **{name.upper()}**: {reason}" for name, reason in unavailable.items()]
    return lines + [""]


def render_report(results: dict[str, Any], figures: list[str]) -> str:
    """The Markdown report of a run."""
    sc = results["scenario"]
    metrics = _computed_metrics(results)
    lines = [f"# semcom report: {sc['name']}", ""]
    if sc.get("description"):
        lines += [sc["description"].strip(), ""]
    adv = sc["adversary"]
    axis = _axis(results)
    sweep = adv.get(axis)
    symbol = AXIS_LABELS[axis][0]
    lines += [
        f"Data: `{sc['data']['name']}` · seed {sc['seed']} · budget norm {adv['norm']} · "
        f"budget axis {symbol} · placement {adv.get('placement', 'in_transit')} "
        f"(ε in latent units; PSR = 10·log10(‖δ‖²/‖s‖²) on the transmitted symbols)",
        "",
        *_unavailable_section(results),
    ]
    lines += break_power_section(results)
    lines += links_section(results)
    lines += _equal_damage_section(results)
    lines += [
        "## AADDC (higher = more robust)",
        "",
        "Area between each DD-curve (metric against the input image) and the baseline, "
        f"per unit of {symbol} (trapezoid rule)." + _replicates_note(results),
        "",
    ]
    areas: dict[tuple, dict[str, dict[str, dict]]] = defaultdict(lambda: defaultdict(dict))
    for a in results["aaddc"]:
        areas[tuple(a[k] for k in LINK_KEYS)][a["attack"]][a["metric"]] = a
    for link, by_attack in areas.items():
        first = next(iter(by_attack.values()))
        header = " | ".join(f"{m.upper()} (b = {first[m]['baseline']:g})" for m in metrics)
        lines += [f"### {_link_label(link)}", "", f"| attack | {header} |",
                  "|---" * (len(metrics) + 1) + "|"]
        for attack, row in by_attack.items():
            lines.append(f"| {attack} | " + " | ".join(_fmt_spread(row[m], 4) for m in metrics) + " |")
        lines.append("")
    lines += control_section(results)
    lines += _hardening_section(results, metrics)
    lines += _gap_section(results, metrics)
    lines += training_section(results)
    if not isinstance(sweep, list):
        lines += [f"{symbol} sweep: {sweep}", ""]
    if figures:
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
    return "\n".join(lines)


def _hardening_section(results: dict[str, Any], metrics: list[str]) -> list[str]:
    """AADDC before/after hardening, the gain, and the clean cost (metric at ε₀) per defence."""
    area = {tuple(a[k] for k in (*LINK_KEYS, "attack", "metric")): a["value"] for a in results["aaddc"]}
    first: dict[tuple, dict] = {}
    for p in results["points"]:
        first.setdefault(tuple(p[k] for k in (*LINK_KEYS, "attack")), p)
    defenses = list(dict.fromkeys(p["defense"] for p in results["points"]))
    if "none" not in defenses or len(defenses) < 2:
        return []
    first_budget = f"{AXIS_LABELS[_axis(results)][0]} = {_budget(results['points'][0]):g}"
    lines = ["## Receiver hardening", "",
             f"AADDC of the unhardened receiver (`none`) and each hardened one, the gain (after − before), "
             f"and the clean cost: the metric at {first_budget} before → after "
             "(what hardening costs when nobody attacks). Higher AADDC = more robust.", ""]
    links = list(dict.fromkeys((p["model"], p["channel"], p["snr_db"]) for p in results["points"]))
    attacks = list(dict.fromkeys(p["attack"] for p in results["points"]))
    for model, channel, snr in links:
        where = channel if snr is None else f"{channel} @ {snr:g} dB"
        lines += [f"### {model} · {where}", "",
                  "| attack | metric | defence | AADDC before | AADDC after | gain | clean before → after |",
                  "|---|---|---|---|---|---|---|"]
        for attack in attacks:
            for metric in metrics:
                base = (model, "none", channel, snr, attack)
                before = area.get((*base, metric))
                for d in defenses:
                    if d == "none" or before is None:
                        continue
                    hard = (model, d, channel, snr, attack)
                    after = area.get((*hard, metric))
                    if after is None:
                        continue
                    c0, c1 = first[base]["metrics"][metric], first[hard]["metrics"][metric]
                    lines.append(f"| {attack} | {metric.upper()} | {d} | {before:.4f} | {after:.4f} | "
                                 f"{after - before:+.4f} | {c0:.3f} → {c1:.3f} ({c1 - c0:+.3f}) |")
        lines.append("")
    return lines


def _gap_section(results: dict[str, Any], metrics: list[str]) -> list[str]:
    """Per ε, how much more damage untargeted PGD does than Gaussian jamming of equal energy."""
    lines = ["## Attack vs. equal-energy Gaussian jamming", ""]
    have_psnr, have_ssim = "psnr" in metrics, "ssim" in metrics
    if not (have_psnr or have_ssim):
        return []
    symbol = AXIS_LABELS[_axis(results)][0]
    lines += ["Gap = metric under Gaussian jamming − metric under untargeted PGD, at the same "
              f"{symbol} (positive: the attacker does more damage than noise of the same energy).",
              ""]
    found = False
    for link, by_attack in points_by_link(results["points"]).items():
        if UNTARGETED not in by_attack or GAUSSIAN not in by_attack:
            continue
        found = True
        cols = ["ε" if symbol == "ε" else "PSR budget [dB]", "PSR [dB]"]
        if have_psnr:
            cols += ["PSNR PGD [dB]", "PSNR jam [dB]", "PSNR gap [dB]"]
        if have_ssim:
            cols += ["SSIM PGD", "SSIM jam", "SSIM gap"]
        lines += [f"### {_link_label(link)}", "", "| " + " | ".join(cols) + " |", "|---" * len(cols) + "|"]
        for pgd, jam in zip(by_attack[UNTARGETED], by_attack[GAUSSIAN], strict=True):
            row = [f"{_budget(pgd):g}", _fmt(pgd["psr_db"], 1)]
            if have_psnr:
                a, b = pgd["metrics"]["psnr"], jam["metrics"]["psnr"]
                row += [_fmt(a, 2), _fmt(b, 2), _fmt(b - a, 2)]
            if have_ssim:
                a, b = pgd["metrics"]["ssim"], jam["metrics"]["ssim"]
                row += [_fmt(a), _fmt(b), _fmt(b - a)]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    if not found:
        lines += [f"(needs both a `{UNTARGETED}` and a `{GAUSSIAN}` attack in the scenario)", ""]
    return lines


def _equal_damage_section(results: dict[str, Any]) -> list[str]:
    """The headline: per attack, how many dB more power Gaussian jamming needs for its damage."""
    metrics = [m for m in GAP_METRICS if m in results["scenario"]["metrics"]]
    if not metrics:
        return []
    gaps = results.get("equal_damage_gaps")
    if gaps is None:  # a results.json written before the gap existed
        jams = [a.get("label") or "gaussian" for a in results["scenario"]["adversary"]["attacks"]
                if a["kind"] == GAUSSIAN]
        gaps = (equal_damage_table(results["points"], jams[0], metrics, budget_axis=_axis(results))
                if jams else [])
    lines = ["## Equal-damage power gap to Gaussian jamming (headline)", ""]
    if not gaps:
        return lines + [f"(needs a `{GAUSSIAN}` attack in the scenario)", ""]
    power = "its PSR budget" if _axis(results) == "psr_db" else "its measured mean PSR"
    symbol = AXIS_LABELS[_axis(results)][0]
    lines += [
        "How many dB more power Gaussian jamming needs to do the same damage (the same "
        f"{' / '.join(m.upper() for m in metrics)} loss) as the attack at {power}: the "
        "jamming DD-curve is interpolated linearly in dB. `> X dB`: jamming never does that much "
        "damage within the sweep; `< X dB`: jamming at the sweep's smallest power already does. "
        "Headline = the median of the exact gaps over the budgets (else the tightest bound).",
        "",
    ]
    by_link: dict[tuple, list[dict]] = defaultdict(list)
    for g in gaps:
        by_link[tuple(g[k] for k in LINK_KEYS)].append(g)
    for link, records in by_link.items():
        budgets = sorted({p["budget"] for g in records for p in g["points"]})
        lines += [f"### {_link_label(link)}", "",
                  "| attack | metric | headline gap | "
                  + " | ".join(f"at {symbol} = {b:g}" for b in budgets) + " |",
                  "|---" * (3 + len(budgets)) + "|"]
        for g in records:
            at = {p["budget"]: format_gap(p["relation"], p["gap_db"]) for p in g["points"]}
            cells = [at.get(b, "–") for b in budgets]
            top = format_gap(g["relation"], g["gap_db"])
            lines.append(f"| {g['attack']} | {g['metric'].upper()} | **{top}** | "
                         + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _grid_eps_indices(eps: list[float], wanted: list[float] | None, axis: str = "eps") -> list[int]:
    if wanted:
        return [int(np.argmin([abs(e - w) for e in eps])) for w in wanted]
    nonzero = [i for i, e in enumerate(eps) if e > 0 or axis == "psr_db"]
    picks = np.linspace(0, len(nonzero) - 1, num=min(3, len(nonzero))).round().astype(int)
    return [nonzero[i] for i in sorted(set(picks.tolist()))]


def _figures(out: Path, results: dict[str, Any], inputs: np.ndarray) -> list[str]:
    from semcom.report.latent_report import latent_figures

    sc = results["scenario"]
    metrics = _computed_metrics(results)
    axis = _axis(results)
    symbol, xlabel = AXIS_LABELS[axis]
    names = []
    for link, by_attack in points_by_link(results["points"]).items():
        slug = _slug(link)
        curves = {
            attack: ([_budget(p) for p in pts],
                     {m: [p["metrics"][m] for p in pts] for m in metrics})
            for attack, pts in by_attack.items()
        }
        dd = f"figures/dd_{slug}.png"
        plot_dd_curves({"": curves}, metrics, f"DD-curves (vs input) · {_link_label(link)}", out / dd,
                       xlabel=xlabel, styles={GAUSSIAN: {"linestyle": "--", "color": "grey"}})
        rows: list[tuple[str, np.ndarray]] = []
        for attack, pts in by_attack.items():
            labels = dict(zip(LINK_KEYS, link, strict=True)) | {"attack": attack}
            samples = np.load(out / "samples" / f"{config_key(labels)}.npy", allow_pickle=False)
            eps = [_budget(p) for p in pts]
            if not rows and axis == "eps" and eps[0] == 0:
                rows.append(("clean recon.", samples[0]))
            for i in _grid_eps_indices(eps, sc["report"]["grid_eps"], axis):
                rows.append((f"{attack}\n{symbol}={eps[i]:g}", samples[i]))
        grid = f"figures/grid_{slug}.png"
        plot_image_grid(inputs, rows, f"Reconstructions under attack · {_link_label(link)}", out / grid)
        names += [dd, grid]
    names += side_by_side_figure(out, results, metrics, xlabel)
    names += _hardening_figures(out, results)
    names += tradeoff_figures(out, results)
    names += snr_figures(out, results)
    wanted = sc["report"]["grid_eps"]
    names += latent_figures(out, results, pick_eps=lambda eps: _grid_eps_indices(eps, wanted),
                            label=_link_label, slug=_slug, tsne=sc["report"].get("tsne", False))
    return names


def _hardening_figures(out: Path, results: dict[str, Any]) -> list[str]:
    """Per link: DD-curves of every defence overlaid, one row per attack."""
    metrics = _computed_metrics(results)
    by_link: dict[tuple, dict[str, dict[str, tuple]]] = defaultdict(lambda: defaultdict(dict))
    for (model, defense, channel, snr), by_attack in points_by_link(results["points"]).items():
        for attack, pts in by_attack.items():
            by_link[(model, channel, snr)][attack][defense] = (
                [_budget(p) for p in pts], {m: [p["metrics"][m] for p in pts] for m in metrics})
    names = []
    for (model, channel, snr), rows in by_link.items():
        if len(next(iter(rows.values()))) < 2:
            continue
        where = channel if snr is None else f"{channel} @ {snr:g} dB"
        name = f"figures/hardening_{_slug((model, channel, snr))}.png"
        plot_dd_curves(dict(rows), metrics, f"Baseline vs hardened receivers · {model} · {where}", out / name,
                       xlabel=AXIS_LABELS[_axis(results)][1],
                       styles={"none": {"color": "black", "linewidth": 2}})
        names.append(name)
    return names


def write_outputs(out: Path, results: dict[str, Any], inputs: np.ndarray) -> None:
    """Write results.json, results.csv, the figures and report.md into ``out``.

    ``results.json`` goes last: its presence marks a finished run. Each file is written atomically
    and, if one fails, the others are removed again (:func:`semcom.study.run_files.complete_set_or_none`).
    """
    from semcom.study.run_files import complete_set_or_none

    with complete_set_or_none(out):
        atomic_write_text(out / "results.csv", _csv(results))
        figures = _figures(out, results, inputs)
        atomic_write_text(out / "report.md", render_report(results, figures))
        atomic_write_text(out / "results.json", json.dumps(results, indent=1, allow_nan=False))
