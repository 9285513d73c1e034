"""Executors: a job's failure reaches the driver as the same error in process and on Ray."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from semcom.attacks.base import make_attack
from semcom.models import Autoencoder
from semcom.models.trained import TrainedModel
from semcom.study.executors import ExecutorError, InProcessExecutor, JobEnv, make_executor
from semcom.study.jobs import GridPoint, PointError, PointJob
from semcom.study.scenario import AdversaryConfig, ChannelConfig

HAVE_RAY = importlib.util.find_spec("ray") is not None


_NO_EXTRAS = {"test_labels": None, "train": None, "train_labels": None, "classifier": None}
"""The shared objects a sweep without semantic metrics or training-split attacks leaves unused."""


def _receiver(*, blown_up: bool = False) -> TrainedModel:
    """An untrained autoencoder; ``blown_up``: its decoder's weights are NaN."""
    model = Autoencoder("vae-kld", 4, (1, 28, 28)).eval()
    if blown_up:
        with torch.no_grad():
            for p in model.decoder.parameters():
                p.fill_(float("nan"))
    return TrainedModel(model, 1.0, "untrained", {})


def _job(attack: str) -> PointJob:
    point = GridPoint("vae-kld", "none", "awgn", 10.0, attack)
    adversary = AdversaryConfig(eps=[0.0, 1.0], attacks=[{"kind": "gaussian"}])
    return PointJob(point, "receiver", ChannelConfig(kind="awgn", snr_db=[10.0]),
                    make_attack("gaussian", label=attack), adversary, ("mse",), 4, 7, 2)


@pytest.mark.parametrize("name", ["local", pytest.param("ray", marks=pytest.mark.skipif(
    not HAVE_RAY, reason="Ray is not installed (pip install 'semcom[ray]')"))])
def test_a_failing_point_reaches_the_driver_naming_the_point(name, tmp_path, mnist):
    executor = make_executor(name, workers=1)
    shared = {**_NO_EXTRAS, "test": mnist[1].images[:4], "receiver": _receiver(blown_up=True)}
    try:
        with pytest.raises(PointError) as err:
            list(executor.map([_job("jam-a"), _job("jam-b")], shared, JobEnv(str(tmp_path))))
    finally:
        executor.close()
    assert str(err.value).startswith("grid point model=vae-kld defense=none channel=awgn "
                                     "snr_db=10.0 attack=jam-")
    assert str(err.value).endswith("NaN/Inf in the outputs at ε=0")


def test_in_process_yields_in_order(tmp_path, mnist):
    jobs = [_job("a"), _job("b")]
    shared = {**_NO_EXTRAS, "test": mnist[1].images[:4], "receiver": _receiver()}
    done = list(InProcessExecutor().map(jobs, shared, JobEnv(str(tmp_path))))
    assert [i for i, _ in done] == [0, 1]
    assert done[0][1].eps == [0.0, 1.0]


def test_unknown_or_missing_executor_is_reported():
    with pytest.raises(ExecutorError, match="must be one of local, ray"):
        make_executor("spark")
    if not HAVE_RAY:
        with pytest.raises(ExecutorError, match=r"pip install 'semcom\[ray\]'"):
            make_executor("ray")
