"""Tests of the channel models: physical invariants, randomness control, autograd."""

from __future__ import annotations

import math

import pytest
import torch

from channels import (
    CHANNELS,
    AWGNChannel,
    Channel,
    IdealChannel,
    RayleighBlockChannel,
    make_channel,
    snr_db_to_no,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _gen(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def _symbols(shape: tuple[int, ...], seed: int = 0, device: str = "cpu") -> torch.Tensor:
    """Unit-energy complex Gaussian symbols."""
    return torch.randn(shape, dtype=torch.complex64, generator=_gen(seed)).to(device)


def _qpsk(num: int, seed: int = 0) -> torch.Tensor:
    """QPSK symbols, |c|² = 1 exactly."""
    bits = torch.randint(0, 2, (2, num), generator=_gen(seed)).float() * 2 - 1
    return torch.complex(bits[0], bits[1]) / math.sqrt(2)


# --------------------------------------------------------------------------- all channels


@pytest.fixture(params=sorted(CHANNELS))
def channel(request: pytest.FixtureRequest) -> Channel:
    return make_channel(request.param)


@pytest.fixture(params=sorted(n for n, cls in CHANNELS.items() if cls.symbol_channel))
def symbol_channel(request: pytest.FixtureRequest) -> Channel:
    """Channels whose receiver is differentiable symbol to symbol and whose jammer has the
    signal's shape (the digital link's hard-decision receiver and QAM-space jammer are
    tested in test_channel_digital.py)."""
    return make_channel(request.param)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4)])
def test_shape_dtype_device_and_input_untouched(
    channel: Channel, device: str, shape: tuple[int, ...]
) -> None:
    x = _symbols(shape, device=device)
    before = x.clone()
    y, h = channel(x, snr_db=10.0, generator=_gen(1, x.device), return_h=True)
    assert y.shape == x.shape and y.dtype == torch.complex64 and y.device == x.device
    assert torch.broadcast_shapes(h.shape, y.shape) == y.shape and h.device == x.device
    x_hat = channel.receive(x, snr_db=10.0, generator=_gen(1, x.device))
    assert x_hat.shape == x.shape and x_hat.dtype == torch.complex64
    assert x_hat.device == x.device
    assert torch.equal(x, before)
    y128 = channel(x.to(torch.complex128), snr_db=10.0, generator=_gen(1, x.device))
    assert y128.dtype == torch.complex128


def test_gradients_flow_through_receive(symbol_channel: Channel) -> None:
    x = _symbols((4, 6)).requires_grad_(True)
    x_hat = symbol_channel.receive(x, snr_db=5.0, generator=_gen(2))
    x_hat.abs().square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_seeded_reproducibility(channel: Channel) -> None:
    x = _symbols((8, 16))
    first = channel(x, snr_db=0.0, generator=_gen(7), return_h=True)
    second = channel(x, snr_db=0.0, generator=_gen(7), return_h=True)
    other = channel(x, snr_db=0.0, generator=_gen(8))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    if channel.is_random:
        assert not torch.equal(first[0], other)
    else:
        assert torch.equal(first[0], other)


def test_generator_leaves_global_rng_alone(channel: Channel) -> None:
    x = _symbols((4, 8))
    state = torch.random.get_rng_state()
    channel.receive(x, snr_db=3.0, generator=_gen(3))
    assert torch.equal(torch.random.get_rng_state(), state)


def test_without_generator_draws_from_torch_default_rng(channel: Channel) -> None:
    x = _symbols((4, 8))
    torch.manual_seed(11)
    first = channel(x, snr_db=3.0)
    torch.manual_seed(11)
    assert torch.equal(channel(x, snr_db=3.0), first)


def test_sionna_global_seed_has_no_effect() -> None:
    import sionna.phy

    x = _symbols((4, 32))
    outputs = []
    torch_state = torch.random.get_rng_state()  # Sionna's seed setter reseeds torch
    try:
        for sionna_seed in (1, 2):
            sionna.phy.config.seed = sionna_seed
            for name in ("awgn", "rayleigh"):
                outputs.append(make_channel(name)(x, snr_db=0.0, generator=_gen(5)))
    finally:
        sionna.phy.config.seed = None
        torch.random.set_rng_state(torch_state)
    assert torch.equal(outputs[0], outputs[2]) and torch.equal(outputs[1], outputs[3])


@pytest.mark.parametrize("shape", [(0, 5), (3, 0)])
def test_empty_inputs(channel: Channel, shape: tuple[int, int]) -> None:
    x = torch.zeros(shape, dtype=torch.complex64)
    assert channel.receive(x, snr_db=10.0, generator=_gen(0)).shape == shape


