"""Tests of the Rician block-fading channel: tap statistics against the Rice law, limits, blocks."""

from __future__ import annotations

import cmath
import math

import pytest
import torch
from scipy import stats

from channels import (
    AWGNChannel,
    RayleighBlockChannel,
    RicianBlockChannel,
    make_channel,
)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _taps(channel: RicianBlockChannel, num: int, seed: int) -> torch.Tensor:
    """``num`` independent taps (one row each), as complex128."""
    x = torch.ones(num, 1, dtype=torch.complex64)
    _, h = channel(x, generator=_gen(seed), return_h=True)
    return h[:, 0].to(torch.complex128)


@pytest.mark.parametrize("k_factor_db", [-10.0, 0.0, 6.0, 15.0])
def test_unit_average_energy_and_rice_law(k_factor_db: float) -> None:
    h = _taps(RicianBlockChannel(k_factor_db), 100_000, seed=1)
    assert h.abs().square().mean().item() == pytest.approx(1.0, rel=0.02)
    # random LOS phase: circularly symmetric, E[h] = 0
    assert abs(h.mean().item()) < 0.01
    # |h| follows the Rice law with ν² = K/(K+1), 2σ² = 1/(K+1) (scipy's oracle)
    k = 10 ** (k_factor_db / 10)
    rice = stats.rice(b=math.sqrt(2 * k), scale=math.sqrt(1 / (2 * (k + 1))))
    assert stats.kstest(h.abs().numpy(), rice.cdf).pvalue > 1e-3


@pytest.mark.parametrize("k_factor_db", [3.0, 6.0, 12.0])
def test_k_factor_moment_estimate_matches_nominal(k_factor_db: float) -> None:
    h = _taps(RicianBlockChannel(k_factor_db), 100_000, seed=2)
    # moment method: with Ω = E|h|², E|h|⁴ = Ω²(K² + 4K + 2)/(K + 1)², so
    # K̂ = √(2Ω² − E|h|⁴) / (Ω − √(2Ω² − E|h|⁴))
    p2 = h.abs().square().mean().item()
    p4 = h.abs().pow(4).mean().item()
    root = math.sqrt(2 * p2**2 - p4)
    k_hat = root / (p2 - root)
    assert 10 * math.log10(k_hat) == pytest.approx(k_factor_db, abs=0.5)


@pytest.mark.parametrize("los_phase", [0.0, math.pi / 3])
def test_fixed_los_phase_mean_and_k_factor(los_phase: float) -> None:
    k_factor_db = 6.0
    k = 10 ** (k_factor_db / 10)
    h = _taps(RicianBlockChannel(k_factor_db, los_phase=los_phase), 100_000, seed=3)
    mean = h.mean()
    expected_mean = math.sqrt(k / (k + 1)) * cmath.exp(1j * los_phase)
    assert abs(mean.item() - expected_mean) < 0.01
    scattered = (h - mean).abs().square().mean().item()
    assert scattered == pytest.approx(1 / (k + 1), rel=0.02)
    k_hat = mean.abs().square().item() / scattered  # |E h|² / var h
    assert 10 * math.log10(k_hat) == pytest.approx(k_factor_db, abs=0.2)


def test_large_k_approaches_awgn() -> None:
    h = _taps(RicianBlockChannel(40.0), 20_000, seed=4)
    assert (h.abs() - 1).abs().max().item() < 0.05  # |h| ≈ 1
    x = torch.randn(2_000, 32, dtype=torch.complex64, generator=_gen(5))
    mse = {}
    for name, channel in (("rician", RicianBlockChannel(40.0)), ("awgn", AWGNChannel())):
        x_hat = channel.receive(x, snr_db=10.0, generator=_gen(6))
        mse[name] = (x_hat - x).abs().square().mean().item()
    # AWGN with LMMSE: E|ĉ − c|² = N0 / (1 + N0) = 1/11
    assert mse["awgn"] == pytest.approx(1 / 11, rel=0.03)
    assert mse["rician"] == pytest.approx(mse["awgn"], rel=0.05)


def test_small_k_approaches_rayleigh() -> None:
    h = _taps(RicianBlockChannel(-40.0), 100_000, seed=7)
    # |h|² of Rayleigh fading is exponential: P(|h|² < 0.1) = 1 − exp(−0.1)
    share = (h.abs().square() < 0.1).double().mean().item()
    assert share == pytest.approx(1 - math.exp(-0.1), abs=0.005)


