"""Fixtures of the semcom tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def sweep_calls(monkeypatch) -> list[int]:
    """Grows by one for every grid point actually swept (not taken from a run's journal)."""
    import semcom.jobs

    calls: list[int] = []
    real = semcom.jobs.sweep_attack
    monkeypatch.setattr(semcom.jobs, "sweep_attack",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls
