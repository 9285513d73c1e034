"""`semcom cache list|verify|clear`, and the store catching every kind of damage."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from semcom.cli import main
from semcom.study.store import ModelStore


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A store under ``$SEMCOM_CACHE`` with three intact entries of two kinds."""
    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path))
    store = ModelStore(tmp_path)
    store.save("a1", {"w": torch.arange(1000.0)}, {"kind": "autoencoder", "sigma_z": 1.5})
    store.save("b2", {"w": torch.ones(10)}, {"kind": "hardened-receiver"})
    store.save("c3", {"w": torch.zeros(10)}, {"kind": "classifier"})
    return store


def _cli(*args, input=None):
    result = CliRunner().invoke(main, ["cache", *args], input=input, catch_exceptions=False)
    return result.exit_code, result.output


def _flip_byte(store, key):
    path = store.root / "models" / key / "weights.safetensors"
    blob = bytearray(path.read_bytes())
    blob[-3] ^= 0x10
    path.write_bytes(bytes(blob))


def _truncate(store, key):
    path = store.root / "models" / key / "weights.safetensors"
    path.write_bytes(path.read_bytes()[:40])


def _edit_meta(store, key):
    path = store.root / "models" / key / "meta.json"
    meta = json.loads(path.read_text())
    meta["sigma_z"] = 99.0  # a plausible value; only the hash gives it away
    path.write_text(json.dumps(meta))


def _swap_meta(store, key):
    """The intact metadata of another entry."""
    (store.root / "models" / key / "meta.json").write_text(
        (store.root / "models" / "c3" / "meta.json").read_text())


def _drop_meta(store, key):
    (store.root / "models" / key / "meta.json").unlink()


def _garble_meta(store, key):
    (store.root / "models" / key / "meta.json").write_text("[1, 2")


DAMAGE = {
    "flipped byte": (_flip_byte, "weights do not match"),
    "truncated weights": (_truncate, "weights do not match"),
    "edited metadata": (_edit_meta, "meta.json does not match"),
    "metadata of another entry": (_swap_meta, "belongs to key 'c3'"),
    "unreadable metadata": (_garble_meta, "meta.json is unreadable"),
}


def test_list_shows_kind_size_and_creation(store):
    code, out = _cli("list")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split() == ["key", "kind", "size", "created"]
    row = next(line for line in lines if line.startswith("a1"))
    assert "autoencoder" in row and "kB" in row and "T" in row.split()[-1]
    assert "hardened-receiver" in out and "classifier" in out
    assert lines[-1].startswith("3 entries")


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_verify_and_load_catch_damage(store, damage, caplog):
    harm, reason = DAMAGE[damage]
    harm(store, "a1")
    code, out = _cli("verify")
    assert code == 1, out
    assert "bad a1: " in out and reason in out
    assert "3 entries checked, 1 bad" in out
    assert store.load("a1") is None, "a damaged entry is never loaded"
    assert "is corrupt" in caplog.text
    assert store.keys() == ["b2", "c3"], "it is dropped, to be rebuilt"
    assert store.load("b2") is not None


def test_verify_reports_incomplete_entries_and_prunes(store):
    _drop_meta(store, "b2")
    _flip_byte(store, "c3")
    code, out = _cli("verify", "--prune")
    assert code == 1
    assert "bad b2: incomplete" in out and "bad c3: weights do not match" in out
    assert out.count("; removed") == 2
    assert [e.key for e in store.entries()] == ["a1"]
    assert _cli("verify") == (0, "1 entries checked, 0 bad\n")


def test_list_marks_incomplete_entries(store):
    _drop_meta(store, "b2")
    code, out = _cli("list")
    assert code == 0 and "(incomplete)" in out and out.splitlines()[-1].startswith("3 entries")


def test_clear_asks_first(store):
    code, out = _cli("clear", input="n\n")
    assert code == 1 and "Aborted" in out
    assert len(store.keys()) == 3
    code, out = _cli("clear", input="y\n")
    assert code == 0 and "removed 3 entries" in out
    assert store.entries() == []
    assert _cli("clear") == (0, f"nothing to remove in {store.root / 'models'}\n")


def test_clear_yes_skips_the_question(store):
    code, out = _cli("clear", "--yes")
    assert code == 0 and "removed 3 entries" in out and "?" not in out
    assert store.keys() == []


def test_store_keys_cannot_name_paths(tmp_path):
    store = ModelStore(tmp_path)
    for key in ("../x", "a/b", "", "."):
        with pytest.raises(ValueError, match="store keys"):
            store.load(key)
