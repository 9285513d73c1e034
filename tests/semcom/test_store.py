"""Model store: round trip, reuse, integrity."""

import json

import torch

from semcom.study.store import ModelStore, config_key


def test_config_key_is_order_independent_and_sensitive():
    assert config_key({"a": 1, "b": [1, 2]}) == config_key({"b": [1, 2], "a": 1})
    assert config_key({"a": 1}) != config_key({"a": 2})


def test_round_trip(tmp_path):
    store = ModelStore(tmp_path)
    tensors = {"w": torch.randn(3, 4), "n": torch.tensor(7)}
    store.save("k1", tensors, {"sigma_z": 1.5})
    entry = store.load("k1")
    assert entry is not None and entry.meta["sigma_z"] == 1.5
    assert all(torch.equal(entry.tensors[k], v) for k, v in tensors.items())
    assert store.keys() == ["k1"]
    assert store.load("absent") is None


def test_flipped_byte_is_caught_and_entry_dropped(tmp_path, caplog):
    store = ModelStore(tmp_path)
    store.save("k", {"w": torch.ones(100)}, {})
    path = tmp_path / "models" / "k" / "weights.safetensors"
    blob = bytearray(path.read_bytes())
    blob[-5] ^= 0xFF
    path.write_bytes(bytes(blob))
    assert store.load("k") is None
    assert "corrupt" in caplog.text
    assert store.keys() == []


def test_entry_without_metadata_is_unfinished(tmp_path):
    store = ModelStore(tmp_path)
    store.save("k", {"w": torch.ones(2)}, {})
    (tmp_path / "models" / "k" / "meta.json").unlink()
    assert store.load("k") is None


def test_metadata_records_weights_hash(tmp_path):
    import hashlib

    store = ModelStore(tmp_path)
    store.save("k", {"w": torch.ones(2)}, {"x": 1})
    meta = json.loads((tmp_path / "models" / "k" / "meta.json").read_text())
    blob = (tmp_path / "models" / "k" / "weights.safetensors").read_bytes()
    assert meta["weights_sha256"] == hashlib.sha256(blob).hexdigest()
