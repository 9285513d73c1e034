"""Data set spec, the loaded-split record, the registry and the split helpers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "DATASETS",
    "SPLITS",
    "DataSpec",
    "DatasetNotFoundError",
    "ImageData",
    "load_dataset",
    "register_dataset",
    "stratified_choice",
]

logger = logging.getLogger(__name__)

SPLITS = ("train", "test")
"""The split names every loader understands."""

Loader = Callable[["DataSpec", str], "ImageData"]

DATASETS: dict[str, Loader] = {}
"""Data set name -> loader ``(spec, split) -> ImageData``; filled by :func:`register_dataset`.

The first line of each loader's docstring describes the data set (``semcom list``).
"""


def register_dataset(name: str) -> Callable[[Loader], Loader]:
    """Decorator that adds a loader ``(spec, split) -> ImageData`` to :data:`DATASETS`."""

    def decorate(loader: Loader) -> Loader:
        if name in DATASETS:
            raise ValueError(f"data set {name!r} is already registered")
        DATASETS[name] = loader
        return loader

    return decorate


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are not where the spec says; the message says how to fix it."""


def _check_optional_int(field: str, value: object, minimum: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`data.{field}` must be an integer or None; got {value!r}")
    if value < minimum:
        raise ValueError(f"`data.{field}` must be ≥ {minimum}; got {value}")


@dataclass(frozen=True)
class DataSpec:
    """Which images to load. Frozen; checked at construction.

    Attributes:
        name: a key of :data:`DATASETS`: ``"mnist-embedded"`` (default, offline),
            ``"mnist"``, ``"fashion-mnist"``, ``"celeba"`` or ``"image-folder"``.
        root: folder holding the files of torchvision data sets (default: the
            ``data/`` folder of :func:`semcom.paths.cache_dir`); required for
            ``"image-folder"``; ignored by ``"mnist-embedded"``.
        download: fetch missing torchvision files (needs the network).
        image_size: side of the square images in pixels; ``None`` keeps the data
            set's own (28 for the MNISTs, 64 for CelebA and image folders).
        seed: seeds every split and subset drawn here (numpy ``default_rng``).
        train_size, test_size: keep at most this many images of the split, a
            seeded class-stratified subset where labels exist; ``None`` keeps all.
    """

    name: str = "mnist-embedded"
    root: str | None = None
    download: bool = False
    image_size: int | None = None
    seed: int = 0
    train_size: int | None = None
    test_size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"`data.name` must be a string; got {self.name!r}")
        if self.name not in DATASETS:
            valid = ", ".join(repr(n) for n in sorted(DATASETS))
            raise ValueError(f"`data.name` must be one of {valid}; got {self.name!r}")
        if self.root is not None and not isinstance(self.root, str):
            raise TypeError(f"`data.root` must be a string or None; got {self.root!r}")
        if not isinstance(self.download, bool):
            raise TypeError(f"`data.download` must be true or false; got {self.download!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TypeError(f"`data.seed` must be an integer; got {self.seed!r}")
        if self.seed < 0:
            raise ValueError(f"`data.seed` must be ≥ 0; got {self.seed}")
        _check_optional_int("image_size", self.image_size, 1)
        _check_optional_int("train_size", self.train_size, 1)
        _check_optional_int("test_size", self.test_size, 1)

    def store_key(self) -> dict[str, object]:
        """The data part of a trained model's store key (docs/design.md §6): name, seed, training subset."""
        return {"name": self.name, "seed": self.seed, "train_size": self.train_size}

    def size_limit(self, split: str) -> int | None:
        """``train_size`` or ``test_size``, whichever belongs to ``split``."""
        return self.train_size if split == "train" else self.test_size


@dataclass(frozen=True, eq=False)
class ImageData:
    """One loaded split.

    Attributes:
        images: ``[N, C, H, W]`` float32 in ``[0, 1]``.
        labels: ``[N]`` int64 class indices in ``[0, num_classes)``, or ``None``.
        name: the data set's registry name.
        num_classes: number of classes, or ``None`` without labels.
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    name: str
    num_classes: int | None

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != torch.float32:
            raise ValueError(
                "`images` must be a float32 [N, C, H, W] tensor; "
                f"got {self.images.dtype} {tuple(self.images.shape)}"
            )
        if self.labels is not None and (
            self.labels.dtype != torch.int64 or self.labels.shape != self.images.shape[:1]
        ):
            raise ValueError(
                f"`labels` must be an int64 [{len(self.images)}] tensor; "
                f"got {self.labels.dtype} {tuple(self.labels.shape)}"
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of one image, ``(C, H, W)``."""
        c, h, w = self.images.shape[1:]
        return (c, h, w)

    def __len__(self) -> int:
        return self.images.shape[0]


def load_dataset(spec: DataSpec, *, split: str) -> ImageData:
    """Load split ``"train"`` or ``"test"`` of the data set ``spec`` names, whole, as tensors.

    >>> data = load_dataset(DataSpec(test_size=20), split="test")
    >>> len(data), data.shape, data.num_classes
    (20, (1, 28, 28), 10)
    """
    if not isinstance(spec, DataSpec):
        raise TypeError(f"`spec` must be a DataSpec; got {type(spec).__name__}")
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {', '.join(map(repr, SPLITS))}; got {split!r}")
    return DATASETS[spec.name](spec, split)


def stratified_choice(
    labels: np.ndarray | None, n: int, *, num: int | None = None, seed: int, stream: int = 0
) -> np.ndarray:
    """Pick ``n`` indices, each class keeping its share (largest-remainder rounding).

    ``labels`` is ``[num]`` integer classes, or ``None`` for a plain random pick of
    ``n`` out of ``num``. ``(seed, stream)`` seeds the draw, so one seed can
    drive independent draws. Returns the indices in a seeded random order.
    """
    rng = np.random.default_rng([seed, stream])
    if labels is None:
        if num is None:
            raise ValueError("`num` is required when `labels` is None")
        return rng.choice(num, size=n, replace=False)
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    quota = n * counts / len(labels)
    take = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - take), kind="stable")  # largest remainders first
    take[order[: n - take.sum()]] += 1
    picked = [
        rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, take, strict=True)
    ]
    return rng.permutation(np.concatenate(picked))


