"""Replicates: the whole grid re-run with derived seeds, and their mean ± spread (docs/design.md §7).

Replicate ``r`` of a scenario is the scenario with seed :func:`replicate_seed`
``(seed, r)``: training, hardening, attacks and channel draws all derive from
it, the data subsets (seeded by the scenario's own seed) stay. Replicate 0 is
the scenario itself, so ``replicates: 1`` is a plain run with its keys.

With ``R > 1`` the results.json keys of a plain run (``points``, ``aaddc``,
``equal_damage_gaps``, ``latent_difference``) hold the *mean* over replicates
(computed from the mean DD-curves, so every section of a report reads them as
before); each mean point and AADDC entry gains ``spread``, the sample standard
deviation (ddof = 1) over replicates; ``replicates`` holds every replicate's
points and AADDCs with their seeds.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from semcom.study.sweep import derive_seed

__all__ = ["SPREAD", "replicate_seed", "replicate_scenarios", "mean_entries", "add_replicates",
           "points_per_replicate", "mean_spread"]

SPREAD = "sample standard deviation (ddof = 1) over replicates"
"""What every ± in a report with replicates means."""


def replicate_seed(seed: int, replicate: int) -> int:
    """The seed of replicate ``replicate`` (0: ``seed`` itself), in the scenario seed's range."""
    return seed if replicate == 0 else derive_seed(seed, "replicate", replicate) % 2**31


def replicate_scenarios(sc) -> list:
    """One scenario per replicate of ``sc`` (a :class:`semcom.study.scenario.Scenario`), only the seed changed."""
    return [sc] + [sc.model_copy(update={"seed": replicate_seed(sc.seed, r)}) for r in range(1, sc.replicates)]


def _mean(values: list[Any]) -> Any:
    """The element-wise mean of same-shaped JSON values; equal values (labels) stay as they are,
    a missing value (None) anywhere stays missing."""
    first = values[0]
    if all(v == first for v in values[1:]):
        return first
    if any(v is None for v in values):
        return None
    if isinstance(first, dict):
        return {k: _mean([v[k] for v in values]) for k in first}
    if isinstance(first, list):
        return [_mean(list(col)) for col in zip(*values, strict=True)]
    if isinstance(first, bool | str):
        return first
    return statistics.fmean(values)


def mean_entries(per_replicate: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Journal entries averaged point by point over replicates (each list in the same grid order)."""
    return [_mean(list(same)) for same in zip(*per_replicate, strict=True)]


def _stdev(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) or len(values) < 2 else statistics.stdev(values)


def add_replicates(results: dict[str, Any], docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Attach the spread and the per-replicate ``docs`` (one results document each) to the mean
    ``results``, in place; returns it."""
    for i, p in enumerate(results["points"]):
        same = [d["points"][i] for d in docs]
        p["spread"] = {key: {m: _stdev([q[key][m] for q in same]) for m in p[key]}
                       for key in ("metrics", "metrics_vs_clean")}
    for i, a in enumerate(results["aaddc"]):
        a["spread"] = _stdev([d["aaddc"][i]["value"] for d in docs])
    results["replicates"] = {
        "count": len(docs), "spread": SPREAD, "seeds": [d["seeds"] for d in docs],
        "points": [{**p, "replicate": r} for r, d in enumerate(docs) for p in d["points"]],
        "aaddc": [{**a, "replicate": r} for r, d in enumerate(docs) for a in d["aaddc"]],
    }
    return results


def points_per_replicate(results: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Each replicate's results.json points (a plain run: its one list)."""
    reps = results.get("replicates")
    if not reps:
        return [results["points"]]
    by_rep: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for p in reps["points"]:
        by_rep[p["replicate"]].append(p)
    return [by_rep[r] for r in sorted(by_rep)]


def mean_spread(values: list[float]) -> tuple[float, float | None]:
    """``(mean, sample std)`` of per-replicate values (std None for one replicate)."""
    return statistics.fmean(values), _stdev(values)
