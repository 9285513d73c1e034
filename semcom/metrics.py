"""Image-fidelity metrics and the area under the distortion–distortion curve.

Per-sample metrics come from torchmetrics (``data_range = 1``). A DD-curve is
one metric over an increasing budget sweep ``ε₀ < … < ε_N``; AADDC (paper
§3.1.2) is the trapezoid area between the curve and a baseline, divided by
``ε_N − ε₀`` so it is in the metric's own units, and signed so that **higher
always means more robust**.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Metric", "METRICS", "register_metric", "aaddc", "get_metric", "unavailable_metrics",
           "PSNR_CAP_DB"]

PSNR_CAP_DB = 100.0
"""PSNR of identical images is infinite; per-sample MSE is floored at 1e-10 (100 dB)."""


@dataclass(frozen=True)
class Metric:
    """A per-sample image metric ``fn(pred, target) -> [B]`` and its orientation.

    ``unavailable()``, when set, says why the metric cannot be computed on this
    machine (missing weights, say), or returns None when it can.
    """

    name: str
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    higher_is_better: bool
    default_baseline: float
    unit: str = ""
    unavailable: Callable[[], str | None] | None = None


METRICS: dict[str, Metric] = {}


def register_metric(
    name: str,
    *,
    higher_is_better: bool,
    baseline: float,
    unit: str = "",
    unavailable: Callable[[], str | None] | None = None,
):
    """Decorator adding a per-sample metric to :data:`METRICS`."""

    def decorate(fn):
        METRICS[name] = Metric(name, fn, higher_is_better, baseline, unit, unavailable)
        return fn

    return decorate


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        valid = ", ".join(repr(m) for m in sorted(METRICS))
        raise ValueError(f"`metric` must be one of {valid}; got {name!r}")
    return METRICS[name]


@register_metric("ssim", higher_is_better=True, baseline=0.0)
def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample SSIM ``[B]`` of images ``[B, C, H, W]`` in [0, 1] (Gaussian window 11, σ 1.5)."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    return structural_similarity_index_measure(pred, target, data_range=1.0, reduction="none")


@register_metric("mse", higher_is_better=False, baseline=1.0)
def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample mean squared error ``[B]`` over pixels."""
    return (pred - target).pow(2).flatten(1).mean(1)


@register_metric("psnr", higher_is_better=True, baseline=0.0, unit="dB")
def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample PSNR ``[B]`` in dB for ``data_range = 1``: ``10·log10(1 / MSE)``, capped at 100 dB."""
    return -10.0 * torch.log10(mse(pred, target).clamp_min(10 ** (-PSNR_CAP_DB / 10)))


def _lpips_unavailable() -> str | None:
    from semcom.perceptual import lpips_unavailable_reason

    return lpips_unavailable_reason()


@register_metric("lpips", higher_is_better=False, baseline=1.0, unavailable=_lpips_unavailable)
def lpips(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample LPIPS ``[B]`` (v0.1, AlexNet; see :mod:`semcom.perceptual`)."""
    from semcom.perceptual import lpips_distance

    return lpips_distance(pred, target)


def unavailable_metrics(names: Sequence[str]) -> dict[str, str]:
    """``{name: reason}`` for each of ``names`` that cannot be computed on this machine."""
    reasons = {}
    for name in names:
        check = get_metric(name).unavailable
        reason = check() if check is not None else None
        if reason is not None:
            reasons[name] = reason
    return reasons


def aaddc(
    eps: Sequence[float],
    values: Sequence[float],
    *,
    higher_is_better: bool,
    baseline: float,
) -> float:
    """Area between a DD-curve and ``baseline``, per unit of budget (paper §3.1.2).

    ``mean over ε of (m(ε) − b)`` for higher-is-better metrics and
    ``mean over ε of (b − m(ε))`` for lower-is-better ones, the mean being the
    trapezoid integral divided by ``ε_N − ε₀``.

    >>> aaddc([0, 1, 2], [1.0, 0.5, 0.0], higher_is_better=True, baseline=0.0)
    0.5
    """
    x = np.asarray(eps, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise ValueError(f"`eps` and `values` must be 1-D of equal length ≥ 2; got {x.shape}, {y.shape}")
    if not np.all(np.diff(x) > 0):
        raise ValueError("`eps` must be strictly increasing")
    if not np.all(np.isfinite(y)):
        raise ValueError("`values` must be finite")
    gap = (y - baseline) if higher_is_better else (baseline - y)
    return float(np.trapezoid(gap, x) / (x[-1] - x[0]))
