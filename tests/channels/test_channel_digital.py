"""The digital link channel against Sionna's own LDPC + QAM + AWGN chain (docs/design.md §7)."""

from __future__ import annotations

import itertools
import math
import warnings

import pytest
import torch
from scipy import stats

import channels
from channels.digital import check_frame


def _values(channel, batch: int, num_values: int, seed: int) -> torch.Tensor:
    """Normalised latent values uniform over the quantiser range: i.i.d. uniform bits."""
    gen = torch.Generator().manual_seed(seed)
    c = channel.half_range
    return (torch.rand(batch, num_values, generator=gen) * 2 - 1) * c * 0.999


def _bits(channel, u: torch.Tensor) -> torch.Tensor:
    q = channel.quantize(u)  # [B, k]
    shifts = torch.arange(channel.bits - 1, -1, -1)
    return ((q[..., None] >> shifts) & 1).reshape(u.shape[0], -1)  # [B, k·b]


def _received_bits(channel, u: torch.Tensor, snr_db: float, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    x = channel.encode(u)
    y, h = channel(x, snr_db=snr_db, generator=gen, return_h=True)
    u_hat = channel.detect(y, h, no=channel.noise_variance(snr_db), num_values=u.shape[1])
    return _bits(channel, u_hat)


@pytest.mark.parametrize("fading", ["awgn", "rayleigh"])
def test_high_snr_without_attack_decodes_every_bit(fading):
    channel = channels.make_channel("digital", bits=4, code_rate=0.5, qam_order=16, fading=fading)
    u = _values(channel, 64, 10, seed=0)
    x = channel.encode(u)
    assert x.shape == (64, channel.channel_uses(10)) == (64, 20)
    assert abs(x.abs().square().mean().item() - 1.0) < 0.05  # unit-power QAM
    sent = _bits(channel, u)
    assert torch.equal(_received_bits(channel, u, 40.0, seed=1), sent)
    # and the values are the quantiser's levels, within half a step of the input
    step = 2 * channel.half_range / 2**channel.bits
    c = torch.complex(u[:, 0::2], u[:, 1::2])
    got = channel.receive(c, snr_db=40.0, generator=torch.Generator().manual_seed(1))
    assert (got - c).abs().max() <= step / 2 * math.sqrt(2) + 1e-6


def _sionna_bler(k: int, n: int, m: int, snr_db: float, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Block errors of Sionna's own chain: LDPC5GEncoder → Mapper → AWGN → Demapper → LDPC5GDecoder."""
    from sionna.phy.channel import AWGN
    from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
    from sionna.phy.mapping import Demapper, Mapper

    gen = torch.Generator().manual_seed(seed)
    enc = LDPC5GEncoder(k, n, num_bits_per_symbol=m, precision="single", device="cpu")
    dec = LDPC5GDecoder(enc, hard_out=True, num_iter=20, precision="single", device="cpu")
    bits = torch.randint(0, 2, (batch, k), generator=gen).float()
    x = Mapper("qam", m, precision="single", device="cpu")(enc(bits))
    no = 10 ** (-snr_db / 10)
    awgn = AWGN(precision="single", device="cpu")
    torch.manual_seed(seed)  # Sionna's AWGN draws from the global generator here
    y = awgn(x, no)
    decoded = dec(Demapper("app", "qam", m, precision="single", device="cpu")(y, no))
    return (decoded != bits).any(1), (decoded != bits).float().mean(1)


def test_ber_falls_with_snr_as_sionnas_own_ldpc_qam_awgn_chain():
    """Same blocks, same code: block and bit error rates agree within Monte-Carlo spread."""
    channel = channels.make_channel("digital", bits=4, code_rate=0.5, qam_order=16, bp_iterations=20)
    k, n = channel.frame(10)
    batch, bers = 600, []
    for i, snr in enumerate((3.0, 6.0, 10.0)):
        u = _values(channel, batch, 10, seed=10 + i)
        errors = _received_bits(channel, u, snr, seed=20 + i) != _bits(channel, u)
        ours_blocks, ours_ber = errors.any(1), errors.float().mean(1)
        ref_blocks, ref_ber = _sionna_bler(k, n, 4, snr, batch, seed=30 + i)
        table = [[int(ours_blocks.sum()), batch - int(ours_blocks.sum())],
                 [int(ref_blocks.sum()), batch - int(ref_blocks.sum())]]
        assert stats.fisher_exact(table).pvalue > 1e-3, (snr, table)
        # bit errors are correlated within a codeword: compare per-codeword BERs (Welch)
        if ours_ber.std() > 0 and ref_ber.std() > 0:
            assert stats.ttest_ind(ours_ber.numpy(), ref_ber.numpy(), equal_var=False).pvalue > 1e-3, snr
        bers.append(ours_ber.mean().item())
    assert bers[0] > bers[1] > bers[2], bers
    assert bers[0] > 0.05 and bers[2] < 5e-3, bers  # through the waterfall


def test_frame_limits_agree_with_sionnas_ldpc5g_encoder():
    """check_frame refuses exactly the (k, n) Sionna's LDPC5GEncoder cannot build."""
    from sionna.phy.fec.ldpc import LDPC5GEncoder

    for values, bits, rate, order in itertools.product((1, 3, 10, 30), (1, 2, 4), (0.2, 0.5, 0.95), (4, 256)):
        try:
            k, n = check_frame(values, bits, rate, order)
            ours = None
        except ValueError as err:
            ours = str(err)
        k = values * bits
        n = int(math.log2(order)) * math.ceil(k / (rate * math.log2(order)) - 1e-9)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                LDPC5GEncoder(k, n, num_bits_per_symbol=int(math.log2(order)))
            theirs = None
        except ValueError as err:
            theirs = str(err)
        assert (ours is None) == (theirs is None), (values, bits, rate, order, ours, theirs)
        if ours is not None:
            assert ours.startswith(("`bits`", "`code_rate`")), ours


def test_the_soft_path_is_differentiable_and_the_hard_path_is_not():
    channel = channels.make_channel("digital", bits=4, code_rate=0.5, qam_order=16, bp_iterations=10)
    u = _values(channel, 32, 10, seed=3)
    x = channel.encode(u)
    assert not x.requires_grad
    y, h = channel(x, snr_db=6.0, generator=torch.Generator().manual_seed(4), return_h=True)
    delta = torch.zeros_like(y, requires_grad=True)
    soft = channel.detect(y + delta, h, no=channel.noise_variance(6.0), num_values=10, soft=True)
    soft.square().sum().backward()
    assert torch.isfinite(delta.grad).all() and delta.grad.abs().sum() > 0
    hard = channel.detect(y, h, no=channel.noise_variance(6.0), num_values=10)
    assert not hard.requires_grad
    # the soft value is the expected level: between the lowest and the highest level
    assert (soft.abs() <= channel.half_range).all()


@pytest.mark.parametrize(("settings", "key"), [({"qam_order": 32}, "qam_order"), ({"code_rate": 0.99}, "code_rate"),
                                               ({"bits": 0}, "bits"), ({"block_length": 4}, "block_length")])
def test_bad_settings_name_the_key(settings, key):
    with pytest.raises(ValueError, match=f"`{key}`"):
        channels.make_channel("digital", **settings)
