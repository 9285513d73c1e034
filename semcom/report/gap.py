"""The equal-damage power gap: how many dB more power Gaussian jamming needs for an attack's damage.

For an attack that, at power ``PSR_a`` [dB], leaves a metric at ``m_a`` (SSIM,
semantic accuracy, …), the gap is ``PSR_j − PSR_a``, with ``PSR_j`` the least
jamming power at which the Gaussian-jamming DD-curve, linearly interpolated in
the PSR (dB) domain, is as bad as ``m_a``. The clean link is the same for both,
so an equal metric value is an equal loss. Within a finite sweep the gap can
be a bound only:

* ``>`` — jamming never does that much damage up to the sweep's largest
  power: the gap exceeds ``PSR_max − PSR_a``;
* ``<`` — jamming at the sweep's smallest power already does at least that
  much: the gap is at most ``PSR_min − PSR_a``.

A scenario's headline number per attack (:func:`headline`) is the median of
the exactly determined gaps over its budgets, or the tightest bound when none
is exact.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "GAP_METRICS", "LINK_KEYS", "Gap", "equal_damage_gaps", "equal_damage_table", "format_gap", "headline",
    "points_by_link",
]

GAP_METRICS = ("ssim", "accuracy")
"""The metrics whose damage the gap compares, where a scenario measures them."""

LINK_KEYS = ("model", "defense", "channel", "snr_db")
"""The fields of a results.json point that name its link."""


def points_by_link(points: Sequence[dict[str, Any]]) -> dict[tuple, dict[str, list[dict[str, Any]]]]:
    """``{link: {attack: [points in budget order]}}`` of results.json points, in the run's order."""
    out: dict[tuple, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for p in points:
        out[tuple(p[k] for k in LINK_KEYS)][p["attack"]].append(p)
    return out


@dataclass(frozen=True)
class Gap:
    """The gap at one attack point.

    Attributes:
        psr_db: the attack's power [dB].
        value: the attack's metric value there.
        jamming_psr_db: the equal-damage jamming power [dB] (None for a bound).
        gap_db: ``jamming_psr_db − psr_db``, or the bound.
        relation: ``"="`` (exact), ``">"`` or ``"<"`` (bounds).
    """

    psr_db: float
    value: float
    jamming_psr_db: float | None
    gap_db: float
    relation: str


def equal_damage_gaps(
    attack: Sequence[tuple[float | None, float]],
    jamming: Sequence[tuple[float | None, float]],
    *,
    higher_is_better: bool,
) -> list[Gap]:
    """Gaps of every attack point ``(PSR [dB], metric)`` against the jamming curve.

    Points without a PSR (the clean ``ε = 0``) are skipped on both curves; the
    jamming points are taken in increasing PSR. Returns one :class:`Gap` per
    attack point with a PSR (an empty list when jamming has none).

    >>> jam = [(-20.0, 0.9), (-10.0, 0.7), (0.0, 0.3)]
    >>> [(g.relation, round(g.gap_db, 1)) for g in
    ...  equal_damage_gaps([(-20.0, 0.5), (-10.0, 0.1), (-30.0, 0.95)], jam, higher_is_better=True)]
    [('=', 15.0), ('>', 10.0), ('<', 10.0)]
    """
    curve = sorted((x, m) for x, m in jamming if x is not None)
    if not curve:
        return []
    sign = -1.0 if higher_is_better else 1.0  # badness = sign · metric

    def at_least_as_bad(m: float, level: float) -> bool:
        return sign * m >= sign * level

    gaps = []
    for x_a, m_a in attack:
        if x_a is None:
            continue
        x_lo, m_lo = curve[0]
        if at_least_as_bad(m_lo, m_a):  # jamming may match it at lower powers still
            gaps.append(Gap(x_a, m_a, None, x_lo - x_a, "<"))
            continue
        for (x0, m0), (x1, m1) in zip(curve, curve[1:], strict=False):
            if at_least_as_bad(m1, m_a):  # m0 is not yet as bad: the level is crossed here
                x_j = x0 + (m_a - m0) / (m1 - m0) * (x1 - x0)
                gaps.append(Gap(x_a, m_a, x_j, x_j - x_a, "="))
                break
        else:
            gaps.append(Gap(x_a, m_a, None, curve[-1][0] - x_a, ">"))
    return gaps


def headline(gaps: Sequence[Gap]) -> tuple[str, float] | None:
    """``(relation, dB)``: the median exact gap, else the tightest bound; None without gaps."""
    exact = [g.gap_db for g in gaps if g.relation == "="]
    if exact:
        return "=", statistics.median(exact)
    lower = [g.gap_db for g in gaps if g.relation == ">"]
    if lower:
        return ">", max(lower)
    upper = [g.gap_db for g in gaps if g.relation == "<"]
    return ("<", min(upper)) if upper else None


def format_gap(relation: str, gap_db: float) -> str:
    """``"12.3 dB"``, ``"> 12.3 dB"`` or ``"< 12.3 dB"``."""
    shown = round(gap_db, 1) + 0.0  # + 0.0: never "-0.0"
    return f"{'' if relation == '=' else relation + ' '}{shown:.1f} dB"


def equal_damage_table(
    points: Sequence[dict[str, Any]], jamming: str, metrics: Sequence[str], *, budget_axis: str
) -> list[dict[str, Any]]:
    """The ``equal_damage_gaps`` records of results.json, from its ``points``.

    One record per link, attack (other than ``jamming``, the Gaussian-jamming
    attack's name) and metric of :data:`GAP_METRICS` that the run measured:
    the headline (``relation``, ``gap_db``) and the gap at each budget
    (``points``: ``budget`` and the fields of :class:`Gap`). Powers are the
    PSR budgets on a ``psr_db`` sweep, else each point's measured mean PSR.
    """
    from semcom.metrics.quality import get_metric

    records = []
    for link, by_attack in points_by_link(points).items():
        if jamming not in by_attack:
            continue
        for metric in (m for m in GAP_METRICS if m in metrics):
            higher = get_metric(metric).higher_is_better

            def curve(pts, metric=metric):
                xs = [p["budget"] if budget_axis == "psr_db" else p["psr_db"] for p in pts]
                return list(zip(xs, [p["metrics"][metric] for p in pts], strict=True))

            reference = curve(by_attack[jamming])
            for attack, pts in by_attack.items():
                if attack == jamming:
                    continue
                attacked = curve(pts)
                gaps = equal_damage_gaps(attacked, reference, higher_is_better=higher)
                top = headline(gaps)
                if top is None:
                    continue
                budgets = [p["budget"] for p, (x, _) in zip(pts, attacked, strict=True)
                           if x is not None]
                records.append({
                    **dict(zip(LINK_KEYS, link, strict=True)), "attack": attack, "metric": metric,
                    "reference": jamming, "relation": top[0], "gap_db": top[1],
                    "points": [{"budget": b, **asdict(g)}
                               for b, g in zip(budgets, gaps, strict=True)],
                })
    return records
