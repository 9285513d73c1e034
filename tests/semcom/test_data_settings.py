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


LOADED = [  # (DataSpec keywords, split, images, first 16 hex digits of the images' sha256, first ten labels)
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


# ----------------------------------------------------------------- each data set owns its settings

SCENARIO = {
    "name": "data",
    "models": [{"variant": "ae", "latent_dim": 4, "epochs": 1}],
    "channels": [{"kind": "ideal"}],
    "adversary": {"eps": [0, 1], "attacks": [{"kind": "gaussian"}]},
}

BAD_DATA = [  # (the data entry, the one line `semcom validate` prints after the file name)
    # no files to read:
    ({"root": "/data"}, "data.root: unknown key; the mnist-embedded data set's settings are `image_size`"),
    ({"download": True}, "data.download: unknown key; the mnist-embedded data set's settings are `image_size`"),
    ({"name": "image-folder"}, "data.root: required key is missing"),
    ({"name": "image-folder", "root": "/faces", "download": True},
     "data.download: unknown key; the image-folder data set's settings are `image_size`, `root`"),
    ({"name": "mnist", "image_size": 0}, "data.image_size: must be ≥ 1; got 0"),
    ({"name": "celeba", "colour": "red"},
     "data.colour: unknown key; the celeba data set's settings are `image_size`, `root`, `download`"),
    # not a way round the check:
    ({"own": {}}, "data.own: unknown key; the mnist-embedded data set's settings are `image_size`"),
    ({"name": "svhn"}, "data.name: must be one of 'celeba', 'fashion-mnist', 'image-folder', 'mnist', "
                       "'mnist-embedded'; got 'svhn'"),
    ({"test_samples": 0}, "data.test_samples: must be ≥ 1; got 0"),
]


@pytest.mark.parametrize(("data", "line"), BAD_DATA, ids=[line.split(":")[0] + str(i) for i, (_, line) in
                                                          enumerate(BAD_DATA)])
def test_a_setting_the_data_set_does_not_take_is_one_line_naming_the_key(tmp_path, data, line):
    import yaml
    from click.testing import CliRunner

    from semcom.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SCENARIO, "data": data}))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [f"error: {path}: {line}"]


def test_data_entry_holds_its_data_sets_class_and_the_runtime_reads_it():
    from semcom.data.image_folder import ImageFolder
    from semcom.data.mnist import MNIST

    cfg = DataConfig(name="mnist", root="/x", image_size=14)
    assert type(cfg.own) is MNIST and (cfg.own.root, cfg.own.download, cfg.own.side) == ("/x", False, 14)
    spec = cfg.spec(5)
    assert isinstance(spec, DataSpec) and spec.own is cfg.own and (spec.seed, spec.name) == (5, "mnist")
    assert type(DataSpec(name="image-folder", root="f").own) is ImageFolder
    # the dump-only keys of before: every data set accepts them at their defaults (resolved scenarios)
    assert DataConfig(root=None, download=False) == DataConfig()
    with pytest.raises(ValueError, match="unknown key; the mnist-embedded data set's settings are `image_size`"):
        DataSpec(root="/data")  # the Python API says which settings the data set takes too


def test_image_size_reaches_the_loader_and_the_store_key():
    """A set ``image_size`` changes the images, so it enters the store key and the dump; unset, neither
    changes (the pinned keys above)."""
    cfg = DataConfig(test_samples=4, image_size=14)
    data = load_dataset(cfg.spec(0), split="test")
    assert data.images.shape == (4, 1, 14, 14)
    assert cfg.spec(0).store_key() == {"name": "mnist-embedded", "seed": 0, "train_size": None, "image_size": 14}
    assert cfg.model_dump(mode="json")["image_size"] == 14
    assert "image_size" not in DataConfig(test_samples=4).model_dump(mode="json")
    assert DataConfig.model_validate(cfg.model_dump(mode="json")) == cfg


def test_scenario_validate_reports_no_data_key_it_does_not_check():
    """The Python spelling ``train_size`` belongs to :class:`DataSpec`, not to a scenario's entry."""
    from pydantic import ValidationError

    assert DataSpec(train_size=7).train_samples == 7
    with pytest.raises(ValidationError):
        DataConfig(train_size=7)
