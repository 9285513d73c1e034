"""Each component owns its typed settings: the scenario validates an entry against the settings
class of its registered ``kind``, and the entries' dumps (store keys, journals, results.json) keep
the form they had when the schema listed every setting in one flat class."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from semcom.models.training_settings import train_channel
from semcom.study.scenario import ChannelConfig, TrainChannelConfig
from semcom.study.store import config_key

LINK_KEYS = [  # config_key of {channel entry's dump, snr_db: 1.0}, computed with main at 9485564
    ({"kind": "ideal"}, "ed4bb3d6031ffefc"),
    ({"kind": "awgn", "snr_db": [10.0], "equalizer": "zf"}, "148fc22430c7eb9f"),
    ({"kind": "rayleigh", "snr_db": [0.0, 20.0], "block_length": 4, "label": "ray"}, "c9396b4e3b223b2e"),
    ({"kind": "rician", "snr_db": [10.0], "k_factor_db": 3, "los_phase": 0.5}, "6c92eebb34a6ed25"),
    ({"kind": "tdl", "snr_db": [10.0], "model": "C", "delay_spread": 3e-7, "fft_size": 12, "speed": 3.0},
     "29d83aea27a60cbb"),
    ({"kind": "digital", "snr_db": [12.0], "bits": 6, "qam_order": 64, "fading": "rayleigh", "block_length": 8},
     "6477f58e82d5e9b2"),
]
TRAIN_KEYS = [  # (TrainChannel's key in the training spec, results.json's train_channel), main at 9485564
    ({"kind": "awgn", "snr_db": 10.0}, "048909ce0021b6ce", "20aafe6da085d0f7"),
    ({"kind": "rician", "snr_range": [0.0, 20.0], "k_factor_db": 6.0}, "036de643222ecdf0", "61ff63869a4567c3"),
    ({"kind": "ideal"}, "b51275848e6809dc", "3e27dfe222e0ba71"),
]


@pytest.mark.parametrize(("entry", "key"), LINK_KEYS, ids=[e["kind"] for e, _ in LINK_KEYS])
def test_link_part_of_hardened_receiver_keys_is_unchanged(entry, key):
    """A hardened receiver's store key holds its link's channel entry dump (semcom.study.jobs.HardenJob)."""
    assert config_key({**ChannelConfig(**entry).model_dump(mode="json"), "snr_db": 1.0}) == key


@pytest.mark.parametrize(("entry", "key", "shown"), TRAIN_KEYS, ids=[e["kind"] for e, *_ in TRAIN_KEYS])
def test_training_channel_keys_and_results_are_unchanged(entry, key, shown):
    cfg = TrainChannelConfig(**entry)
    assert config_key(asdict(train_channel(cfg))) == key
    assert config_key(cfg.model_dump(mode="json", exclude_none=True)) == shown


def test_channel_entry_holds_its_kinds_settings_class_with_its_defaults():
    from channels import RicianBlockChannel

    cfg = ChannelConfig(kind="rician", snr_db=[10.0], k_factor_db=3)
    assert type(cfg.own) is RicianBlockChannel.Settings
    assert (cfg.own.k_factor_db, cfg.own.los_phase, cfg.own.equalizer) == (3.0, None, "lmmse")
    assert cfg.settings() == {"k_factor_db": 3.0}  # what the entry sets, passed to the constructor
    again = ChannelConfig.model_validate(cfg.model_dump(exclude_unset=True))  # the controls' round trip
    assert again == cfg
