"""The reference classifier: accuracy on real digits, the store, FID maths against oracles."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import scipy.linalg
import torch

import semcom.metrics.classifier
from semcom.metrics.classifier import (
    ClassifierConfig,
    ClassifierNet,
    classifier_fid,
    frechet_distance,
    gaussian_fit,
    get_or_train_classifier,
    semantic_accuracy,
)
from semcom.study.store import ModelStore

DATA_KEY = {"name": "mnist-embedded", "subset": "all"}


@pytest.fixture(scope="module")
def store(classifier_store) -> ModelStore:
    return classifier_store


@pytest.fixture(scope="module")
def reference(reference_classifier):
    """The default reference classifier of the embedded MNIST (trained once per session)."""
    return reference_classifier


def test_accuracy_on_clean_test_digits(reference, mnist):
    test = mnist[1]
    pred = reference.predict(test.images)
    assert pred.dtype == torch.int64 and pred.shape == (len(test),)
    assert (pred == test.labels).float().mean().item() >= 0.95
    assert reference.meta["train_accuracy"] >= 0.95


def test_store_round_trip_does_not_retrain(reference, mnist, store, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("the stored classifier should have been loaded")

    monkeypatch.setattr(semcom.metrics.classifier, "train_classifier", no_training)
    train, test = mnist
    again = get_or_train_classifier(train.images, train.labels, 10, DATA_KEY, store, progress=False)
    assert again.key == reference.key
    assert again.meta["kind"] == "classifier" and again.meta["data"] == DATA_KEY
    for name, value in reference.net.state_dict().items():
        assert torch.equal(value, again.net.state_dict()[name])
    assert torch.equal(again.predict(test.images), reference.predict(test.images))


def test_another_seed_or_data_is_another_entry(mnist, store, monkeypatch, reference):
    calls = []

    def fake_training(cfg, images, labels, num_classes, **kwargs):
        calls.append(cfg)
        return ClassifierNet(images.shape[1], num_classes).eval()

    monkeypatch.setattr(semcom.metrics.classifier, "train_classifier", fake_training)
    train, _ = mnist
    other = get_or_train_classifier(train.images, train.labels, 10, DATA_KEY, store, seed=1)
    other_data = get_or_train_classifier(train.images, train.labels, 10, {"name": "x"}, store)
    assert len(calls) == 2 and calls[0] == ClassifierConfig(seed=1)
    assert len({reference.key, other.key, other_data.key}) == 3


def test_semantic_accuracy_of_clean_images_is_the_accuracy(reference, mnist):
    test = mnist[1]
    acc = semantic_accuracy(reference, test.images, test.labels)
    assert acc.shape == (len(test),) and acc.dtype == torch.float32
    assert set(acc.unique().tolist()) <= {0.0, 1.0}
    expected = (reference.predict(test.images) == test.labels).float().mean()
    assert acc.mean().item() == pytest.approx(expected.item())
    blank = semantic_accuracy(reference, torch.zeros_like(test.images), test.labels)
    assert blank.mean() < 0.5  # one constant image cannot be every class


def test_features_shape_and_gradient(reference, mnist):
    x = mnist[1].images[:5].clone().requires_grad_(True)
    f = reference.features(x)
    assert f.shape == (5, ClassifierNet.feature_dim)
    f.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_wrong_inputs_are_rejected(reference, mnist):
    test = mnist[1]
    with pytest.raises(ValueError, match="image shape"):
        reference.predict(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="labels"):
        semantic_accuracy(reference, test.images[:4], test.labels[:3])
    with pytest.raises(TypeError, match="num_classes"):
        get_or_train_classifier(test.images, test.labels, 10.0, DATA_KEY, ModelStore("unused"))
    with pytest.raises(ValueError, match="epochs"):
        ClassifierConfig(epochs=0)


def test_classifier_fid_is_zero_on_the_same_set_and_grows_with_noise(reference, mnist):
    x = mnist[1].images
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(x.shape, generator=g)
    assert classifier_fid(reference, x, x.clone()) == pytest.approx(0.0, abs=1e-6)
    fids = [classifier_fid(reference, x, (x + s * noise).clamp(0, 1)) for s in (0.1, 0.3, 0.6)]
    assert 0 < fids[0] < fids[1] < fids[2]


# ---------------------------------------------------------------- Fréchet distance


def _random_cov(rng: np.random.Generator, f: int, rank: int | None = None) -> np.ndarray:
    a = rng.standard_normal((f, rank or f))
    return a @ a.T / f


def test_frechet_of_identical_gaussians_is_zero():
    rng = np.random.default_rng(0)
    mu, s = rng.standard_normal(6), _random_cov(rng, 6)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-9)


def test_frechet_of_diagonal_gaussians_has_a_closed_form():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    v1, v2 = rng.uniform(0.1, 3, 5), rng.uniform(0.1, 3, 5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2))
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(
        expected, rel=1e-10
    )


@pytest.mark.parametrize("rank", [None, 3])  # full and singular covariances
def test_frechet_matches_scipy_sqrtm(rank):
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.standard_normal(8), rng.standard_normal(8)
    s1, s2 = _random_cov(rng, 8, rank), _random_cov(rng, 8)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * root)
    got = frechet_distance(mu1, s1, mu2, s2)
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-8)
    assert got == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-7)  # symmetric


def test_frechet_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="covariances"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_gaussian_fit_matches_numpy():
    f = np.random.default_rng(3).standard_normal((50, 4))
    mu, s = gaussian_fit(torch.from_numpy(f).float())
    assert np.allclose(mu, f.astype(np.float32).mean(0), atol=1e-6)
    assert np.allclose(s, np.cov(f.astype(np.float32), rowvar=False), atol=1e-6)
    with pytest.raises(ValueError, match="N ≥ 2"):
        gaussian_fit(np.zeros((1, 4)))


def test_docstring_examples_run():
    assert doctest.testmod(semcom.metrics.classifier).failed == 0
