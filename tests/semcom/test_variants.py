"""Every registered model variant trains on real digits and round-trips through the model store."""

from __future__ import annotations

import copy

import pytest
import torch

from semcom.models import VARIANTS, Autoencoder
from semcom.models.training import TrainConfig, get_or_train, train_autoencoder
from semcom.study.store import ModelStore

N_IMAGES = 192  # three minibatches of 64


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_trains_one_epoch_and_round_trips_through_the_store(
    variant, mnist, tmp_path, monkeypatch
):
    train, test = mnist
    store = ModelStore(tmp_path)
    cfg = TrainConfig(variant=variant, latent_dim=4, epochs=1, seed=1)
    data_key = {"name": "mnist-embedded", "subset": N_IMAGES}
    trained = get_or_train(cfg, train.images[:N_IMAGES], data_key, store, progress=False)

    torch.manual_seed(cfg.seed)  # the initial weights training starts from
    init = Autoencoder(variant, 4, (1, 28, 28)).state_dict()
    state = {k: v.clone() for k, v in trained.model.state_dict().items()}
    assert any(not torch.equal(state[k], init[k]) for k in init), "one epoch changes the weights"
    assert not trained.model.training and trained.sigma_z > 0
    x = test.images[:8]
    out = copy.deepcopy(trained.model).train()(x, dataset_size=N_IMAGES,
                                               generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(out.loss) and out.reg_loss.shape == ()
    assert (out.reg_loss == 0) == (VARIANTS[variant].regularizer is None)

    def no_training(*args, **kwargs):
        raise AssertionError("the store should have supplied this model")

    monkeypatch.setattr("semcom.models.training.train_autoencoder", no_training)
    loaded = get_or_train(cfg, train.images[:N_IMAGES], data_key, store, progress=False)
    assert loaded.key == trained.key and loaded.meta["train"]["variant"] == variant
    assert loaded.sigma_z == pytest.approx(trained.sigma_z)
    assert not loaded.model.training
    for k, v in loaded.model.state_dict().items():
        assert torch.equal(v, state[k]), k
    with torch.no_grad():
        z = trained.model.encode(x)
        assert z.shape == (8, trained.model.latent_dim if VARIANTS[variant].nets else 4)
        assert torch.equal(loaded.model.encode(x), z)
        assert torch.equal(loaded.model.decode(z), trained.model.decode(z))



def test_training_leaves_the_global_generator_as_it_was_and_is_reproducible():
    """Weight init is seeded inside ``fork_rng``: a caller's own draws are not reset by a training run."""
    images = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    cfg = TrainConfig(variant="ae", latent_dim=4, epochs=1, batch_size=16, seed=3)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = train_autoencoder(cfg, images, progress=False)
    assert torch.equal(torch.rand(3), expected)  # as if no training had happened in between
    second = train_autoencoder(cfg, images, progress=False)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
