"""Image-fidelity and semantic metrics, and the area under the distortion–distortion curve.

Per-sample metrics follow torchmetrics' definitions (``data_range = 1``). Semantic
metrics judge images with the data set's reference classifier
(:mod:`semcom.metrics.classifier`): ``accuracy`` per sample, and ``fid``, a set-level
metric computed once over the whole evaluation set. A DD-curve is
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

__all__ = ["Metric", "METRICS", "MetricTally", "register_metric", "aaddc", "get_metric", "unavailable_metrics",
           "PSNR_CAP_DB"]

PSNR_CAP_DB = 100.0
"""PSNR of identical images is infinite; per-sample MSE is floored at 1e-10 (100 dB)."""


CONTEXT = ("labels", "classifier")
"""What a metric may need besides the images (:attr:`Metric.needs`): ``labels``,
the int64 classes ``[B]`` of the target images, and ``classifier``, the data
set's reference :class:`semcom.metrics.classifier.Classifier`."""


@dataclass(frozen=True)
class Metric:
    """An image metric and its orientation.

    Per-sample (``embed`` is None): ``fn(pred, target, **needs) -> [B]``, one
    value per image pair, averaged over the evaluation set.
    Set-level (``embed`` set): ``embed(images, **needs) -> [B, F]`` features
    are gathered over the whole evaluation set, then ``fn(pred_features [N, F],
    target_features [N, F]) -> float`` gives one value for the set.
    ``needs`` names the keyword context (:data:`CONTEXT`) the metric takes.
    ``unavailable()``, when set, says why the metric cannot be computed on this
    machine (missing weights, say), or returns None when it can.
    """

    name: str
    fn: Callable[..., torch.Tensor | float]
    higher_is_better: bool
    default_baseline: float
    unit: str = ""
    needs: tuple[str, ...] = ()
    embed: Callable[..., torch.Tensor] | None = None
    unavailable: Callable[[], str | None] | None = None

    @property
    def set_level(self) -> bool:
        return self.embed is not None


METRICS: dict[str, Metric] = {}


def register_metric(
    name: str,
    *,
    higher_is_better: bool,
    baseline: float,
    unit: str = "",
    needs: tuple[str, ...] = (),
    embed: Callable[..., torch.Tensor] | None = None,
    unavailable: Callable[[], str | None] | None = None,
):
    """Decorator adding a metric to :data:`METRICS` (set-level when ``embed`` is given)."""
    unknown = sorted(set(needs) - set(CONTEXT))
    if unknown:
        raise ValueError(f"`needs` must name items of {CONTEXT}; got {unknown}")

    def decorate(fn):
        METRICS[name] = Metric(
            name, fn, higher_is_better, baseline, unit=unit, needs=tuple(needs), embed=embed,
            unavailable=unavailable,
        )
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


@register_metric("accuracy", higher_is_better=True, baseline=0.0, needs=("labels", "classifier"))
def accuracy(
    pred: torch.Tensor, target: torch.Tensor, *, labels: torch.Tensor, classifier
) -> torch.Tensor:
    """Per-sample semantic accuracy ``[B]``: 1 where ``pred`` keeps the class of ``target``.

    The reference classifier must put ``pred`` in the class ``labels`` of
    ``target`` (1), else 0; higher is better. Against the input image
    ``labels`` are its true classes; against the clean reconstruction, the
    classes the classifier gives it.
    """
    from semcom.metrics.classifier import semantic_accuracy

    return semantic_accuracy(classifier, pred, labels)


def _classifier_features(images: torch.Tensor, *, classifier) -> torch.Tensor:
    """Penultimate features ``[B, 128]`` of the reference classifier (no gradient)."""
    with torch.no_grad():
        return classifier.features(images)


@register_metric("fid", higher_is_better=False, baseline=0.0, needs=("classifier",),
                 embed=_classifier_features)
def fid(pred_features: torch.Tensor, target_features: torch.Tensor) -> float:
    """Classifier FID of two feature sets ``[N, F]`` (lower is better; 0 for equal sets).

    The Fréchet distance of Gaussian fits (:func:`semcom.metrics.classifier.frechet_distance`).
    A set-level metric: it has no per-sample value, and it is biased upwards
    for small sets, so compare values only at equal set sizes. Its AADDC
    baseline is 0, FID's best value (there is no natural worst one), so its
    AADDC is ``−(mean FID over the budget)``: still higher = more robust.
    """
    from semcom.metrics.classifier import frechet_distance, gaussian_fit

    return frechet_distance(*gaussian_fit(pred_features), *gaussian_fit(target_features))


class MetricTally:
    """Running results of metrics over an evaluation set split in chunks, at several points.

    ``add(i, pred, target, **context)`` adds one chunk at point ``i`` (a budget,
    say); ``values(i)`` gives ``{metric: value}`` for the whole set: the mean
    of a per-sample metric, the value of a set-level one on all gathered
    features. ``context`` holds what the metrics need (:data:`CONTEXT`).
    """

    def __init__(self, metrics: Sequence[Metric], points: int) -> None:
        self.metrics = list(metrics)
        self.sums = np.zeros((points, len(self.metrics)))
        self.count = np.zeros(points)
        self.features: list[dict[str, tuple[list, list]]] = [
            {m.name: ([], []) for m in self.metrics if m.set_level} for _ in range(points)
        ]

    def add(self, i: int, pred: torch.Tensor, target: torch.Tensor, **context) -> None:
        self.count[i] += pred.shape[0]
        for j, m in enumerate(self.metrics):
            needs = {k: context[k] for k in m.needs}
            if m.set_level:
                preds, targets = self.features[i][m.name]
                preds.append(m.embed(pred, **needs).cpu())
                targets.append(m.embed(target, **needs).cpu())
            else:
                self.sums[i, j] += m.fn(pred, target, **needs).sum().item()

    def values(self, i: int) -> dict[str, float]:
        out = {}
        for j, m in enumerate(self.metrics):
            if m.set_level:
                preds, targets = self.features[i][m.name]
                out[m.name] = float(m.fn(torch.cat(preds), torch.cat(targets)))
            else:
                out[m.name] = float(self.sums[i, j] / self.count[i])
        return out


def _lpips_unavailable() -> str | None:
    from semcom.metrics.perceptual import lpips_unavailable_reason

    return lpips_unavailable_reason()


@register_metric("lpips", higher_is_better=False, baseline=1.0, unavailable=_lpips_unavailable)
def lpips(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample LPIPS ``[B]`` (v0.1, AlexNet; see :mod:`semcom.metrics.perceptual`)."""
    from semcom.metrics.perceptual import lpips_distance

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
