"""Image-fidelity metrics and the area under the distortion–distortion curve.

Per-sample metrics follow torchmetrics' definitions (``data_range = 1``). A DD-curve is
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

from adversary.similarity import structural_similarity

__all__ = ["Metric", "METRICS", "register_metric", "aaddc", "get_metric", "PSNR_CAP_DB"]

PSNR_CAP_DB = 100.0
"""PSNR of identical images is infinite; per-sample MSE is floored at 1e-10 (100 dB)."""


@dataclass(frozen=True)
class Metric:
    """A per-sample image metric ``fn(pred, target) -> [B]`` and its orientation."""

    name: str
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    higher_is_better: bool
    default_baseline: float
    unit: str = ""


METRICS: dict[str, Metric] = {}


def register_metric(name: str, *, higher_is_better: bool, baseline: float, unit: str = ""):
    """Decorator adding a per-sample metric to :data:`METRICS`."""

    def decorate(fn):
        METRICS[name] = Metric(name, fn, higher_is_better, baseline, unit)
        return fn

    return decorate


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        valid = ", ".join(repr(m) for m in sorted(METRICS))
        raise ValueError(f"`metric` must be one of {valid}; got {name!r}")
    return METRICS[name]


@register_metric("ssim", higher_is_better=True, baseline=0.0)
def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample SSIM ``[B]`` of images ``[B, C, H, W]`` in [0, 1] (Gaussian window 11, σ 1.5).

    torchmetrics' definition, computed by the faster, equivalent
    :func:`adversary.similarity.structural_similarity`.
    """
    return structural_similarity(pred, target)


@register_metric("mse", higher_is_better=False, baseline=1.0)
def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample mean squared error ``[B]`` over pixels."""
    return (pred - target).pow(2).flatten(1).mean(1)


@register_metric("psnr", higher_is_better=True, baseline=0.0, unit="dB")
def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample PSNR ``[B]`` in dB for ``data_range = 1``: ``10·log10(1 / MSE)``, capped at 100 dB."""
    return -10.0 * torch.log10(mse(pred, target).clamp_min(10 ** (-PSNR_CAP_DB / 10)))


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
