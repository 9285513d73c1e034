"""CelebA aligned faces through torchvision, centre-cropped and resized (docs/design.md §5)."""

from __future__ import annotations

import torch

from semcom.data.base import DataSpec, ImageData, limit, register_dataset, to_images
from semcom.data.vision import TorchvisionFiles

__all__ = ["CELEBA_CROP", "CelebA"]

CELEBA_CROP = 178
"""Side of the centre crop taken from the 178×218 aligned CelebA faces before resizing."""


@register_dataset("celeba")
class CelebA(TorchvisionFiles):
    """CelebA aligned faces, 178-pixel centre crop resized to 64×64 RGB, unlabelled (torchvision).

    Files go in ``root/celeba/`` (``img_align_celeba/`` and the ``list_*.txt``
    files); downloading needs ``gdown``. The whole train split is ~160,000
    images (~7.9 GB as float32 at 64×64): set ``train_samples`` at CPU scale.
    """

    native_size = 64

    def load(self, spec: DataSpec, split: str) -> ImageData:
        from torchvision import datasets, transforms

        size = self.side
        transform = transforms.Compose(
            [transforms.CenterCrop(CELEBA_CROP), transforms.Resize(size), transforms.PILToTensor()]
        )
        where = self.folder() / "celeba"
        ds = self.read(lambda root, download: datasets.CelebA(root, split=split, target_type=[],
                                                              transform=transform, download=download),
                       "CelebA", where, f"not found or corrupted in '{where}' (expected img_align_celeba/ "
                       "and the list_*.txt, identity_CelebA.txt files)")
        keep = limit(spec, split, None, len(ds))
        indices = range(len(ds)) if keep is None else keep.tolist()
        images = torch.stack([ds[i][0] for i in indices])  # [N, 3, size, size] uint8
        return ImageData(images=to_images(images, size), labels=None, name=spec.name, num_classes=None)
