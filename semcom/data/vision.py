"""What the data sets read through torchvision share: the root folder and one-line "not found" errors.

Files are looked for under ``root`` (default ``cache_dir()/data``) in torchvision's layouts and
fetched only when ``download`` is true. A missing file raises :class:`DatasetNotFoundError` with a
one-line fix.
"""

from __future__ import annotations

from pathlib import Path

from semcom.data.base import DatasetNotFoundError, ResizedDataSet
from semcom.paths import cache_dir

__all__ = ["TorchvisionFiles", "first_line"]


class TorchvisionFiles(ResizedDataSet):
    """A data set in torchvision's file layout under ``root``."""

    root: str | None = None
    """Folder of the torchvision files (default: ``data/`` in semcom's cache folder)."""
    download: bool = False
    """Fetch missing torchvision files (needs the network)."""

    def folder(self) -> Path:
        """The root folder the files are looked for in."""
        return Path(self.root).expanduser() if self.root is not None else cache_dir() / "data"

    def read(self, make, what: str, where: Path, expected: str):
        """``make(root, download)`` (a torchvision data set), a missing or failed download of ``what``
        in ``where`` raising :class:`DatasetNotFoundError` with a one-line fix."""
        try:
            return make(str(self.folder()), self.download)
        except RuntimeError as err:
            if self.download:
                raise DatasetNotFoundError(f"could not download {what} into '{where}': {first_line(err)}") from None
            raise DatasetNotFoundError(
                f"{what} files {expected}; set `data.download: true` to fetch them, or put them there"
            ) from None


def first_line(err: BaseException) -> str:
    """The first line of an error's message (or its type's name)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
