"""Break power: per image, the least budget at which an attack breaks it (docs/design.md §7).

For one link and one attack, every test image ``b`` and every threshold
``t`` (e.g. SSIM ≤ 0.5) is a *bisection state*: a bracket ``[lo, hi]`` of
PSRs [dB] within the search range. Each round, every image of a chunk is
probed once, at the midpoint of its widest open bracket, all images in one
batch, each with its own budget ``ε_b = ‖z_b‖₂·10^(p_b/20)``
(:meth:`semcom.attacks.threats.Threat.perturb_within`, the sweep's batched PGD
engine), then through the link over evaluation channel draws; every
threshold whose bracket holds the probe is updated from that one output.
A bracket ends at most ``tolerance`` wide after ``R = ⌈log2((high −
low)/tolerance)⌉`` of its own halvings, so a chunk takes between ``R``
rounds (thresholds whose crossings are close share their probes) and
``T·R``. A state never broken in the bisection is tested once more at the
top of the range: still intact there, it is *not broken within range*
(``+inf``). Images broken on the unattacked link (the same evaluation
draws) are left out of the statistics.

Monotonicity: PGD's damage is not exactly monotone in the budget (a larger
ball can end in a different local optimum, a random channel draw can
favour one budget), so bisection finds *a* crossing, not necessarily the
least one. The result is the least budget on the bisection path at which the
image was broken, with the path's next lower tested budget (or the bottom
of the range) not broken: a crossing known to within one tolerance. To keep
the function the bisection probes fixed, every round re-uses the same
attack and evaluation generators on a batch of the same shape, so each
state sees the same channel and jamming draws at every budget (the last
check at the top of the range runs on the images with a never-broken state
alone, a smaller batch, so it sees other draws). A state that
breaks at every probe ends within one tolerance of the range's bottom: read
it as "at or below the bottom".

On an ``eps`` axis the PSR is that of the budget (an attack may spend less
of the ball; untargeted PGD and jamming spend all of it) and ``ε`` is
reported beside it; a ``psr_db`` axis puts every perturbation on its sphere
(docs/design.md §3), so the PSR is the transmitted power.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from adversary import psr_to_eps
from semcom.attacks.threats import Engagement, Threat
from semcom.metrics.quality import get_metric
from semcom.study.break_power_config import bisection_rounds, resolved_thresholds
from semcom.study.sweep import _check_finite, derive_seed

__all__ = ["BreakSpec", "BreakResult", "bisect_break_power", "break_power_records", "break_spec",
           "summarise"]

NOT_PER_SAMPLE = "one perturbation serves every image, so there is no per-image budget to bisect"
"""Why an attack that is not ``per_sample`` (the universal one) has no break power."""


@dataclass(frozen=True)
class BreakSpec:
    """What a grid point's job needs to know of the scenario's break-power settings.

    ``thresholds`` are ``(metric, value)`` pairs; ``low_db``/``high_db`` the
    search range [dB]; ``samples`` the first test images used (None: all).
    """

    thresholds: tuple[tuple[str, float], ...]
    low_db: float = -40.0
    high_db: float = 10.0
    tolerance_db: float = 1.0
    samples: int | None = None

    @property
    def rounds(self) -> int:
        """``R``: the halvings after which a bracket is at most ``tolerance_db`` wide (a chunk takes R … T·R rounds)."""
        return bisection_rounds(self.low_db, self.high_db, self.tolerance_db)


@dataclass(frozen=True)
class BreakResult:
    """Per image and threshold: the break PSR [dB] (``+inf``: not broken within range).

    ``psr_db [N, T]`` and ``eps [N, T]`` (the latent budget it corresponds to,
    ``+inf`` where not broken); ``broken_clean [N, T]``: broken without an
    attack (then ``psr_db`` is NaN); ``rounds``: probe rounds (the most of any
    chunk; each one attack run per image), besides the top-of-range check.
    """

    psr_db: np.ndarray
    eps: np.ndarray
    broken_clean: np.ndarray
    rounds: int


def _broken(out: torch.Tensor, x: torch.Tensor, spec: BreakSpec, context: dict[str, Any]) -> torch.Tensor:
    """``[T, B]``: whether each output ``out [B, C, H, W]`` of ``x [B, C, H, W]`` is broken, per threshold."""
    rows = []
    for name, value in spec.thresholds:
        metric = get_metric(name)
        m = metric.fn(out, x, **{k: context[k] for k in metric.needs}).float()  # [B]
        rows.append(m <= value if metric.higher_is_better else m >= value)
    return torch.stack(rows)


def bisect_break_power(engagement: Engagement, images: torch.Tensor, spec: BreakSpec) -> BreakResult:
    """Bisect every image of ``images [N, C, H, W]`` (the first ``spec.samples``) for every threshold.

    Chunks of the engagement's ``batch_size`` images go through its attack at once,
    each at its own budget, every round. The engagement's ``labels [N]`` and
    ``classifier`` feed ``accuracy`` (against the true class); ``train`` the
    ``class:<k>`` targets.
    """
    e = engagement
    attack, labels, classifier, batch_size, seed = e.attack, e.labels, e.classifier, e.batch_size, e.seed
    if not attack.per_sample:
        raise ValueError(f"no break power for a {attack.kind} attack: {NOT_PER_SAMPLE}")
    if e.norm != "l2":
        raise ValueError(f"break power bisects PSR budgets: `norm` must be 'l2'; got {e.norm!r}")
    device, autocast = e.device, e.autocast()
    n = images.shape[0] if spec.samples is None else min(spec.samples, images.shape[0])
    images = images[:n]
    threat = e.threat
    found_db, found_eps, clean_broken, runs = [], [], [], 0
    for chunk_index, x in enumerate(images.split(batch_size)):
        start = chunk_index * batch_size
        chunk_labels = None if labels is None else labels[start: start + x.shape[0]].to(device)
        seeds = (derive_seed(seed, "break", attack.name, chunk_index), derive_seed(seed, "break-eval", chunk_index))
        db, eps, broken0, rounds = _bisect_chunk(threat, x.to(device), chunk_labels, classifier, spec, seeds, autocast)
        found_db.append(db.T.cpu())
        found_eps.append(eps.T.cpu())
        clean_broken.append(broken0.T.cpu())
        runs = max(runs, rounds)
    return BreakResult(torch.cat(found_db).numpy(), torch.cat(found_eps).numpy(),
                       torch.cat(clean_broken).numpy(), runs)


def _bisect_chunk(
    threat: Threat, x: torch.Tensor, labels: torch.Tensor | None, classifier, spec: BreakSpec,
    seeds: tuple[int, int], autocast,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """One chunk ``x [B, C, H, W]``: break PSRs and ε ``[T, B]``, broken-clean ``[T, B]``, rounds.

    ``seeds`` are the attack's and the evaluation channel's, the same at every probe.
    """
    link, device = threat.link, x.device
    attack_seed, eval_seed = seeds
    t_count, b = len(spec.thresholds), x.shape[0]
    context: dict[str, Any] = {"classifier": classifier, "labels": labels}
    with torch.no_grad():
        z = _check_finite(link.transmitter(x), "latents", 0.0)
        sig = link.signal(z)  # what is in transit: z on a learned link, the QAM symbols on a digital one
        with autocast:
            clean_ideal = link.receiver(link.mapper.to_symbols(z)).float()
            clean_out = link.deliver(z, generator=torch.Generator(device).manual_seed(eval_seed)).float()
        broken0 = _broken(clean_out, x, spec, context)  # [T, B]

    def broken_at(db: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """``[T, R]`` outcomes of the images ``rows [R]`` probed at PSRs ``db [R]``."""
        zr = sig[rows]  # budgets, perturbations and the PSR are in the transmitted signal's space (§7)
        eps = psr_to_eps(db.to(zr.dtype), zr)
        with autocast:
            gen = torch.Generator(device).manual_seed(attack_seed)
            delta = threat.perturb_within(zr, clean_ideal[rows], eps, gen).delta
        with torch.no_grad(), autocast:
            out = threat.forward(zr, torch.Generator(device).manual_seed(eval_seed))(delta.float())
        out = _check_finite(out.float(), "outputs", float(db.max()), "psr_db")
        return _broken(out, x[rows], spec, {**context, "labels": None if labels is None else labels[rows]})

    lo = torch.full((t_count, b), spec.low_db, dtype=torch.float64, device=device)
    hi = torch.full_like(lo, spec.high_db)
    done = broken0 | (hi - lo <= spec.tolerance_db)
    rounds, every = 0, torch.arange(b, device=device)
    while not bool(done.all()) and rounds < t_count * (spec.rounds + 1):  # the bound is never reached
        width = torch.where(done, -math.inf, hi - lo)  # [T, B]
        widest = width.argmax(0, keepdim=True)  # [1, B] each image probes its widest open bracket
        probe = ((lo + hi) / 2).gather(0, widest)[0]  # [B]
        hit = broken_at(probe, every)  # [T, B]: every threshold judged on the same output
        inside = ~done & (lo < probe) & (probe < hi)
        hi, lo = torch.where(inside & hit, probe, hi), torch.where(inside & ~hit, probe, lo)
        done |= hi - lo <= spec.tolerance_db
        rounds += 1
    result = hi.clone()
    unsure = (hi == spec.high_db) & ~broken0  # [T, B] never broken on the path
    if unsure.any():
        rows = unsure.any(0).nonzero().flatten()
        at_top = broken_at(torch.full((rows.numel(),), spec.high_db, dtype=torch.float64, device=device), rows)
        result[:, rows] = torch.where(unsure[:, rows] & ~at_top, math.inf, result[:, rows])
    result = torch.where(broken0, torch.full_like(result, math.nan), result)
    norms = torch.linalg.vector_norm(sig.double(), dim=1)  # [B] ‖s_b‖₂ (the latent's on a learned link)
    return result, norms[None] * torch.pow(10.0, result / 20), broken0, rounds


def _quantile(values: np.ndarray, q: float, top: float) -> float | None:
    """The ``q`` quantile of ``values`` (``+inf`` = above the range); None where it lies above ``top``."""
    if values.size == 0:
        return None
    v = np.quantile(np.where(np.isfinite(values), values, 1e300), q)
    return float(v) if v <= top else None


def summarise(result: BreakResult, spec: BreakSpec, *, budget_axis: str) -> list[dict[str, Any]]:
    """One record per threshold: median and quartiles over the images the link carries intact.

    ``median_psr_db``/``q25_psr_db``/``q75_psr_db`` are None where that share
    of the images is not broken within range; ``broken_share`` is the share of
    intact images broken within range; ``images`` counts the intact images,
    ``broken_clean`` those broken without an attack. ``median_eps`` on an ``eps`` axis.
    """
    records = []
    for t, (metric, threshold) in enumerate(spec.thresholds):
        intact = ~result.broken_clean[:, t]
        db, eps = result.psr_db[intact, t], result.eps[intact, t]
        rec = {"metric": metric, "threshold": threshold,
               "median_psr_db": _quantile(db, 0.5, spec.high_db),
               "q25_psr_db": _quantile(db, 0.25, spec.high_db),
               "q75_psr_db": _quantile(db, 0.75, spec.high_db),
               "broken_share": float(np.isfinite(db).mean()) if db.size else None,
               "images": int(intact.sum()), "broken_clean": int((~intact).sum()),
               "range_db": [spec.low_db, spec.high_db], "tolerance_db": spec.tolerance_db}
        if budget_axis == "eps":  # defined where the median PSR is: the same images are broken
            rec["median_eps"] = None if rec["median_psr_db"] is None else _quantile(eps, 0.5, math.inf)
        records.append(rec)
    return records


LINK_AND_ATTACK = ("model", "defense", "channel", "snr_db", "attack")


def break_power_records(entries: Sequence[dict[str, Any]], jamming: str | None) -> list[dict[str, Any]]:
    """results.json's ``break_power`` list from the journal entries of a run.

    Each record carries its point's labels and, against the Gaussian-jamming
    attack ``jamming`` on the same link and threshold, ``power_advantage_db``
    = jamming's median break PSR − the attack's, with ``power_advantage_relation``
    ``"="``, or ``">"``/``"<"`` for a bound when one median lies above the range
    (None when neither is known, and for jamming itself).
    """
    records = [{**{k: e[k] for k in LINK_AND_ATTACK}, **r} for e in entries for r in e.get("break_power") or []]
    median = {(*(r[k] for k in LINK_AND_ATTACK), r["metric"], r["threshold"]): r["median_psr_db"] for r in records}
    for r in records:
        r["power_advantage_db"], r["power_advantage_relation"] = None, None
        if jamming is None or r["attack"] == jamming:
            continue
        key = (*(r[k] for k in LINK_AND_ATTACK[:4]), jamming, r["metric"], r["threshold"])
        if key not in median:
            continue
        mine, theirs, top = r["median_psr_db"], median[key], r["range_db"][1]
        if mine is not None and theirs is not None:
            r["power_advantage_db"], r["power_advantage_relation"] = theirs - mine, "="
        elif mine is not None:
            r["power_advantage_db"], r["power_advantage_relation"] = top - mine, ">"
        elif theirs is not None:
            r["power_advantage_db"], r["power_advantage_relation"] = theirs - top, "<"
    return records


def break_spec(sc, attack_cfg, metrics: Sequence[str]) -> BreakSpec | None:
    """The :class:`BreakSpec` of a scenario's attack entry, or None where there is no break power.

    None when ``break_power.enabled`` is off, the budgets are L∞, the attack
    is not ``per_sample`` (:data:`NOT_PER_SAMPLE`), or no threshold's metric is among
    ``metrics`` (those computed on this machine).
    """
    cfg = sc.break_power
    thresholds = resolved_thresholds(cfg, metrics)
    if not cfg.enabled or sc.adversary.norm != "l2" or not attack_cfg.per_sample or not thresholds:
        return None
    return BreakSpec(tuple(thresholds.items()), cfg.range_db[0], cfg.range_db[1], cfg.tolerance_db, cfg.samples)
