"""AADDC on curves whose area is known, and per-sample metrics against oracles."""

import math

import numpy as np
import pytest
import torch

from semcom.metrics.quality import METRICS, PSNR_CAP_DB, aaddc, get_metric


@pytest.mark.parametrize(
    ("eps", "values", "higher", "baseline", "expected"),
    [
        ([0, 1, 2], [1.0, 0.5, 0.0], True, 0.0, 0.5),  # a line from 1 to 0: mean height 1/2
        ([0, 2], [0.8, 0.8], True, 0.3, 0.5),  # a constant curve: its gap to the baseline
        ([0, 1, 2], [0.0, 0.5, 1.0], False, 1.0, 0.5),  # lower-is-better: area above the curve
        ([0.5, 1.0, 3.0], [0.2, 0.2, 0.2], False, 1.0, 0.8),  # non-uniform grid, not from 0
        ([0, 1, 3], [1.0, 1.0, 0.0], True, 0.0, (1.0 + 1.0) / 3),  # trapezoids 1 and 1 over width 3
    ],
)
def test_aaddc_of_known_areas(eps, values, higher, baseline, expected):
    assert aaddc(eps, values, higher_is_better=higher, baseline=baseline) == pytest.approx(expected)


def test_aaddc_of_a_smooth_curve_matches_its_integral():
    eps = np.linspace(0, math.pi / 2, 2001)
    # mean of cos over [0, π/2] is 2/π
    assert aaddc(eps, np.cos(eps), higher_is_better=True, baseline=0.0) == pytest.approx(2 / math.pi, abs=1e-6)


def test_aaddc_more_robust_curve_scores_higher_for_both_orientations():
    eps = [0, 1, 2, 3]
    robust, fragile = [0.9, 0.85, 0.8, 0.75], [0.9, 0.6, 0.3, 0.1]
    assert aaddc(eps, robust, higher_is_better=True, baseline=0) > aaddc(
        eps, fragile, higher_is_better=True, baseline=0
    )
    lp_robust, lp_fragile = [0.1, 0.12, 0.15, 0.2], [0.1, 0.3, 0.5, 0.7]
    assert aaddc(eps, lp_robust, higher_is_better=False, baseline=1) > aaddc(
        eps, lp_fragile, higher_is_better=False, baseline=1
    )


@pytest.mark.parametrize(
    ("eps", "values"), [([0], [1.0]), ([0, 1], [1.0]), ([1, 0], [1.0, 0.5]), ([0, 1], [1.0, float("nan")])]
)
def test_aaddc_rejects_bad_curves(eps, values):
    with pytest.raises(ValueError):
        aaddc(eps, values, higher_is_better=True, baseline=0.0)


def test_psnr_and_mse_against_numpy():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(4, 1, 28, 28, generator=g)
    b = (a + 0.1 * torch.randn(4, 1, 28, 28, generator=g)).clamp(0, 1)
    mse_np = ((a.numpy() - b.numpy()) ** 2).reshape(4, -1).mean(1)
    assert np.allclose(get_metric("mse").fn(a, b).numpy(), mse_np, rtol=1e-5)
    assert np.allclose(get_metric("psnr").fn(a, b).numpy(), 10 * np.log10(1 / mse_np), rtol=1e-5)
    assert get_metric("psnr").fn(a, a).tolist() == [PSNR_CAP_DB] * 4


def test_ssim_is_one_for_identical_images_and_lower_with_noise():
    g = torch.Generator().manual_seed(1)
    a = torch.rand(3, 1, 28, 28, generator=g)
    noisy = (a + 0.3 * torch.randn(3, 1, 28, 28, generator=g)).clamp(0, 1)
    ssim = get_metric("ssim").fn
    assert torch.allclose(ssim(a, a), torch.ones(3), atol=1e-5)
    assert (ssim(noisy, a) < 0.9).all()


def test_unknown_metric_lists_valid_names():
    with pytest.raises(ValueError, match="`metric` must be one of .*'ssim'"):
        get_metric("nope")
    assert {"ssim", "psnr", "mse"} <= set(METRICS)


class _Judge:
    """A stand-in reference classifier: 8 pooled intensities as features, the brightest as class."""

    def features(self, images):
        return torch.nn.functional.adaptive_avg_pool2d(images, (2, 4)).flatten(1)  # [B, 8]

    def predict(self, images):
        return self.features(images).argmax(1)


def test_semantic_metrics_are_registered_with_their_needs_and_baselines():
    acc, fid = get_metric("accuracy"), get_metric("fid")
    assert acc.higher_is_better and acc.default_baseline == 0.0 and not acc.set_level
    assert set(acc.needs) == {"labels", "classifier"}
    assert not fid.higher_is_better and fid.default_baseline == 0.0 and fid.set_level
    assert fid.needs == ("classifier",)
    assert not any(get_metric(m).needs or get_metric(m).set_level for m in ("ssim", "psnr", "mse"))


def test_tally_over_chunks_equals_the_metrics_of_the_whole_set():
    from semcom.metrics.classifier import classifier_fid
    from semcom.metrics.quality import MetricTally

    g = torch.Generator().manual_seed(2)
    x = torch.rand(60, 1, 28, 28, generator=g)
    noisy = (x + 0.3 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    judge, labels = _Judge(), _Judge().predict(x)
    names = ["ssim", "accuracy", "fid"]
    tally = MetricTally([get_metric(m) for m in names], points=2)
    for xs, ns, ls in zip(x.split(25), noisy.split(25), labels.split(25), strict=True):
        tally.add(1, ns, xs, labels=ls, classifier=judge)
        tally.add(0, xs, xs, labels=ls, classifier=judge)
    whole = tally.values(1)
    assert whole["ssim"] == pytest.approx(get_metric("ssim").fn(noisy, x).mean().item(), rel=1e-5)
    expected_acc = (judge.predict(noisy) == labels).float().mean().item()
    assert whole["accuracy"] == pytest.approx(expected_acc)
    assert whole["fid"] == pytest.approx(classifier_fid(judge, x, noisy), rel=1e-6)
    assert tally.values(0) == pytest.approx({"ssim": 1.0, "accuracy": 1.0, "fid": 0.0}, abs=1e-5)


def test_register_metric_refuses_unknown_needs():
    from semcom.metrics.quality import register_metric

    with pytest.raises(ValueError, match="`needs` must name items of"):
        register_metric("x", higher_is_better=True, baseline=0.0, needs=("weather",))
