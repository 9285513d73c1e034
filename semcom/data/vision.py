"""Data sets read through torchvision from a root folder: MNIST, Fashion-MNIST, CelebA, folders.

Files are looked for under ``spec.root`` (default ``cache_dir()/data``) in
torchvision's layouts and fetched only when ``spec.download`` is true. A
missing file raises :class:`DatasetNotFoundError` with a one-line fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from semcom.data.base import (
    DatasetNotFoundError,
    DataSpec,
    ImageData,
    limit,
    register_dataset,
    stratified_split,
    to_images,
)
from semcom.paths import cache_dir

__all__ = [
    "CELEBA_CROP",
    "IMAGE_FOLDER_TEST_FRACTION",
    "load_celeba",
    "load_fashion_mnist",
    "load_image_folder",
    "load_mnist",
]

CELEBA_CROP = 178
"""Side of the centre crop taken from the 178×218 aligned CelebA faces before resizing."""

IMAGE_FOLDER_TEST_FRACTION = 0.2
"""Share of an image folder held out (stratified, seeded) as its test split."""

_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})


def _root(spec: DataSpec) -> Path:
    return Path(spec.root).expanduser() if spec.root is not None else cache_dir() / "data"


def _mode(path: str) -> str:
    from PIL import Image

    with Image.open(path) as im:  # reads the header only
        return im.mode


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _from_uint8(
    spec: DataSpec,
    split: str,
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    size: int,
) -> ImageData:
    """Subset ``[N, (C,) H, W]`` uint8 images and their labels, then convert."""
    keep = limit(spec, split, labels.numpy(), len(labels))
    if keep is not None:
        index = torch.from_numpy(keep)
        images, labels = images[index], labels[index]
    return ImageData(
        images=to_images(images, size),
        labels=labels.to(torch.int64),
        name=spec.name,
        num_classes=num_classes,
    )


def _mnist_like(spec: DataSpec, split: str, cls_name: str) -> ImageData:
    from torchvision import datasets

    cls = getattr(datasets, cls_name)
    root = _root(spec)
    raw = root / cls_name / "raw"
    try:
        ds = cls(str(root), train=split == "train", download=spec.download)
    except RuntimeError as err:
        if spec.download:
            raise DatasetNotFoundError(
                f"could not download {cls_name} into '{raw}': {_first_line(err)}"
            ) from None
        files = ", ".join(Path(name).stem for name, _ in cls.resources)
        raise DatasetNotFoundError(
            f"{cls_name} files not found in '{raw}' (expected {files}); "
            "set `data.download: true` to fetch them, or put them there"
        ) from None
    return _from_uint8(spec, split, ds.data, ds.targets, 10, spec.image_size or 28)


@register_dataset("mnist")
def load_mnist(spec: DataSpec, split: str) -> ImageData:
    """MNIST, 60,000/10,000 handwritten digits, from ``root/MNIST/raw`` (torchvision)."""
    return _mnist_like(spec, split, "MNIST")


@register_dataset("fashion-mnist")
def load_fashion_mnist(spec: DataSpec, split: str) -> ImageData:
    """Fashion-MNIST, 60,000/10,000 clothes, from ``root/FashionMNIST/raw`` (torchvision)."""
    return _mnist_like(spec, split, "FashionMNIST")


@register_dataset("celeba")
def load_celeba(spec: DataSpec, split: str) -> ImageData:
    """CelebA aligned faces, 178-pixel centre crop resized to 64×64 RGB, unlabelled (torchvision).

    Files go in ``root/celeba/`` (``img_align_celeba/`` and the ``list_*.txt``
    files); downloading needs ``gdown``. The whole train split is ~160,000
    images (~7.9 GB as float32 at 64×64): set ``train_size`` at CPU scale.
    """
    from torchvision import datasets, transforms

    root = _root(spec)
    size = spec.image_size or 64
    transform = transforms.Compose(
        [transforms.CenterCrop(CELEBA_CROP), transforms.Resize(size), transforms.PILToTensor()]
    )
    try:
        ds = datasets.CelebA(
            str(root), split=split, target_type=[], transform=transform, download=spec.download
        )
    except RuntimeError as err:
        if spec.download:
            raise DatasetNotFoundError(
                f"could not download CelebA into '{root / 'celeba'}': {_first_line(err)}"
            ) from None
        raise DatasetNotFoundError(
            f"CelebA files not found or corrupted in '{root / 'celeba'}' (expected "
            "img_align_celeba/ and the list_*.txt, identity_CelebA.txt files); "
            "set `data.download: true` to fetch them, or put them there"
        ) from None
    keep = limit(spec, split, None, len(ds))
    indices = range(len(ds)) if keep is None else keep.tolist()
    images = torch.stack([ds[i][0] for i in indices])  # [N, 3, size, size] uint8
    return ImageData(images=to_images(images, size), labels=None, name=spec.name, num_classes=None)


@register_dataset("image-folder")
def load_image_folder(spec: DataSpec, split: str) -> ImageData:
    """Any folder with one sub-folder of images per class; 80/20 stratified seeded split.

    Images are grey (1 channel) when every file is grey, else RGB; each is
    resized (shorter side) and centre-cropped to ``image_size`` (default 64).
    """
    from PIL import Image
    from torchvision import datasets, transforms

    if spec.root is None:
        raise ValueError("`data.root` is required for 'image-folder'; got None")
    root = Path(spec.root).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(
            f"image folder '{root}' does not exist; set `data.root` to a folder "
            "with one sub-folder of images per class"
        )
    try:
        ds = datasets.ImageFolder(str(root))  # used to index files and classes only
    except FileNotFoundError as err:
        raise DatasetNotFoundError(f"image folder '{root}': {_first_line(err)}") from None
    if len(ds.samples) < 2:
        raise ValueError(f"image folder '{root}' must hold at least 2 images; got {len(ds)}")

    labels = np.asarray(ds.targets, dtype=np.int64)
    n_test = max(1, round(IMAGE_FOLDER_TEST_FRACTION * len(labels)))
    idx = stratified_split(labels, n_test, seed=spec.seed)[split]
    keep = limit(spec, split, labels[idx], len(idx))
    if keep is not None:
        idx = idx[keep]

    paths = [path for path, _ in ds.samples]
    grey = all(_mode(path) in _GREY_MODES for path in paths)
    size = spec.image_size or 64
    resize = transforms.Compose(
        [transforms.Resize(size), transforms.CenterCrop(size), transforms.PILToTensor()]
    )
    images = []
    for i in idx.tolist():
        with Image.open(paths[i]) as im:
            images.append(resize(im.convert("L" if grey else "RGB")))  # [C, size, size] uint8
    return ImageData(
        images=to_images(torch.stack(images), size),
        labels=torch.from_numpy(labels[idx]),
        name=spec.name,
        num_classes=len(ds.classes),
    )
