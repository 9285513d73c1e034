"""Training's per-epoch losses, early stopping, and store keys untouched by the new settings."""

from __future__ import annotations

import torch

from semcom.models.training import EarlyStopping, TrainConfig, train_autoencoder, train_spec
from semcom.study.scenario import ModelConfig
from semcom.study.store import config_key


def test_a_model_entry_without_the_new_settings_keeps_its_store_key():
    """The key main computed before training through the channel existed (hard-coded oracle)."""
    cfg = TrainConfig.from_entry(ModelConfig(variant="vae-kld", latent_dim=10, epochs=20), 0)
    spec = {"kind": "autoencoder", "train": train_spec(cfg),
            "data": {"name": "mnist-embedded", "seed": 0, "train_size": None}}
    assert config_key(spec) == "770053e514420c0a"
    through = TrainConfig.from_entry(ModelConfig(variant="vae-kld", latent_dim=10, epochs=20,
                                       train_channel={"kind": "awgn", "snr_db": 10}), 0)
    assert config_key({**spec, "train": train_spec(through)}) != "770053e514420c0a"


def test_history_has_a_loss_per_epoch_and_validation_loss_when_asked(mnist):
    images = mnist[0].images[:96]
    plain = train_autoencoder(TrainConfig("ae", latent_dim=4, epochs=2, batch_size=32), images, progress=False)
    assert [sorted(h) for h in plain.train_history] == [["epoch", "loss"]] * 2
    stop = EarlyStopping(patience=5, val_fraction=0.25)
    watched = train_autoencoder(TrainConfig("ae", latent_dim=4, epochs=2, batch_size=32, early_stopping=stop),
                                images, progress=False)
    assert all(h["val_loss"] > 0 for h in watched.train_history) and len(watched.train_history) == 2


def test_early_stopping_stops_when_validation_loss_stops_improving(mnist):
    """No improvement counts (``min_delta`` huge): training stops after 1 + patience epochs, not 10,
    and keeps the first epoch's weights."""
    images = mnist[0].images[:64]
    cfg = TrainConfig("ae", latent_dim=4, epochs=10, batch_size=32,
                      early_stopping=EarlyStopping(patience=2, val_fraction=0.25, min_delta=1e9))
    model = train_autoencoder(cfg, images, progress=False)
    assert len(model.train_history) == 3
    once = train_autoencoder(TrainConfig("ae", latent_dim=4, epochs=1, batch_size=32,
                                         early_stopping=cfg.early_stopping), images, progress=False)
    assert all(torch.equal(v, once.state_dict()[k]) for k, v in model.state_dict().items())
    assert not model.training
