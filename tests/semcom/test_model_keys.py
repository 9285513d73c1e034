"""Model-store keys of trained models never change (issue 15: "nothing a user has breaks").

A scenario's model entries go the way a run takes them: parsed from a scenario mapping, planned by
the runner (``semcom.study.runner._plan``: the training job and its name ``train:<key of the
TrainConfig>``), trained or loaded by :func:`semcom.models.training.get_or_train`, or, for a trained
plug-in, by :func:`semcom.models.plugins.load_plugin`. The hex values were computed on main at
03959c5, before model variants owned their settings and before ``TrainConfig`` was built in one place;
a store written then must be found again without retraining. The entries' dumps (a point's journal
fingerprint, ``results.json``) are pinned too.
"""

from __future__ import annotations

import pytest
import torch

from semcom.models.plugins import load_plugin
from semcom.models.training import get_or_train, train_spec
from semcom.study.runner import _plan, grid
from semcom.study.scenario import parse_scenario
from semcom.study.store import config_key

DATA_KEY = {"name": "mnist-embedded", "seed": 0, "train_size": None}

MODELS = {  # label: (entry, config_key(train_spec(cfg)), get_or_train's store key)
    "kld": ({"variant": "vae-kld"}, "c893dc74ed1878a2", "acd3eabaeb8a6770"),
    "mmd": ({"variant": "vae-mmd", "weight": 50}, "4f8aa589051fc651", "60c80f5a91c06991"),
    "tcvae": ({"variant": "tcvae", "latent_dim": 8, "epochs": 3, "batch_size": 32, "lr": 2e-3},
              "70fe86fb1cb7802a", "082c59f4dafcd633"),
    "jscc": ({"variant": "deepjscc", "bandwidth_ratio": 0.125}, "79da7b44a83d08b2", "b034dc8d66aaee34"),
    "jscc-power": ({"variant": "deepjscc", "power": "per_image"}, "77693f3429bb4496", "28bda7cb46f32609"),
    "swt-sigma": ({"variant": "dae-swt", "power": "sigma_z", "weight": 0}, "046df3c23ec19657", "468673d4109a2363"),
    "channel": ({"variant": "ae", "power": "per_image", "early_stopping": {"patience": 2, "val_fraction": 0.2},
                 "train_channel": {"kind": "rician", "snr_range": [0, 20], "k_factor_db": 3}},
                "1f45522d8849a4dd", "ed17d23eacce2730"),
    "alg1": ({"variant": "vae-kld", "adversarial": {"eps": 1.5, "steps": 5, "k": 2}},
             "dfdb13fbc4e4e428", "fd23e002bc2208c4"),
    "alg1-noise": ({"variant": "vae-mmd", "adversarial": {"kind": "noise", "eps": 0.5}},
                   "93a361cf767c4380", "8ab141248631c94f"),
}
CONTROLS = {  # Algorithm 1's controls (``auto_control``), added to the scenario as a run adds them
    "alg1-control": ("52f39d49fd0e6166", "57bbaa8b55fb1b65"),
    "alg1-noise-control": ("553046f165306689", "ce6fa40680b7a0cc"),
}

PLUGIN = ({"source": "python", "factory": "keys_factory:tiny", "epochs": 2, "regularizer": "mmd", "weight": 10,
           "train_channel": {"kind": "awgn", "snr_db": 10}}, "2be55dcef25a5b43")
"""A trained plug-in (``semcom.models.plugin_training``): its store key."""


def _scenario(models: list[dict]):
    doc = {"name": "keys", "seed": 3, "models": models, "adversary": {"eps": [0, 1], "attacks": [{"kind": "gaussian"}]}}
    return parse_scenario(doc, "keys.yaml")


def _planned():
    """``{model name: (the training job's name, its TrainJob)}`` as the runner plans them."""
    from semcom.defenses.controls import with_controls

    sc = with_controls(_scenario([{"label": label, **entry} for label, (entry, *_) in MODELS.items()]))
    plan = _plan(sc, list(grid(sc)), DATA_KEY, {}, ["mse"])
    return {name.removeprefix("model:"): (job, plan.train[job]) for name, job in plan.models.items()}


