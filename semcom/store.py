"""Content-addressed model store: safetensors weights + JSON metadata.

Key = SHA-256 of the canonical JSON of everything that determines the
weights (training config, data spec, seed, base model for fine-tuned ones).
Each entry is a folder ``<root>/models/<key>/`` holding ``weights.safetensors``
and ``meta.json``; the metadata records the weights' SHA-256 so a corrupt or
tampered entry is detected and reported instead of loaded. Only safetensors
are ever read: no pickle is loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

__all__ = ["ModelStore", "StoreEntry", "config_key", "atomic_write_bytes", "atomic_write_text"]

log = logging.getLogger(__name__)


def config_key(config: dict[str, Any]) -> str:
    """Stable 16-hex-digit key of a JSON-serialisable config (order-independent)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@dataclass(frozen=True)
class StoreEntry:
    """A loaded entry: tensors by name and the metadata written with them."""

    key: str
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]


class ModelStore:
    """Model store rooted at ``root`` (the CLI uses ``$SEMCOM_CACHE`` or the user cache dir)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def _dir(self, key: str) -> Path:
        return self.root / "models" / key

    def save(self, key: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Store ``tensors`` under ``key``; the metadata file is written last, so an
        entry without ``meta.json`` is unfinished and ignored."""
        from safetensors.torch import save

        blob = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
        folder = self._dir(key)
        atomic_write_bytes(folder / "weights.safetensors", blob)
        full = {**meta, "key": key, "weights_sha256": hashlib.sha256(blob).hexdigest()}
        atomic_write_text(folder / "meta.json", json.dumps(full, indent=2, sort_keys=True))

    def load(self, key: str) -> StoreEntry | None:
        """The entry for ``key``, or None if absent or failing its integrity check
        (then it is logged as a warning and removed, so it gets rebuilt)."""
        from safetensors.torch import load

        folder = self._dir(key)
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            blob = (folder / "weights.safetensors").read_bytes()
            if hashlib.sha256(blob).hexdigest() != meta.get("weights_sha256"):
                raise ValueError("weights do not match their recorded SHA-256")
            tensors = load(blob)
        except (OSError, ValueError, json.JSONDecodeError) as err:
            log.warning("model store entry %s is corrupt (%s); it will be rebuilt", key, err)
            shutil.rmtree(folder, ignore_errors=True)
            return None
        return StoreEntry(key, tensors, meta)

    def keys(self) -> list[str]:
        folder = self.root / "models"
        return sorted(p.name for p in folder.iterdir() if (p / "meta.json").is_file()) if folder.is_dir() else []