def test_lmmse_beats_no_equalisation_and_zf() -> None:
    x = torch.randn(2_000, 32, dtype=torch.complex64, generator=_gen(8))
    mse = {}
    for method in ("lmmse", "zf", "none"):
        channel = RicianBlockChannel(6.0, block_length=4, equalizer=method)
        x_hat = channel.receive(x, snr_db=5.0, generator=_gen(9))
        mse[method] = (x_hat - x).abs().square().mean().item()
    assert mse["lmmse"] < mse["zf"] and mse["lmmse"] < mse["none"]
    assert mse["lmmse"] < 0.5 < mse["none"]  # random LOS phase: unequalised is useless


def test_block_structure_and_noise_on_top() -> None:
    x = torch.randn(400, 10, dtype=torch.complex64, generator=_gen(10))
    y, h = RicianBlockChannel(block_length=4)(x, snr_db=10.0, generator=_gen(11), return_h=True)
    for start in (0, 4, 8):
        block = h[:, start : start + 4]
        assert torch.equal(block, block[:, :1].expand_as(block))
    firsts = h[:, [0, 4, 8]]
    assert firsts.real.flatten().unique().numel() == firsts.numel()  # independent blocks
    assert (y - h * x).abs().square().mean().item() == pytest.approx(0.1, rel=0.05)
    y_whole, h_whole = RicianBlockChannel()(x, generator=_gen(12), return_h=True)
    assert torch.equal(h_whole, h_whole[:, :1].expand_as(h_whole))  # one tap per row
    assert torch.equal(y_whole, h_whole * x)  # snr_db=None: fading only


def test_draw_order_scattered_part_is_sionna_rayleigh() -> None:
    # same generator state: the scattered part is exactly the Rayleigh tap, scaled
    x = torch.ones(8, 3, dtype=torch.complex64)
    k = 10**0.6
    _, h_rayleigh = RayleighBlockChannel()(x, generator=_gen(13), return_h=True)
    _, h_rician = RicianBlockChannel(6.0, los_phase=0.0)(x, generator=_gen(13), return_h=True)
    expected = math.sqrt(k / (k + 1)) + math.sqrt(1 / (k + 1)) * h_rayleigh
    torch.testing.assert_close(h_rician, expected)


def test_sionna_global_seed_has_no_effect() -> None:
    import sionna.phy

    x = torch.ones(4, 8, dtype=torch.complex64)
    outputs = []
    torch_state = torch.random.get_rng_state()  # Sionna's seed setter reseeds torch
    try:
        for sionna_seed in (1, 2):
            sionna.phy.config.seed = sionna_seed
            outputs.append(RicianBlockChannel()(x, snr_db=0.0, generator=_gen(14)))
    finally:
        sionna.phy.config.seed = None
        torch.random.set_rng_state(torch_state)
    assert torch.equal(outputs[0], outputs[1])


def test_settings_repr_and_errors() -> None:
    channel = make_channel("rician", k_factor_db=10, block_length=2, equalizer="zf")
    assert channel.k_factor_db == 10.0 and channel.k_factor == pytest.approx(10.0)
    assert repr(channel) == (
        "RicianBlockChannel(k_factor_db=10.0, los_phase=None, block_length=2, equalizer='zf')"
    )
    with pytest.raises(ValueError, match="`k_factor_db` must be a finite number \\[dB\\]; got nan"):
        RicianBlockChannel(float("nan"))
    with pytest.raises(TypeError, match="`k_factor_db` must be a real number \\[dB\\]; got str"):
        RicianBlockChannel("6")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`los_phase` must be a real number \\[rad\\] or None"):
        RicianBlockChannel(los_phase="0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`los_phase` must be a finite number"):
        RicianBlockChannel(los_phase=float("inf"))
    with pytest.raises(ValueError, match="`block_length` must be ≥ 1 or None; got 0"):
        RicianBlockChannel(block_length=0)
    with pytest.raises(ValueError, match="`equalizer` must be one of 'lmmse', 'none', 'zf'"):
        RicianBlockChannel(equalizer="mmse")
