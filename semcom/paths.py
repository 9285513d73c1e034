"""Where semcom keeps files that outlive a run (parsed data sets, trained models).

One place decides the location so that the data loaders and the model store
agree: ``$SEMCOM_CACHE`` when set, else the platform's user cache folder
(``platformdirs.user_cache_dir("semcom")``, e.g. ``~/.cache/semcom`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["CACHE_ENV", "CacheDirError", "cache_dir", "checked_cache_dir"]

CACHE_ENV = "SEMCOM_CACHE"
"""Environment variable that overrides the cache folder."""


def cache_dir() -> Path:
    """Return semcom's cache folder (not created here; writers create what they need).

    Read at every call, so a changed ``$SEMCOM_CACHE`` takes effect at once.

    >>> (cache_dir() / "data").name
    'data'
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir("semcom"))


class CacheDirError(ValueError):
    """The cache folder setting names something that is not a folder; ``str`` says which."""


def checked_cache_dir() -> Path:
    """:func:`cache_dir`, refused in one line when it exists but is not a folder (e.g. a file)."""
    path = cache_dir()
    if path.exists() and not path.is_dir():
        setting = f"${CACHE_ENV}={path}" if os.environ.get(CACHE_ENV) else str(path)
        raise CacheDirError(f"{setting}: is not a folder; point {CACHE_ENV} at a folder (or unset it)")
    return path
