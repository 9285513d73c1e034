"""Tests of channels.snr and channels.mapping: SNR conversion, power normalisation, pairing."""

from __future__ import annotations

import math

import pytest
import torch

from channels import SymbolMapper, latent_scale, snr_db_to_no

# --------------------------------------------------------------------------- snr_db_to_no


@pytest.mark.parametrize(
    ("snr_db", "no"), [(0.0, 1.0), (10.0, 0.1), (20, 0.01), (-10.0, 10.0), (3.0, 10**-0.3)]
)
def test_snr_db_to_no_values(snr_db: float, no: float) -> None:
    assert snr_db_to_no(snr_db) == pytest.approx(no, rel=1e-12)


def test_snr_db_to_no_none_is_noiseless() -> None:
    assert snr_db_to_no(None) == 0.0


def test_snr_db_to_no_inverts_the_db_definition() -> None:
    for snr_db in (-7.5, 0.0, 12.25):
        assert -10.0 * math.log10(snr_db_to_no(snr_db)) == pytest.approx(snr_db)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_snr_db_to_no_rejects_non_finite(bad: float) -> None:
    with pytest.raises(ValueError, match=r"`snr_db` must be a finite number; got"):
        snr_db_to_no(bad)


@pytest.mark.parametrize("bad", ["10", True, [10.0]])
def test_snr_db_to_no_rejects_wrong_types(bad: object) -> None:
    with pytest.raises(TypeError, match="`snr_db` must be a real number"):
        snr_db_to_no(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- latent_scale


def test_latent_scale_is_sqrt2_rms() -> None:
    latents = torch.tensor([[3.0, -4.0], [0.0, 0.0]])
    # RMS = sqrt((9 + 16) / 4) = 2.5
    assert latent_scale(latents) == pytest.approx(math.sqrt(2) * 2.5)


def test_latent_scale_errors() -> None:
    with pytest.raises(ValueError, match="all zero"):
        latent_scale(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="empty"):
        latent_scale(torch.zeros(0, 4))
    with pytest.raises(ValueError, match="finite"):
        latent_scale(torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(TypeError, match="real floating-point"):
        latent_scale(torch.ones(2, 2, dtype=torch.int64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        latent_scale([[1.0]])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- SymbolMapper


@pytest.mark.parametrize("k", [1, 7, 10, 30])
def test_round_trip(k: int) -> None:
    gen = torch.Generator().manual_seed(k)
    z = 3.0 * torch.randn(16, k, generator=gen)
    exact = SymbolMapper(k, scale=1.0)
    c = exact.to_symbols(z)
    assert c.shape == (16, math.ceil(k / 2)) and c.dtype == torch.complex64
    assert exact.num_symbols == math.ceil(k / 2)
    assert torch.equal(exact.to_latent(c), z)  # pairing alone is lossless
    scaled = SymbolMapper(k, scale=latent_scale(z))
    torch.testing.assert_close(scaled.to_latent(scaled.to_symbols(z)), z, rtol=1e-6, atol=0)


def test_pairing_order_and_pad() -> None:
    mapper = SymbolMapper(5, scale=2.0)
    c = mapper.to_symbols(torch.tensor([[2.0, 4.0, 6.0, 8.0, 10.0]]))
    assert torch.equal(c, torch.tensor([[1 + 2j, 3 + 4j, 5 + 0j]], dtype=torch.complex64))


@pytest.mark.parametrize("k", [10, 11])
def test_unit_average_symbol_power(k: int) -> None:
    gen = torch.Generator().manual_seed(0)
    latents = 0.3 + 2.0 * torch.randn(4000, k, generator=gen)
    mapper = SymbolMapper(k, scale=latent_scale(latents))
    power = mapper.to_symbols(latents).abs().square().mean().item()
    # the pad of an odd k carries no energy: Es = k / (2 ceil(k/2))
    assert power == pytest.approx(k / (2 * math.ceil(k / 2)), rel=1e-5)
    if k % 2 == 0:
        assert power == pytest.approx(1.0, rel=1e-5)
    # fresh latents from the same distribution: Es ≈ 1 within sampling error
    fresh = 0.3 + 2.0 * torch.randn(4000, k, generator=gen)
    assert mapper.to_symbols(fresh).abs().square().mean().item() == pytest.approx(
        k / (2 * math.ceil(k / 2)), rel=0.03
    )


def test_mapper_is_differentiable_and_float64_follows() -> None:
    mapper = SymbolMapper(3, scale=0.5)
    z = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    c = mapper.to_symbols(z)
    assert c.dtype == torch.complex128
    back = mapper.to_latent(c)
    assert back.dtype == torch.float64
    back.sum().backward()
    torch.testing.assert_close(z.grad, torch.ones_like(z))


def test_scale_is_a_buffer_in_state_dict() -> None:
    mapper = SymbolMapper(4, scale=1.25)
    assert "scale" in dict(mapper.named_buffers())
    other = SymbolMapper(4, scale=9.0)
    other.load_state_dict(mapper.state_dict())
    assert float(other.scale) == 1.25


def test_mapper_errors() -> None:
    with pytest.raises(ValueError, match="`latent_dim` must be ≥ 1; got 0"):
        SymbolMapper(0, scale=1.0)
    with pytest.raises(TypeError, match="`latent_dim` must be an int"):
        SymbolMapper(2.0, scale=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`scale` must be a finite number > 0; got -1.0"):
        SymbolMapper(2, scale=-1.0)
    with pytest.raises(ValueError, match="`scale` must be a finite number > 0"):
        SymbolMapper(2, scale=float("nan"))
    mapper = SymbolMapper(4, scale=1.0)
    with pytest.raises(ValueError, match=r"`z` must have shape \[\.\.\., 4\]; got \[2, 5\]"):
        mapper.to_symbols(torch.zeros(2, 5))
    with pytest.raises(TypeError, match="real floating-point"):
        mapper.to_symbols(torch.zeros(2, 4, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"`c` must have shape \[\.\.\., 2\]"):
        mapper.to_latent(torch.zeros(2, 3, dtype=torch.complex64))
    with pytest.raises(TypeError, match="complex tensor"):
        mapper.to_latent(torch.zeros(2, 2))