def stratified_split(labels: np.ndarray, n_test: int, *, seed: int) -> dict[str, np.ndarray]:
    """Split ``range(len(labels))`` into disjoint ``train`` / ``test`` index arrays."""
    test = stratified_choice(labels, n_test, seed=seed, stream=0)
    mask = np.ones(len(labels), dtype=bool)
    mask[test] = False
    rng = np.random.default_rng([seed, 1])
    return {"train": rng.permutation(np.flatnonzero(mask)), "test": test}


def limit(spec: DataSpec, split: str, labels: np.ndarray | None, num: int) -> np.ndarray | None:
    """Indices of the seeded subset that ``spec``'s size limit keeps, or ``None`` for all."""
    n = spec.size_limit(split)
    if n is None or n >= num:
        if n is not None and n > num:
            logger.info(
                "%s %s split has %d images; `%s_size` %d keeps all", spec.name, split, num, split, n
            )
        return None
    return stratified_choice(labels, n, num=num, seed=spec.seed, stream=2 + SPLITS.index(split))


def to_images(uint8: torch.Tensor, image_size: int) -> torch.Tensor:
    """``[N, C, H, W]`` (or ``[N, H, W]``) uint8 -> float32 in [0, 1], resized to ``image_size``."""
    x = uint8.unsqueeze(1) if uint8.ndim == 3 else uint8
    x = x.to(torch.float32).div_(255.0)
    if x.shape[-2:] != (image_size, image_size):
        x = F.interpolate(
            x, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False
        ).clamp_(0.0, 1.0)
    return x.contiguous()
