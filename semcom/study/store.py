"""Content-addressed model store: safetensors weights + JSON metadata.

Key = SHA-256 of the canonical JSON of everything that determines the
weights (training config, data spec, seed, base model for fine-tuned ones).
Each entry is a folder ``<root>/models/<key>/`` holding ``weights.safetensors``
and ``meta.json``; the metadata records the weights' SHA-256 and its own, so
a corrupt, truncated or tampered entry is detected and reported instead of
loaded (and then rebuilt by its caller). Only safetensors are ever read: no
pickle is loaded. ``semcom cache list|verify|clear`` works on these entries.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from semcom.fileio import atomic_write_bytes, atomic_write_text
from semcom.study.key_lock import KeyLocks

__all__ = ["ModelStore", "StoreEntry", "EntryInfo", "CorruptEntryError", "config_key",
           "atomic_write_bytes", "atomic_write_text"]

log = logging.getLogger(__name__)


def config_key(config: dict[str, Any]) -> str:
    """Stable 16-hex-digit key of a JSON-serialisable config (order-independent)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _meta_digest(meta: dict[str, Any]) -> str:
    """SHA-256 of the metadata's canonical JSON, leaving out the field that holds it."""
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class CorruptEntryError(ValueError):
    """A store entry failing its integrity check; ``str`` says why."""


@dataclass(frozen=True)
class StoreEntry:
    """A loaded entry: tensors by name and the metadata written with them."""

    key: str
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]


@dataclass(frozen=True)
class EntryInfo:
    """One store folder as ``semcom cache list`` shows it (``kind`` None when unreadable)."""

    key: str
    kind: str | None
    size: int
    created: str
    complete: bool


def _entry_info(path: Path) -> EntryInfo:
    files = [f for f in path.rglob("*") if f.is_file()]
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    stamp = max((f.stat().st_mtime for f in files), default=path.stat().st_mtime)
    when = datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")
    created = str(meta.get("created") or when)
    size = sum(f.stat().st_size for f in files)
    return EntryInfo(path.name, meta.get("kind"), size, created, (path / "meta.json").is_file())


class ModelStore:
    """Model store rooted at ``root`` (the CLI uses ``$SEMCOM_CACHE`` or the user cache dir)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._locks = KeyLocks(self.root)

    def _dir(self, key: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key):
            raise ValueError(f"store keys are 1 to 64 letters, digits, '-' or '_'; got {key!r}")
        return self.root / "models" / key

    def save(self, key: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Store ``tensors`` under ``key``; the metadata file is written last, so an
        entry without ``meta.json`` is unfinished and ignored."""
        try:
            self._save(key, tensors, meta)
        finally:
            self._locks.release(key)  # the build that :meth:`load` locked is over

    def _save(self, key: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        from safetensors.torch import save

        blob = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
        folder = self._dir(key)
        atomic_write_bytes(folder / "weights.safetensors", blob)
        full = {**meta, "key": key, "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "weights_sha256": hashlib.sha256(blob).hexdigest()}
        full["meta_sha256"] = _meta_digest(full)
        atomic_write_text(folder / "meta.json", json.dumps(full, indent=2, sort_keys=True))

    def _checked(self, key: str) -> tuple[dict[str, Any], bytes]:
        """The metadata and weights of a complete entry; :class:`CorruptEntryError` if they fail."""
        folder = self._dir(key)
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CorruptEntryError(f"meta.json is unreadable ({err.__class__.__name__})") from None
        if not isinstance(meta, dict) or meta.get("meta_sha256") != _meta_digest(meta):
            raise CorruptEntryError("meta.json does not match its recorded SHA-256 (edited?)")
        if meta.get("key") != key:
            raise CorruptEntryError(f"meta.json belongs to key {meta.get('key')!r}")
        try:
            blob = (folder / "weights.safetensors").read_bytes()
        except OSError as err:
            raise CorruptEntryError(f"weights are unreadable ({err.__class__.__name__})") from None
        if hashlib.sha256(blob).hexdigest() != meta.get("weights_sha256"):
            raise CorruptEntryError("weights do not match their recorded SHA-256 (damaged?)")
        return meta, blob

    def load(self, key: str) -> StoreEntry | None:
        """The entry for ``key``, or None if absent or failing its integrity check
        (then it is logged as a warning and removed, so it gets rebuilt).

        None also means "build it now": the caller then holds the key's build lock until it
        calls :meth:`save` (:mod:`semcom.study.key_lock`), and another process missing the same key
        waits here for that entry instead of building it a second time.
        """
        entry = self._load(key)
        if entry is not None:
            return entry
        self._locks.acquire(key)
        entry = self._load(key)  # built by another process while this one waited
        if entry is not None:
            self._locks.release(key)
        return entry

    def _load(self, key: str) -> StoreEntry | None:
        from safetensors import SafetensorError
        from safetensors.torch import load

        if not (self._dir(key) / "meta.json").is_file():
            return None
        try:
            meta, blob = self._checked(key)
            tensors = load(blob)
        except (CorruptEntryError, SafetensorError) as err:
            log.warning("model store entry %s is corrupt (%s); it will be rebuilt", key, err)
            self.remove(key)
            return None
        return StoreEntry(key, tensors, meta)

    def verify(self, key: str) -> str | None:
        """None if the entry for ``key`` is complete and intact, else why not (removes nothing)."""
        if not (self._dir(key) / "meta.json").is_file():
            return "incomplete (no meta.json: its writer was interrupted)"
        try:
            self._checked(key)
        except CorruptEntryError as err:
            return str(err)
        return None

    def remove(self, key: str) -> None:
        shutil.rmtree(self._dir(key), ignore_errors=True)

    def entries(self) -> list[EntryInfo]:
        """Every entry folder, complete or not, sorted by key."""
        folder = self.root / "models"
        paths = sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        return [_entry_info(p) for p in paths]

    def keys(self) -> list[str]:
        """Keys of the complete entries (those with ``meta.json``)."""
        return [e.key for e in self.entries() if e.complete]
