"""Every file semcom writes for a run or its model store goes through here.

Two ways to write, both durable (fsynced) and both raising an ``OSError`` that
names the file even when the system call did not (a full disk surfaces in
``write`` or ``fsync``, which know no path):

* :func:`atomic_write_bytes` — temp file in the same folder, then ``rename``:
  a reader sees the old file or the whole new one, never a part;
* :func:`append_line` — one line appended to a journal; a line cut by a fault
  or a kill is dropped by the journal's reader.

Both write through :func:`write_all`, the one place where bytes reach a file,
so a test can make the k-th write of a run fail (docs/design.md §7).
:func:`os_error_line` is the one line the command line prints for any
``OSError``: the path and the reason, e.g. ``runs/x/report.md: no space left
on device (ENOSPC)``.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

_UMASK = os.umask(0o022)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK
"""The mode an ordinary ``open`` would give a new file under this process's umask."""

__all__ = ["append_line", "atomic_write_bytes", "atomic_write_text", "os_error_line", "write_all"]


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to the open file descriptor ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _named(err: OSError, path: Path) -> OSError:
    """``err`` with ``path`` as its file name (the path the caller meant, not a temp name)."""
    if err.errno is None:
        return err
    return OSError(err.errno, err.strerror, str(path))  # OSError picks the errno's subclass


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one.

    Raises ``OSError`` naming ``path``; the temp file is removed whatever went wrong.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.chmod(tmp, _FILE_MODE)  # mkstemp's 0600 would hide results from the user's group
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as err:
        _remove(tmp)
        raise _named(err, path) from None
    except BaseException:
        _remove(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def append_line(path: Path, line: str) -> None:
    """Append ``line`` and a newline to ``path`` (created if absent), then fsync it."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            write_all(fd, f"{line}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        raise _named(err, path) from None


def _remove(tmp: str | None) -> None:
    if tmp is not None:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def os_error_line(err: OSError) -> str:
    """``"<path>: <reason> (<ERRNO>)"`` for an environment fault, e.g. a full disk."""
    reason = err.strerror or str(err) or type(err).__name__
    reason = reason[:1].lower() + reason[1:]
    code = errno.errorcode.get(err.errno or -1)
    where = err.filename if err.filename is not None else "a file"
    return f"{where}: {reason}" + (f" ({code})" if code else "")
