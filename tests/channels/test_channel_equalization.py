"""Tests of channels.equalize against the closed forms."""

from __future__ import annotations

import pytest
import torch

from channels import equalize


def _taps(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    c = torch.randn(n, dtype=torch.complex128, generator=gen)
    h = torch.randn(n, dtype=torch.complex128, generator=gen)
    return c, h


def test_noiseless_lmmse_and_zf_invert_the_channel() -> None:
    c, h = _taps(64, 0)
    y = h * c
    torch.testing.assert_close(equalize(y, h, no=0.0, method="zf"), c)
    torch.testing.assert_close(equalize(y, h, no=0.0, method="lmmse"), c)
    assert equalize(y, h, no=0.0, method="none") is y


def test_lmmse_closed_form() -> None:
    c, h = _taps(64, 1)
    y = h * c
    no = 0.3
    expected = torch.conj(h) * y / (torch.abs(h) ** 2 + no)
    torch.testing.assert_close(equalize(y, h, no=no), expected)
    # LMMSE is the ZF estimate shrunk by |h|² / (|h|² + N0)
    shrink = torch.abs(h) ** 2 / (torch.abs(h) ** 2 + no)
    torch.testing.assert_close(equalize(y, h, no=no), shrink * equalize(y, h, no=no, method="zf"))


def test_broadcast_taps_and_real_taps() -> None:
    y = torch.ones(3, 4, dtype=torch.complex64)
    h = torch.full((3, 1), 2.0 + 0j, dtype=torch.complex64)
    out = equalize(y, h, no=0.0, method="zf")
    assert out.shape == (3, 4) and out.dtype == torch.complex64
    torch.testing.assert_close(out, torch.full((3, 4), 0.5 + 0j, dtype=torch.complex64))
    torch.testing.assert_close(equalize(y, torch.ones(4), no=1.0), 0.5 * y)


def test_equalize_errors() -> None:
    y = torch.ones(2, 3, dtype=torch.complex64)
    msg = "`method` must be one of 'lmmse', 'none', 'zf'; got 'mmse'"
    with pytest.raises(ValueError, match=msg):
        equalize(y, y, no=0.1, method="mmse")
    with pytest.raises(ValueError, match="`no` must be a finite number ≥ 0; got -0.1"):
        equalize(y, y, no=-0.1)
    with pytest.raises(TypeError, match="`no` must be a real number"):
        equalize(y, y, no=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`h` must be broadcastable to `y` of shape \[2, 3\]"):
        equalize(y, torch.ones(2, 4, dtype=torch.complex64), no=0.1)
    with pytest.raises(ValueError, match="broadcastable"):
        equalize(y, torch.ones(5, 2, 3, dtype=torch.complex64), no=0.1)
    with pytest.raises(TypeError, match="`y` must be a complex tensor"):
        equalize(torch.ones(2, 3), y, no=0.1)
