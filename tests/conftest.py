"""Shared fixtures: an isolated model store, one tiny VAE and the reference classifier,
trained on real MNIST digits."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Point $SEMCOM_CACHE at a session folder so tests never touch the user's cache."""
    old = os.environ.get("SEMCOM_CACHE")
    os.environ["SEMCOM_CACHE"] = str(tmp_path_factory.mktemp("semcom-cache"))
    yield
    if old is None:
        os.environ.pop("SEMCOM_CACHE", None)
    else:
        os.environ["SEMCOM_CACHE"] = old


@pytest.fixture(scope="session")
def mnist():
    """The embedded MNIST train and test splits (real digits, offline)."""
    from semcom.data import DataSpec, load_dataset

    spec = DataSpec(test_size=200)
    return load_dataset(spec, split="train"), load_dataset(spec, split="test")


@pytest.fixture(scope="session")
def tiny_vae(mnist, tmp_path_factory):
    """A small Vanilla VAE (latent 8) trained for a few epochs: the real training path."""
    from semcom.models.training import TrainConfig, get_or_train
    from semcom.study.store import ModelStore

    train, _ = mnist
    store = ModelStore(tmp_path_factory.mktemp("store"))
    cfg = TrainConfig(variant="vae-kld", latent_dim=8, epochs=5, seed=0)
    return get_or_train(cfg, train.images, {"name": "mnist-embedded", "subset": "all"}, store, progress=False)


@pytest.fixture(scope="session")
def classifier_store(tmp_path_factory):
    """The model store holding the session's reference classifier."""
    from semcom.study.store import ModelStore

    return ModelStore(tmp_path_factory.mktemp("classifier-store"))


@pytest.fixture(scope="session")
def reference_classifier(mnist, classifier_store):
    """The default reference classifier of the embedded MNIST (trained once per session)."""
    from semcom.metrics.classifier import get_or_train_classifier

    train, _ = mnist
    return get_or_train_classifier(
        train.images, train.labels, 10, {"name": "mnist-embedded", "subset": "all"},
        classifier_store, progress=False,
    )


@pytest.fixture(scope="session")
def semantic_vae(mnist, tmp_path_factory):
    """A Vanilla VAE (latent 10, the paper's MNIST size) trained until its reconstructions keep
    their digit class: for the semantic-accuracy checks."""
    from semcom.models.training import TrainConfig, get_or_train
    from semcom.study.store import ModelStore

    train, _ = mnist
    store = ModelStore(tmp_path_factory.mktemp("store"))
    cfg = TrainConfig(variant="vae-kld", latent_dim=10, epochs=5, batch_size=32, lr=3e-3, seed=0)
    return get_or_train(cfg, train.images, {"name": "mnist-embedded", "subset": "all"}, store,
                        progress=False)
