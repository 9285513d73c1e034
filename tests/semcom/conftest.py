"""Fixtures of the semcom tests: sweep counting, and LPIPS without the network (a refused
download path and a simulated hub cache)."""

from __future__ import annotations

import socket

import pytest
import torch
import torchvision

from semcom.metrics.perceptual import alexnet_weights_path


@pytest.fixture
def sweep_calls(monkeypatch) -> list[int]:
    """Grows by one for every grid point actually swept (not taken from a run's journal)."""
    import semcom.study.jobs

    calls: list[int] = []
    real = semcom.study.jobs.sweep_attack
    monkeypatch.setattr(semcom.study.jobs, "sweep_attack",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def _refuse(*args, **kwargs):
    raise AssertionError("LPIPS tried to reach the network")


@pytest.fixture
def no_network(monkeypatch):
    """Make every download path (and any socket connection) fail loudly."""
    import torchvision.models._api as tv_api

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", _refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", _refuse)
    monkeypatch.setattr(tv_api, "load_state_dict_from_url", _refuse)
    monkeypatch.setattr(socket.socket, "connect", _refuse)


@pytest.fixture
def use_hub(monkeypatch):
    """``use_hub(folder)``: ``torch.hub.set_dir(folder)`` for one test (restored after)."""
    monkeypatch.setattr(torch.hub, "_hub_dir", torch.hub._hub_dir)

    def set_dir(folder) -> None:
        torch.hub.set_dir(str(folder))

    return set_dir


@pytest.fixture(scope="session")
def fake_hub(tmp_path_factory):
    """A hub cache with a random-init AlexNet backbone at ``checkpoints/alexnet-owt-7be5be79.pth``.

    Stands in for the ImageNet weights (absent here): it checks the plumbing,
    not the perceptual calibration. Only the ``features.*`` tensors are saved
    (what LPIPS reads; torchvision's file also holds the classifier), ~10 MB.
    Yields ``(hub folder, features)``.
    """
    hub = tmp_path_factory.mktemp("hub")
    path = alexnet_weights_path(hub)
    path.parent.mkdir(parents=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        state = torchvision.models.alexnet(weights=None).state_dict()
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    torch.save(features, path)
    yield hub, features
    path.unlink()