def test_forward_errors(channel: Channel) -> None:
    with pytest.raises(TypeError, match="`x` must be a complex tensor"):
        channel(torch.ones(2, 3), snr_db=10.0)
    with pytest.raises(TypeError, match="`x` must be a torch.Tensor"):
        channel([[1j]], snr_db=10.0)  # type: ignore[arg-type]
    x = _symbols((2, 3))
    with pytest.raises(ValueError, match="`snr_db` must be a finite number; got nan"):
        channel(x, snr_db=float("nan"))
    with pytest.raises(TypeError, match="`generator` must be a torch.Generator or None"):
        channel(x, snr_db=10.0, generator=42)  # type: ignore[arg-type]
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="`generator` must be on the input's device"):
            channel(x.cuda(), snr_db=10.0, generator=_gen(0))


def test_a_zero_jammer_leaves_the_link_as_without_one(symbol_channel: Channel) -> None:
    """The jammer's taps are drawn after the signal's taps and noise."""
    x = _symbols((4, 6))
    plain = symbol_channel.receive(x, snr_db=10.0, generator=_gen(3))
    jammed = symbol_channel.receive(x, snr_db=10.0, generator=_gen(3), jam=torch.zeros_like(x))
    assert torch.equal(plain, jammed)


def test_gradients_flow_to_the_jammer(symbol_channel: Channel) -> None:
    x, jam = _symbols((4, 6)), _symbols((4, 6), seed=1).requires_grad_(True)
    symbol_channel.receive(x, snr_db=5.0, generator=_gen(2), jam=jam).abs().square().sum().backward()
    assert jam.grad is not None and torch.isfinite(jam.grad).all() and jam.grad.abs().sum() > 0


def test_jam_is_checked(channel: Channel) -> None:
    x = _symbols((2, 3))
    with pytest.raises(TypeError, match="`jam` must be a complex tensor"):
        channel(x, snr_db=10.0, jam=torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"`jam` must have the shape and device of `x` \[2, 3\]"):
        channel(x, snr_db=10.0, jam=_symbols((2, 4)))


def test_awgn_and_ideal_add_the_jammer_unfaded() -> None:
    x, jam = _symbols((3, 8)), _symbols((3, 8), seed=1)
    assert torch.equal(IdealChannel()(x, jam=jam), x + jam)
    y = AWGNChannel()(x, snr_db=10.0, generator=_gen(0), jam=jam)
    torch.testing.assert_close(y, AWGNChannel()(x, snr_db=10.0, generator=_gen(0)) + jam)


def test_equalizer_setting_is_checked() -> None:
    for cls in (IdealChannel, AWGNChannel, RayleighBlockChannel):
        with pytest.raises(ValueError, match="`equalizer` must be one of 'lmmse', 'none', 'zf'"):
            cls(equalizer="mmse")


# --------------------------------------------------------------------------- ideal


def test_ideal_is_identity() -> None:
    x = _symbols((3, 4)).requires_grad_(True)
    y, h = IdealChannel()(x, snr_db=-5.0, return_h=True)
    assert torch.equal(y, x) and torch.equal(h, torch.ones_like(x))
    assert torch.equal(IdealChannel().receive(x, snr_db=-5.0), x)
    assert torch.equal(IdealChannel()(x), x)
    assert not IdealChannel.is_random


# --------------------------------------------------------------------------- AWGN


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_awgn_measured_snr(snr_db: float) -> None:
    x = _qpsk(1_000_000)
    y = AWGNChannel()(x, snr_db=snr_db, generator=_gen(int(snr_db)))
    noise = y - x
    measured = 10 * math.log10(x.abs().square().mean().item() / noise.abs().square().mean().item())
    assert abs(measured - snr_db) < 0.1
    # circular: half the noise power in each real dimension
    assert noise.real.var().item() == pytest.approx(snr_db_to_no(snr_db) / 2, rel=0.01)
    assert noise.imag.var().item() == pytest.approx(snr_db_to_no(snr_db) / 2, rel=0.01)
    assert abs(noise.mean().item()) < 0.01


def test_awgn_requires_snr() -> None:
    with pytest.raises(ValueError, match="`snr_db` must be a finite number for the 'awgn' channel"):
        AWGNChannel()(_symbols((2, 3)))


def test_awgn_receive_lmmse_is_shrinkage() -> None:
    x = _symbols((4, 8))
    y = AWGNChannel()(x, snr_db=0.0, generator=_gen(4))
    x_hat = AWGNChannel().receive(x, snr_db=0.0, generator=_gen(4))
    torch.testing.assert_close(x_hat, y / 2)
    assert torch.equal(AWGNChannel(equalizer="zf").receive(x, snr_db=0.0, generator=_gen(4)), y)


