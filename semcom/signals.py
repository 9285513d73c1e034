"""SIGTERM handled like Ctrl-C, so batch schedulers (Slurm, Kubernetes, systemd) can stop a run.

Inside :class:`TerminateAsInterrupt`, SIGTERM raises :class:`Terminated`, a
``KeyboardInterrupt``: the run unwinds exactly as on Ctrl-C — every file being
written is a temp file that is removed, every finished point is already in
the journal — and the command line prints one line and exits with 143
(128 + 15; Ctrl-C: 130). Outside the main thread nothing is installed.
"""

from __future__ import annotations

import signal
import threading

__all__ = ["TerminateAsInterrupt", "Terminated"]


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


class TerminateAsInterrupt:
    """``with TerminateAsInterrupt():`` turns SIGTERM into :class:`Terminated` (the old handler after)."""

    def __enter__(self) -> TerminateAsInterrupt:
        self._old = None
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGTERM, _raise_terminated)
        return self

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)
