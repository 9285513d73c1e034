"""Checks and guards of a run folder's files: damaged samples, and the all-or-nothing result set.

* :func:`npy_intact` — a ``samples/<key>.npy`` cut short by a disk fault or a bad
  copy is detected from its header (shape and dtype give the size), so its
  journalled point is recomputed instead of failing every rerun.
* :func:`complete_set_or_none` — the result files (``results.csv``,
  ``report.md``, ``figures/``, then ``results.json`` last) are each written
  atomically; if any of them fails, those already written are removed again
  unless ``results.json`` (a finished run's mark) exists, so a reader never
  sees a partial set (docs/design.md §7).
"""

from __future__ import annotations

import contextlib
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["RESULT_FILES", "complete_set_or_none", "npy_intact", "point_files_intact"]

RESULT_FILES = ("results.csv", "report.md", "figures")
"""What ``write_outputs`` writes before ``results.json``."""


def npy_intact(path: Path) -> bool:
    """Whether ``path`` is a whole ``.npy`` file: a readable header and exactly the data it announces."""
    try:
        with open(path, "rb") as f:
            major, _ = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(f)
            offset = f.tell()
        size = Path(path).stat().st_size
    except (OSError, ValueError, EOFError, SyntaxError):
        return False
    if dtype.hasobject:
        return False
    return size == offset + dtype.itemsize * math.prod(shape)


def point_files_intact(out: Path, key: str) -> bool:
    """A journalled point's samples: the image grid whole, and its latents whole if present."""
    samples = Path(out) / "samples"
    latents = samples / f"{key}_latents.npy"
    return npy_intact(samples / f"{key}.npy") and (not latents.exists() or npy_intact(latents))


@contextlib.contextmanager
def complete_set_or_none(out: Path) -> Iterator[None]:
    """Around the writing of a run's result files: on failure, leave none of them behind
    (unless ``results.json`` exists: then the set of the finished run stays)."""
    try:
        yield
    except BaseException:
        if not (Path(out) / "results.json").exists():
            for name in RESULT_FILES:
                target = Path(out) / name
                with contextlib.suppress(OSError):
                    shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        raise