# --------------------------------------------------------------------------- Rayleigh


def test_rayleigh_unit_average_energy_and_circularity() -> None:
    x = torch.ones(200_000, 1, dtype=torch.complex64)
    _, h = RayleighBlockChannel()(x, generator=_gen(0), return_h=True)
    assert h.abs().square().mean().item() == pytest.approx(1.0, rel=0.02)
    assert abs(h.mean().item()) < 0.01
    assert h.real.var().item() == pytest.approx(0.5, rel=0.02)
    # |h|² of Rayleigh fading is exponential: P(|h|² < 0.1) = 1 - exp(-0.1)
    share = (h.abs().square() < 0.1).float().mean().item()
    assert share == pytest.approx(1 - math.exp(-0.1), abs=0.005)


def test_rayleigh_one_tap_per_row_by_default() -> None:
    x = _symbols((64, 10))
    y, h = RayleighBlockChannel()(x, generator=_gen(1), return_h=True)
    assert h.shape == x.shape
    assert torch.equal(h, h[:, :1].expand_as(h))  # constant along the row
    assert h[:, 0].real.unique().numel() == 64  # independent across rows
    assert torch.equal(y, h * x)  # snr_db=None: fading only


@pytest.mark.parametrize(("n", "block_length"), [(12, 4), (10, 4), (5, 1), (6, 10)])
def test_rayleigh_block_structure(n: int, block_length: int) -> None:
    x = _symbols((16, n))
    _, h = RayleighBlockChannel(block_length=block_length)(
        x, snr_db=10.0, generator=_gen(2), return_h=True
    )
    assert h.shape == x.shape
    starts = list(range(0, n, block_length))
    for start in starts:
        block = h[:, start : start + block_length]
        assert torch.equal(block, block[:, :1].expand_as(block))
    firsts = h[:, starts]  # [16, num_blocks]
    assert firsts.real.flatten().unique().numel() == firsts.numel()


def test_rayleigh_block_taps_have_unit_energy() -> None:
    x = torch.ones(2_000, 64, dtype=torch.complex64)
    _, h = RayleighBlockChannel(block_length=8)(x, generator=_gen(3), return_h=True)
    assert h[:, ::8].abs().square().mean().item() == pytest.approx(1.0, rel=0.03)


def test_rayleigh_noise_is_added_on_top_of_fading() -> None:
    x = _qpsk(200_000).reshape(2_000, 100)
    y, h = RayleighBlockChannel()(x, snr_db=10.0, generator=_gen(4), return_h=True)
    noise_power = (y - h * x).abs().square().mean().item()
    assert noise_power == pytest.approx(0.1, rel=0.02)


def test_rayleigh_jammer_has_its_own_independent_unit_energy_channel() -> None:
    """Over the air: ``y = h x + h_j j + n`` with ``h_j ~ CN(0, 1)`` independent of ``h``."""
    x = torch.ones(100_000, 1, dtype=torch.complex64)
    jam = torch.ones_like(x)
    y, h = RayleighBlockChannel()(x, generator=_gen(6), jam=jam, return_h=True)
    _, h_alone = RayleighBlockChannel()(x, generator=_gen(6), return_h=True)
    assert torch.equal(h, h_alone)  # the signal's channel is unchanged by the jammer
    h_j = y - h * x
    assert h_j.abs().square().mean().item() == pytest.approx(1.0, rel=0.02)
    assert abs((h.conj() * h_j).mean().item()) < 0.01  # uncorrelated with h
    assert abs(h_j.mean().item()) < 0.01


def test_lmmse_beats_zf_and_none_at_low_snr() -> None:
    x = _symbols((2_000, 32), seed=9)
    mse = {}
    for method in ("lmmse", "zf", "none"):
        channel = RayleighBlockChannel(block_length=4, equalizer=method)
        x_hat = channel.receive(x, snr_db=0.0, generator=_gen(5))
        mse[method] = (x_hat - x).abs().square().mean().item()
    assert mse["lmmse"] < mse["zf"] and mse["lmmse"] < mse["none"]
    # LMMSE error with unit-energy symbols is E[N0 / (|h|² + N0)] < 1
    assert mse["lmmse"] < 1.0


def test_rayleigh_block_length_checked() -> None:
    with pytest.raises(ValueError, match="`block_length` must be ≥ 1 or None; got 0"):
        RayleighBlockChannel(block_length=0)
    with pytest.raises(TypeError, match="`block_length` must be an int or None; got float"):
        RayleighBlockChannel(block_length=2.0)  # type: ignore[arg-type]
