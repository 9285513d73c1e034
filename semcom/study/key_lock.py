"""Per-key build locks of the model store: concurrent runs train each model once.

A store entry missing at :meth:`semcom.study.store.ModelStore.load` is about to be
built by its caller (trained, hardened) and saved. Between the two, the
caller holds an OS-level lock on ``<store>/locks/<key>.lock`` (``fcntl.flock``,
or ``filelock`` without ``fcntl``): another process — a second run, a Ray
worker, a machine sharing the store folder — that misses the same key waits
for it, then finds the entry and loads it. The kernel releases the lock when
its holder ends, however it ends; a holder whose build failed releases it
when its store object is dropped. Within one process nothing waits (builds
there run one after another), so a failed build never blocks a later one.
"""

from __future__ import annotations

import logging
import os
import weakref
from pathlib import Path

__all__ = ["KeyLocks"]

log = logging.getLogger(__name__)

_IN_PROCESS: set[str] = set()
"""Lock files held by this process (by any store object)."""


def _close_all(held: dict[str, object]) -> None:
    for path, handle in list(held.items()):
        _close(handle)
        _IN_PROCESS.discard(path)
    held.clear()


def _close(handle: object) -> None:
    if isinstance(handle, int):
        os.close(handle)  # the last descriptor of the file: the flock is released
    elif handle is not None:
        handle.release()


class KeyLocks:
    """The build locks one :class:`~semcom.study.store.ModelStore` object holds, in ``root/locks``."""

    def __init__(self, root: Path) -> None:
        self.folder = Path(root) / "locks"
        self._held: dict[str, object] = {}
        weakref.finalize(self, _close_all, self._held)

    def acquire(self, key: str) -> None:
        """Wait until no other process builds ``key``, then hold it (no-op if already held here)."""
        path = str(self.folder / f"{key}.lock")
        if path in _IN_PROCESS:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = self._lock(path)
        except OSError as err:  # a read-only store: no lock to take, nothing will be saved either
            log.debug("no build lock for %s (%s)", key, err)
            return
        self._held[path] = handle
        _IN_PROCESS.add(path)

    @staticmethod
    def _lock(path: str) -> object:
        try:
            import fcntl
        except ImportError:
            from filelock import FileLock

            lock = FileLock(path)
            lock.acquire()
            return lock
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.warning("model store entry %s is being built by another process; waiting for it",
                            Path(path).stem)
                fcntl.flock(fd, fcntl.LOCK_EX)  # blocks until that process saves it, fails or ends
        except BaseException:
            os.close(fd)
            raise
        return fd

    def release(self, key: str) -> None:
        path = str(self.folder / f"{key}.lock")
        if path in self._held:
            _close(self._held.pop(path))
            _IN_PROCESS.discard(path)
