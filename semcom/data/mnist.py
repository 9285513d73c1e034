"""The torchvision MNIST family: MNIST and Fashion-MNIST from ``root/<folder>/raw`` (docs/design.md §5)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch

from semcom.data.base import DataSpec, ImageData, limit, register_dataset, to_images
from semcom.data.vision import TorchvisionFiles

__all__ = ["FashionMNIST", "MNIST"]


class _MNISTFamily(TorchvisionFiles):
    """A torchvision data set in MNIST's IDX files: 60,000/10,000 28×28 grey images, 10 classes."""

    torchvision_class: ClassVar[str] = ""
    """The class in ``torchvision.datasets`` (also the folder under ``root``)."""

    def load(self, spec: DataSpec, split: str) -> ImageData:
        from torchvision import datasets

        cls = getattr(datasets, self.torchvision_class)
        raw = self.folder() / self.torchvision_class / "raw"
        files = ", ".join(Path(name).stem for name, _ in cls.resources)
        ds = self.read(lambda root, download: cls(root, train=split == "train", download=download),
                       self.torchvision_class, raw, f"not found in '{raw}' (expected {files})")
        images, labels = ds.data, ds.targets  # [N, 28, 28] uint8, [N]
        keep = limit(spec, split, labels.numpy(), len(labels))
        if keep is not None:
            index = torch.from_numpy(keep)
            images, labels = images[index], labels[index]
        return ImageData(images=to_images(images, self.side), labels=labels.to(torch.int64),
                         name=spec.name, num_classes=10)


@register_dataset("mnist")
class MNIST(_MNISTFamily):
    """MNIST, 60,000/10,000 handwritten digits, from ``root/MNIST/raw`` (torchvision)."""

    torchvision_class = "MNIST"


@register_dataset("fashion-mnist")
class FashionMNIST(_MNISTFamily):
    """Fashion-MNIST, 60,000/10,000 clothes, from ``root/FashionMNIST/raw`` (torchvision)."""

    torchvision_class = "FashionMNIST"
