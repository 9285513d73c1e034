"""The scenario's ``break_power`` settings (docs/design.md §7), validated before anything runs.

Kept apart from :mod:`semcom.attacks.break_power` (the engine) so that reading a
scenario does not import torch. The checks that need the rest of the
scenario (a threshold on a metric the scenario does not compute) are
:func:`check_thresholds`, called by :func:`semcom.study.scenario.parse_scenario`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, Field, field_validator

from semcom.registry import SETTINGS_CONFIG

__all__ = ["DEFAULT_THRESHOLDS", "PSR_DB_RANGE", "BreakPowerConfig", "bisection_rounds", "check_defenses",
           "check_thresholds", "covers", "receiver_selected",
           "resolved_thresholds"]

PSR_DB_RANGE = (-100.0, 60.0)
"""The PSRs [dB] a ``psr_db`` sweep may hold (and a break-power search may range over)."""

DEFAULT_THRESHOLDS = {"ssim": 0.5, "psnr": 15.0, "accuracy": 0.0}
"""An image is broken at SSIM ≤ 0.5, PSNR ≤ 15 dB, or misclassified (per-image accuracy ≤ 0)."""

class BreakPowerConfig(BaseModel):
    """Break power: per test image, the least budget at which an attack breaks it (docs/design.md §7).

    For each grid point and each threshold, a bisection on a per-image budget
    finds the least PSR [dB] at which the image's metric (against the input
    image) crosses the threshold; on an ``eps`` axis the budget of image ``b``
    is ``ε_b = ‖z_b‖₂·10^(PSR/20)`` and the median ε is reported too. Images
    already broken on the unattacked link are left out of the statistics
    (counted in ``broken_clean``); images the attack does not break at the top
    of the range count as "not broken within range". Needs L2 budgets (not
    ``norm: linf``); the universal attack is skipped (one ``δ_u`` for all
    images has no per-image budget).
    """

    model_config = SETTINGS_CONFIG

    enabled: bool = True
    """Compute break power for every grid point (``results.json`` key ``break_power``)."""
    thresholds: dict[str, float] | None = None
    """Metric → the value at which an image counts as broken: at or below it for a higher-is-better
    metric (SSIM, PSNR; ``accuracy: 0`` is misclassified), at or above it for a lower-is-better one
    (MSE, LPIPS). Per-image metrics of ``metrics`` only. Unset: SSIM ≤ 0.5, PSNR ≤ 15 dB and
    misclassified, for those of them in ``metrics``."""
    range_db: list[float] = Field(default_factory=lambda: [-40.0, 10.0])
    """Search range ``[low, high]`` of the per-image budget as PSR [dB], in [-100, 60], low < high;
    wider than the sweep, so most images break inside it."""
    tolerance_db: float = Field(1.0, gt=0, le=20)
    """Bisection stops when an image's bracket is at most this wide [dB]; the break power is the
    bracket's top, known to within it (about log2(range / tolerance) attack runs per image)."""
    samples: int | None = Field(100, ge=1, le=100_000)
    """Test images per grid point (the first of the test split); unset: all."""
    defenses: list[str] | None = None
    """Defence kinds whose receivers get break power, e.g. ``[none]`` for the receivers as trained
    (a smoothed receiver costs ``draws`` times an undefended one per attack run); each must be the
    kind of one of the scenario's ``defenses``. Unset: every receiver."""

    @field_validator("range_db")
    @classmethod
    def _range(cls, v: list[float]) -> list[float]:
        low, high = PSR_DB_RANGE
        if len(v) != 2 or not all(math.isfinite(x) and low <= x <= high for x in v) or v[0] >= v[1]:
            raise ValueError(f"must be [low, high] in dB with {low:g} ≤ low < high ≤ {high:g}; got {v}")
        return v

    @field_validator("thresholds")
    @classmethod
    def _finite(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is not None and not v:
            raise ValueError("must name at least one metric (or leave `thresholds` unset); got {}")
        return v


def bisection_rounds(low_db: float, high_db: float, tolerance_db: float) -> int:
    """Halvings of ``[low_db, high_db]`` until a bracket is at most ``tolerance_db`` wide."""
    return max(0, math.ceil(math.log2((high_db - low_db) / tolerance_db)))


def check_defenses(named: Sequence[str] | None, kinds: Sequence[str], key: str = "break_power.defenses") -> str | None:
    """Why ``named`` (the defence kinds at ``key``) holds a kind the scenario's ``defenses`` lack (one line),
    or None."""
    for kind in named or ():
        if kind not in kinds:
            return f"{key}: {kind!r} is not the kind of any of the scenario's defenses {sorted(set(kinds))}"
    return None


def receiver_selected(named: Sequence[str] | None, defense_kind: str) -> bool:
    """Whether a receiver hardened by ``defense_kind`` is among the defence kinds ``named`` (None: all).

    The control (``finetune``) follows the defences it controls: it is selected whenever a hardened
    kind is, so every hardening number keeps its control (docs/design.md §3). Used by
    ``break_power.defenses`` and an attack's ``defenses``.
    """
    if named is None or defense_kind in named:
        return True
    return defense_kind == "finetune" and any(kind != "none" for kind in named)


def covers(cfg: BreakPowerConfig, defense_kind: str) -> bool:
    """Whether receivers hardened by ``defense_kind`` get break power under ``cfg``."""
    return receiver_selected(cfg.defenses, defense_kind)


def check_thresholds(cfg: BreakPowerConfig, metrics: Sequence[str]) -> str | None:
    """Why ``cfg.thresholds`` does not fit the scenario's ``metrics`` (one line), or None."""
    from semcom.metrics.quality import get_metric

    for name in cfg.thresholds or {}:
        if name not in metrics:
            return f"break_power.thresholds: {name!r} is not computed (not in `metrics` {list(metrics)})"
        if get_metric(name).set_level:
            return f"break_power.thresholds: {name!r} is a set-level metric, with no value per image"
    return None


def resolved_thresholds(cfg: BreakPowerConfig, metrics: Sequence[str]) -> dict[str, float]:
    """The thresholds in force: the scenario's, else the defaults of the computed ``metrics``."""
    if cfg.thresholds is not None:
        return {m: t for m, t in cfg.thresholds.items() if m in metrics}
    return {m: t for m, t in DEFAULT_THRESHOLDS.items() if m in metrics}
