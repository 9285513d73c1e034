"""Any folder with one sub-folder of images per class (docs/design.md §5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pydantic import Field

from semcom.data.base import (
    DatasetNotFoundError,
    DataSpec,
    ImageData,
    ResizedDataSet,
    labelled_split,
    register_dataset,
    to_images,
)
from semcom.data.vision import first_line

__all__ = ["IMAGE_FOLDER_TEST_FRACTION", "ImageFolder"]

IMAGE_FOLDER_TEST_FRACTION = 0.2
"""Share of an image folder held out (stratified, seeded) as its test split."""

_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})


def _mode(path: str) -> str:
    from PIL import Image

    with Image.open(path) as im:  # reads the header only
        return im.mode


@register_dataset("image-folder")
class ImageFolder(ResizedDataSet):
    """Any folder with one sub-folder of images per class; 80/20 stratified seeded split.

    Images are grey (1 channel) when every file is grey, else RGB; each is
    resized (shorter side) and centre-cropped to ``image_size`` (default 64).
    """

    native_size = 64

    root: str = Field(min_length=1)
    """The folder: one sub-folder of images per class (its name is the class)."""

    def load(self, spec: DataSpec, split: str) -> ImageData:
        from PIL import Image
        from torchvision import datasets, transforms

        root = Path(self.root).expanduser()
        if not root.is_dir():
            raise DatasetNotFoundError(
                f"image folder '{root}' does not exist; set `data.root` to a folder "
                "with one sub-folder of images per class"
            )
        try:
            ds = datasets.ImageFolder(str(root))  # used to index files and classes only
        except FileNotFoundError as err:
            raise DatasetNotFoundError(f"image folder '{root}': {first_line(err)}") from None
        if len(ds.samples) < 2:
            raise ValueError(f"image folder '{root}' must hold at least 2 images; got {len(ds)}")

        labels = np.asarray(ds.targets, dtype=np.int64)
        idx = labelled_split(spec, split, labels, max(1, round(IMAGE_FOLDER_TEST_FRACTION * len(labels))))
        paths = [path for path, _ in ds.samples]
        grey = all(_mode(path) in _GREY_MODES for path in paths)
        size = self.side
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
