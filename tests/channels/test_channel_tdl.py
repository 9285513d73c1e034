"""Tests of the 3GPP TDL channel over OFDM: energy, frequency correlation, grid layout, receiver."""

from __future__ import annotations

import math

import pytest
import torch

from channels import TDL_MODELS, TDLChannel, make_channel


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _symbols(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """Unit-energy complex Gaussian symbols."""
    return torch.randn(shape, dtype=torch.complex64, generator=_gen(seed))


def _response(channel: TDLChannel, rows: int, n: int, seed: int) -> torch.Tensor:
    """The per-resource-element response ``h`` seen by ``rows`` samples of ``n`` symbols."""
    _, h = channel(torch.ones(rows, n, dtype=torch.complex64), generator=_gen(seed), return_h=True)
    return h


def _selectivity(h: torch.Tensor) -> float:
    """Mean over rows of the share of |h|² that varies across the row's resource elements."""
    spread = (h - h.mean(-1, keepdim=True)).abs().square().mean(-1)  # [B]
    return (spread / h.abs().square().mean(-1)).mean().item()


@pytest.mark.parametrize("model", TDL_MODELS)
def test_unit_average_energy_per_resource_element(model: str) -> None:
    h = _response(TDLChannel(model=model, delay_spread=300e-9, fft_size=24), 3_000, 24, seed=1)
    assert h.abs().square().mean().item() == pytest.approx(1.0, rel=0.06)
    assert abs(h.mean().item()) < 0.05  # random phases (the LOS phase too)


@pytest.mark.parametrize("model", ["A", "D"])
def test_frequency_correlation_matches_power_delay_profile(model: str) -> None:
    # E[h(f) conj(h(f + lΔf))] = Σ_m P_m exp(j2π lΔf τ_m), with the TR 38.901
    # profile (P_m, τ_m) read from an independent Sionna TDL object
    from sionna.phy.channel.tr38901 import TDL

    delay_spread, spacing = 300e-9, 30e3
    channel = TDLChannel(model=model, delay_spread=delay_spread, fft_size=24)
    h = _response(channel, 3_000, 24, seed=2).to(torch.complex128)
    profile = TDL(model, delay_spread, 3.5e9, precision="double", device="cpu")
    powers, delays = profile.mean_powers, profile.delays
    assert powers.sum().item() == pytest.approx(1.0)
    for lag in (1, 4, 12):
        measured = (h[:, :-lag] * h[:, lag:].conj()).mean().item()
        expected = (powers * torch.exp(2j * math.pi * lag * spacing * delays)).sum().item()
        assert abs(measured - expected) < 0.06, lag


def test_frequency_selectivity_grows_with_delay_spread() -> None:
    wide = _response(TDLChannel(model="A", delay_spread=300e-9), 300, 72, seed=3)
    narrow = _response(TDLChannel(model="A", delay_spread=1e-9), 300, 72, seed=3)
    flat = _response(TDLChannel(model="A", delay_spread=0.0), 300, 72, seed=3)
    assert _selectivity(wide) > 0.2  # varies across the 72 subcarriers of one sample
    assert _selectivity(narrow) < 1e-3  # ~flat
    assert torch.equal(flat, flat[:, :1].expand_as(flat))  # all taps at delay 0: flat
    assert not torch.equal(wide[0], wide[1])  # an independent realisation per sample


@pytest.mark.parametrize("n", [1, 5, 12, 13, 30])
def test_grid_layout_and_shapes(n: int) -> None:
    channel = TDLChannel(model="C", delay_spread=300e-9, fft_size=12)
    assert channel.num_ofdm_symbols(n) == math.ceil(n / 12)
    x = _symbols((2, 3, n))
    y, h = channel(x, snr_db=20.0, generator=_gen(4), return_h=True)
    assert y.shape == h.shape == x.shape and y.dtype == h.dtype == torch.complex64
    # speed 0: symbol i sits on subcarrier i % fft_size and sees that subcarrier's response
    index = torch.arange(n) % 12
    assert torch.equal(h, h[..., index])
    assert channel.receive(x, snr_db=20.0, generator=_gen(4)).shape == x.shape


def test_mobility_changes_the_response_over_ofdm_symbols() -> None:
    h = _response(TDLChannel(speed=30.0, fft_size=12), 8, 120, seed=5)
    first, last = h[:, :12], h[:, -12:]
    assert not torch.allclose(first, last, atol=1e-3)
    # the first two OFDM symbols (33 µs apart, f_D = 350 Hz) are still close
    assert (h[:, :12] - h[:, 12:24]).abs().max().item() < 0.5


def test_noise_is_added_on_every_resource_element() -> None:
    x = _symbols((500, 100), seed=6)
    y, h = TDLChannel()(x, snr_db=10.0, generator=_gen(7), return_h=True)
    assert (y - h * x).abs().square().mean().item() == pytest.approx(0.1, rel=0.03)
    y_clean, h_clean = TDLChannel()(x, generator=_gen(7), return_h=True)
    assert torch.equal(h_clean, h)  # the channel is drawn before the noise
    torch.testing.assert_close(y_clean, h * x)


def test_high_snr_round_trip_returns_x() -> None:
    x = _symbols((16, 150), seed=8)
    x_hat = TDLChannel(model="A", delay_spread=300e-9).receive(x, snr_db=80.0, generator=_gen(9))
    torch.testing.assert_close(x_hat, x, rtol=0, atol=2e-2)
    assert (x_hat - x).abs().square().mean().item() < 1e-6


def test_mse_decreases_with_snr_and_lmmse_wins() -> None:
    x = _symbols((300, 100), seed=10)
    mse = []
    for snr_db in (0.0, 10.0, 20.0, 30.0):
        x_hat = TDLChannel().receive(x, snr_db=snr_db, generator=_gen(11))
        mse.append((x_hat - x).abs().square().mean().item())
    assert all(a > b for a, b in zip(mse, mse[1:], strict=False)), mse
    assert mse[0] < 1.0  # LMMSE error is E[N0 / (|h|² + N0)] < 1
    by_method = {}
    for method in ("lmmse", "zf", "none"):
        x_hat = TDLChannel(equalizer=method).receive(x, snr_db=0.0, generator=_gen(11))
        by_method[method] = (x_hat - x).abs().square().mean().item()
    assert by_method["lmmse"] < by_method["zf"] and by_method["lmmse"] < by_method["none"]


def test_seeded_reproducibility() -> None:
    channel = TDLChannel(model="D", delay_spread=100e-9, fft_size=16, speed=10.0)
    x = _symbols((4, 50), seed=12)
    first = channel(x, snr_db=5.0, generator=_gen(13), return_h=True)
    second = channel(x, snr_db=5.0, generator=_gen(13), return_h=True)
    other = channel(x, snr_db=5.0, generator=_gen(14), return_h=True)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert not torch.equal(first[1], other[1])


def test_noiseless_gradient_is_exact() -> None:
    # without noise LMMSE inverts the channel: x̂ = x, so ∇ Σ|x̂|² = 2x (zero-padding cut away)
    x = _symbols((3, 40), seed=15).to(torch.complex128).requires_grad_(True)
    x_hat = TDLChannel(model="B", fft_size=16).receive(x, generator=_gen(16))
    x_hat.abs().square().sum().backward()
    torch.testing.assert_close(x.grad, 2 * x.detach())


def test_sionna_global_seed_has_no_effect() -> None:
    import sionna.phy

    x = _symbols((4, 30), seed=17)
    outputs = []
    torch_state = torch.random.get_rng_state()  # Sionna's seed setter reseeds torch
    try:
        for sionna_seed in (1, 2):
            sionna.phy.config.seed = sionna_seed
            outputs.append(TDLChannel(fft_size=8)(x, snr_db=0.0, generator=_gen(18)))
    finally:
        sionna.phy.config.seed = None
        torch.random.set_rng_state(torch_state)
    assert torch.equal(outputs[0], outputs[1])


def test_settings_repr_and_errors() -> None:
    channel = make_channel("tdl", model="E", delay_spread=30e-9, fft_size=12, speed=3)
    assert (channel.model, channel.delay_spread, channel.fft_size) == ("E", 30e-9, 12)
    assert repr(channel) == (
        "TDLChannel(model='E', delay_spread=3e-08, carrier_frequency=3.5e+09, "
        "subcarrier_spacing=30000, fft_size=12, speed=3, equalizer='lmmse')"
    )
    with pytest.raises(
        ValueError, match="`model` must be one of 'A', 'B', 'C', 'D', 'E'; got 'A30'"
    ):
        TDLChannel(model="A30")
    with pytest.raises(ValueError, match=r"`delay_spread` must be a finite number ≥ 0 \[s\]"):
        TDLChannel(delay_spread=-1e-9)
    with pytest.raises(TypeError, match=r"`delay_spread` must be a real number \[s\]; got str"):
        TDLChannel(delay_spread="100ns")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`carrier_frequency` must be a finite number > 0 \[Hz\]"):
        TDLChannel(carrier_frequency=0.0)
    with pytest.raises(ValueError, match=r"`subcarrier_spacing` must be a finite number > 0"):
        TDLChannel(subcarrier_spacing=float("inf"))
    with pytest.raises(ValueError, match="`fft_size` must be ≥ 1; got 0"):
        TDLChannel(fft_size=0)
    with pytest.raises(TypeError, match="`fft_size` must be an int; got float"):
        TDLChannel(fft_size=72.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`speed` must be a finite number ≥ 0 \[m/s\]; got -1.0"):
        TDLChannel(speed=-1.0)
    with pytest.raises(ValueError, match="`equalizer` must be one of 'lmmse', 'none', 'zf'"):
        TDLChannel(equalizer="mmse")
