"""The run-folder lock: one ``semcom run`` at a time writes into a run folder.

An OS-level lock (``fcntl.flock``; ``filelock`` where there is no ``fcntl``) on
``<run folder>/.semcom.lock``, taken before anything is written into the folder
and released by the kernel when its process ends, however it ends: a run
killed with ``kill -9`` leaves no lock behind. The holder writes its pid into
the file so the refused run can name it (docs/design.md §7).
"""

from __future__ import annotations

import os
from pathlib import Path

from semcom import fileio

__all__ = ["LOCK_NAME", "FolderInUseError", "RunFolderLock"]

LOCK_NAME = ".semcom.lock"
"""The lock file inside a run folder (left in place: removing a lock file races its next taker)."""


class FolderInUseError(ValueError):
    """Another live semcom process holds the run folder; ``str`` names the folder and its pid."""


class RunFolderLock:
    """``with RunFolderLock(out):`` holds ``out`` for this process, or raises :class:`FolderInUseError`.

    Creates ``out`` if absent; a folder it created and that is left holding nothing but the lock
    file (the run stopped before writing, e.g. on bad input) is removed again on release.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self._fd: int | None = None
        self._filelock = None
        self._created = False

    def __enter__(self) -> RunFolderLock:
        self._created = not self.out.exists()
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / LOCK_NAME
        try:
            import fcntl
        except ImportError:  # no fcntl (Windows): filelock's lock, without the holder's pid
            self._lock_portably(path)
            return self
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise FolderInUseError(f"{self.out}: in use by another semcom run, pid {holder}; wait for it "
                                   "to end or choose another --out") from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            fileio.write_all(fd, f"{os.getpid()}\n".encode())
        except OSError as err:
            self._release()
            raise OSError(err.errno, err.strerror, str(path)) from None
        return self

    def _lock_portably(self, path: Path) -> None:
        from filelock import FileLock, Timeout

        lock = FileLock(path)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise FolderInUseError(f"{self.out}: in use by another semcom run; wait for it to end "
                                   "or choose another --out") from None
        self._filelock = lock

    def _release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None
        if self._filelock is not None:
            self._filelock.release()
            self._filelock = None

    def __exit__(self, *exc) -> None:
        if self._created and self._fd is not None:
            try:
                leftovers = [p.name for p in self.out.iterdir()]
                if leftovers == [LOCK_NAME]:
                    (self.out / LOCK_NAME).unlink()
                    self.out.rmdir()
            except OSError:
                pass
        self._release()
