"""Fixtures for the adversary tests."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_intra_op_thread():
    """Run these tiny-tensor tests on one torch thread, then restore the setting.

    On a busy machine with few cores, torch's multi-threaded kernels spin on
    tensors this small (about 100x slower here); one thread is fastest.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
