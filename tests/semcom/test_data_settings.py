"""Data sets own their typed settings; what a user has stays identical.

The pinned values below were computed on main at 03959c5, before the data sets owned their
settings: the data part of a trained model's store key, the scenario's ``data`` dump (a point's
journal fingerprint and ``scenario.resolved.json`` hold it) and the images loaded.
"""

from __future__ import annotations

import hashlib

import pytest

from semcom.data import DataSpec, load_dataset
from semcom.study.scenario import DataConfig
from semcom.study.store import config_key

DATA_KEYS = [  # (entry, seed, config_key of the store key's data part, of the dump, of the dump without unset)
    ({}, 0, "fd404542ee84ec0f", "17fbb778a8ca41ba", "44136fa355b3678a"),
    ({"train_samples": 200, "test_samples": 8}, 1, "13252117b4fa9ca7", "2f86848625ce2433", "a37a53048f5a3990"),
    ({"name": "mnist", "root": "/x", "download": True, "train_samples": 1000}, 7,
     "05bb45de1982f227", "ef3f0b432d8f38ba", "a43e5c34c5f9bb36"),
    ({"name": "fashion-mnist", "test_samples": 50}, 3, "3bea8fa9e9f3c0bc", "c77aaf6fc6b49821", "ba4ccd460d824ae2"),
    ({"name": "image-folder", "root": "/data/faces"}, 2, "6e09f9b6227a712d", "fbc11bd0728a3366", "8d338afb6fdc1cec"),
    ({"name": "celeba", "train_samples": 5000}, 0, "5bafa09ff330c6fb", "48cc6916b0694170", "b3d2a18bf10bd7cf"),
]


@pytest.mark.parametrize(("entry", "seed", "key", "dump", "unset"), DATA_KEYS,
                         ids=[f"{e.get('name', 'default')}-{s}" for e, s, *_ in DATA_KEYS])
def test_data_part_of_store_keys_and_dumps_are_unchanged(entry, seed, key, dump, unset):
    """The runner's ``data_key`` (every trained model's and classifier's store key holds it) and the
    entry's dumps (journal fingerprints, resolved scenario, the controls' round trip)."""
    cfg = DataConfig(**entry)
    assert config_key(cfg.spec(seed).store_key()) == key
    assert config_key(cfg.model_dump(mode="json")) == dump
    assert config_key(cfg.model_dump(mode="json", exclude_unset=True)) == unset
    assert DataConfig.model_validate(cfg.model_dump(mode="json")) == cfg  # `semcom report` re-reads it
    assert DataConfig.model_validate(cfg.model_dump(mode="json", exclude_unset=True)) == cfg


LOADED = [  # (DataSpec keywords, split, images, the first 16 hex digits of the float32 images' sha256, first ten labels)
    ({"seed": 3, "train_size": 50, "test_size": 20}, "train", 50, "fef990104bd5f522", [2, 6, 6, 6, 9, 5, 5, 2, 1, 2]),
    ({"seed": 3, "train_size": 50, "test_size": 20}, "test", 20, "1480d308ba7d221f", [5, 1, 2, 0, 9, 4, 7, 8, 4, 6]),
    ({"seed": 0, "test_size": 20, "image_size": 14}, "train", 4000, "4009c875759fb002",
     [8, 5, 3, 1, 1, 5, 3, 1, 7, 4]),
    ({"seed": 0, "test_size": 20, "image_size": 14}, "test", 20, "8d1e14e9d3576b51", [2, 3, 3, 8, 0, 0, 9, 4, 7, 5]),
]


@pytest.mark.parametrize(("kwargs", "split", "n", "digest", "labels"), LOADED,
                         ids=[f"{s}-{i}" for i, (_, s, *_) in enumerate(LOADED)])
def test_embedded_images_loaded_are_unchanged(kwargs, split, n, digest, labels):
    data = load_dataset(DataSpec(**kwargs), split=split)
    assert len(data) == n
    assert hashlib.sha256(data.images.numpy().tobytes()).hexdigest()[:16] == digest
    assert data.labels[:10].tolist() == labels