class _Found(Exception):
    """Raised by :class:`_KeyStore` so that nothing is trained: the key is all a test needs."""


class _KeyStore:
    """A model store that records the key looked up and stops there."""

    def load(self, key: str):
        raise _Found(key)


def _looked_up(fn, *args, **kwargs) -> str:
    with pytest.raises(_Found) as found:
        fn(*args, store=_KeyStore(), **kwargs)
    return found.value.args[0]


def _images() -> torch.Tensor:
    return torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("label", [*MODELS, *CONTROLS])
def test_built_in_models_keep_their_store_keys(label):
    job_name, job = _planned()[label]
    spec_key, store_key = MODELS[label][1:] if label in MODELS else CONTROLS[label]
    assert job_name == f"train:{config_key(train_spec(job.cfg))}"
    assert config_key(train_spec(job.cfg)) == spec_key
    assert _looked_up(lambda **kw: get_or_train(job.cfg, _images(), job.data_key, **kw)) == store_key


def test_trained_plug_in_keeps_its_store_key():
    sc = _scenario([PLUGIN[0]])
    key = _looked_up(lambda **kw: load_plugin(sc.models[0], 0, _images(), DATA_KEY, seed=sc.seed, **kw))
    assert key == PLUGIN[1]


ENTRY_DUMPS = {  # label: (config_key of the entry's dump, of its dump without unset keys), main at 03959c5
    "kld": ("6a1af979664dc747", "9fc98f31c1bb3268"),
    "mmd": ("e6f1881b52e8b219", "27dbeac042731b5f"),
    "jscc": ("ee52ba1bd8120556", "57e2d3ec960c933d"),
    "channel": ("d2dce1dba1b4f780", "269eff56df6170b1"),
    "alg1": ("801bf0d401a7fd55", "57c1ef97d8738262"),
}


@pytest.mark.parametrize("label", ENTRY_DUMPS)
def test_model_entry_dumps_are_unchanged(label):
    """A point's journal fingerprint and results.json hold the model entry's dump."""
    from semcom.study.scenario import ModelConfig

    (m,) = _scenario([{"label": label, **MODELS[label][0]}]).models
    assert config_key(m.model_dump(mode="json")) == ENTRY_DUMPS[label][0]
    assert config_key(m.model_dump(mode="json", exclude_unset=True)) == ENTRY_DUMPS[label][1]
    assert ModelConfig.model_validate(m.model_dump(exclude_unset=True)) == m


def test_train_config_reads_every_field_from_the_entry_by_name():
    """An entry that sets every training key off its default gives a TrainConfig with no field at its
    default: no field is forgotten or copied into the wrong place (``TrainConfig.from_entry``)."""
    from dataclasses import fields

    from semcom.models.training import TrainConfig

    (m,) = _scenario([{"variant": "deepjscc", "latent_dim": 7, "epochs": 4, "batch_size": 16, "lr": 0.01,
                       "power": "per_image", "bandwidth_ratio": 0.125, "adversarial": {"eps": 1.0},
                       "train_channel": {"kind": "awgn", "snr_db": 10}, "early_stopping": {"patience": 5}}]).models
    cfg = TrainConfig.from_entry(m, 9)
    at_default = [f.name for f in fields(TrainConfig) if getattr(cfg, f.name) == f.default]
    assert at_default == ["weight", "settings"]  # deepjscc has no regulariser and no further settings
    assert (cfg.variant, cfg.latent_dim, cfg.epochs, cfg.batch_size, cfg.lr, cfg.seed) == (
        "deepjscc", 7, 4, 16, 0.01, 9)
    assert (cfg.power, cfg.bandwidth_ratio, cfg.early_stopping.patience, cfg.train_channel.snr_db) == (
        "per_image", 0.125, 5, 10.0)
    assert cfg.adversarial == m.adversarial.hardening(9)
    (w,) = _scenario([{"variant": "tcvae", "weight": 3}]).models
    assert TrainConfig.from_entry(w, 0).weight == 3.0
