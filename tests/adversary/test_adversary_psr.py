"""Budgets as perturbation-to-signal power ratios (PSR, dB)."""

import math

import numpy as np
import pytest
import torch
from test_adversary_pgd import _clean, _decoder, _latents

from adversary import (
    gaussian_jamming,
    make_target,
    perturbation_norm,
    pgd,
    psr_db,
    psr_to_eps,
    to_sphere,
    universal_perturbation,
)

PSRS = [-30.0, -20.0, -6.0, 0.0, 3.0]
PER_SAMPLE_PSR = torch.tensor([-40.0, -20.0, -10.0, -3.0, 0.0, 6.0])


def _gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def decoder():
    return _decoder()


def test_psr_to_eps_and_psr_db_match_numpy():
    signal = torch.randn(6, 7, 2, generator=_gen(0), dtype=torch.float64)
    delta = torch.randn(6, 7, 2, generator=_gen(1), dtype=torch.float64)
    s = signal.reshape(6, -1).numpy()
    d = delta.reshape(6, -1).numpy()
    power_s, power_d = (s**2).sum(1), (d**2).sum(1)
    np.testing.assert_allclose(psr_db(delta, signal), 10 * np.log10(power_d / power_s))
    np.testing.assert_allclose(
        psr_to_eps(PER_SAMPLE_PSR, signal), np.sqrt(power_s * 10 ** (PER_SAMPLE_PSR.numpy() / 10))
    )
    np.testing.assert_allclose(psr_to_eps(-10, signal), np.sqrt(power_s / 10))


@pytest.mark.parametrize("psr", [*PSRS, PER_SAMPLE_PSR])
def test_jamming_at_the_psr_budget_has_that_psr_for_every_sample(psr):
    z = _latents()
    delta = gaussian_jamming(z, psr_to_eps(psr, z), generator=_gen(0))
    error = psr_db(delta, z) - torch.as_tensor(psr, dtype=z.dtype)
    assert error.abs().max() < 0.01, error


@pytest.mark.parametrize("psr", [*PSRS, PER_SAMPLE_PSR])
def test_pgd_at_the_psr_budget(decoder, psr):
    z = _latents()
    clean = _clean(decoder, z)
    eps = psr_to_eps(psr, z)
    requested = torch.as_tensor(psr, dtype=z.dtype)
    untargeted = pgd(lambda d: decoder(z + d), z, eps=eps, reference=clean)
    # the kept untargeted iterate sits on the L2 sphere: exactly the requested PSR
    assert (psr_db(untargeted.delta, z) - requested).abs().max() < 0.01
    targeted = pgd(
        lambda d: decoder(z + d), z, eps=eps, reference=make_target("black", clean), targeted=True
    )
    assert (psr_db(targeted.delta, z) <= requested + 0.01).all()


@pytest.mark.parametrize("psr", [*PSRS, PER_SAMPLE_PSR])
def test_to_sphere_spends_exactly_the_psr_budget_for_every_sample(decoder, psr):
    """A targeted δ may stay inside the ball; at full power it has the budget's PSR."""
    z = _latents()
    eps = psr_to_eps(psr, z)
    black = make_target("black", _clean(decoder, z))
    inside = pgd(lambda d: decoder(z + d), z, eps=eps, reference=black, targeted=True).delta
    inside[0] = 0.0  # a zero δ takes the direction (1, …, 1)
    full = to_sphere(inside, eps)
    error = psr_db(full, z) - torch.as_tensor(psr, dtype=z.dtype)
    assert error.abs().max() < 0.01, error
    moved = perturbation_norm(inside[1:]) > 0
    cosine = torch.nn.functional.cosine_similarity(full[1:][moved], inside[1:][moved], dim=1)
    assert (cosine > 1 - 1e-6).all()  # the direction is kept


def test_to_sphere_keeps_zero_budgets_zero_and_inputs():
    delta = torch.randn(3, 4, generator=_gen(0))
    copy = delta.clone()
    out = to_sphere(delta, torch.tensor([0.0, 1.0, 2.0]))
    assert torch.equal(delta, copy) and torch.equal(out[0], torch.zeros(4))
    torch.testing.assert_close(perturbation_norm(out[1:]), torch.tensor([1.0, 2.0]))


def test_universal_perturbation_at_a_psr_budget():
    """One δ_u for all: its budget is the PSR against the mean signal power."""
    z = _latents(batch=16)
    decoder = _decoder()
    power = z.pow(2).mean(0, keepdim=True).sqrt()  # [1, d]: ‖power‖² = mean_i ‖z_i‖²
    eps = psr_to_eps(-10.0, power).item()
    result = universal_perturbation(
        decoder,
        z,
        eps=eps,
        references=_clean(decoder, z),
        epochs=1,
        batch_size=8,
        generator=_gen(0),
    )
    assert psr_db(result.delta[None], power).item() <= -10.0 + 0.01


def test_psr_is_the_same_on_scaled_and_complex_mapped_symbols():
    """Power normalisation and pairing into complex symbols leave the PSR unchanged."""
    z, delta = torch.randn(4, 10, generator=_gen(0)), torch.randn(4, 10, generator=_gen(1))
    scale = 1 / (math.sqrt(2) * 0.73)
    symbols = torch.view_as_complex((scale * z).reshape(4, 5, 2))  # [B, 5] complex
    jam = torch.view_as_complex((scale * delta).reshape(4, 5, 2))
    torch.testing.assert_close(psr_db(jam, symbols), psr_db(delta, z), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        psr_to_eps(-3.0, symbols), scale * psr_to_eps(-3.0, z), rtol=1e-5, atol=0
    )


def test_zero_perturbation_is_minus_infinity_and_back():
    z = _latents()
    assert torch.equal(psr_db(torch.zeros_like(z), z), torch.full((6,), -math.inf))
    assert torch.equal(psr_to_eps(-math.inf, z), torch.zeros(6))


def test_inputs_are_not_modified_and_results_are_detached():
    z = _latents().requires_grad_(True)
    delta = torch.randn(6, 10, generator=_gen(2))
    copies = z.detach().clone(), delta.clone()
    eps, db = psr_to_eps(PER_SAMPLE_PSR, z), psr_db(delta, z)
    assert not eps.requires_grad and not db.requires_grad
    assert torch.equal(z.detach(), copies[0]) and torch.equal(delta, copies[1])
    torch.testing.assert_close(perturbation_norm(z.detach()) * 10 ** (PER_SAMPLE_PSR / 20), eps)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda z: psr_to_eps(float("nan"), z), ValueError, r"`psr_db` must be finite or -inf"),
        (lambda z: psr_to_eps(math.inf, z), ValueError, r"`psr_db` must be finite or -inf"),
        (lambda z: psr_to_eps(torch.zeros(5), z), ValueError, r"`psr_db` must be .* \[B\] = \[6\]"),
        (lambda z: psr_to_eps("-10", z), TypeError, r"`psr_db` must be a number"),
        (lambda z: psr_to_eps(-10.0, z[0]), ValueError, r"`signal` must have shape \[B, d\]"),
        (lambda z: psr_to_eps(-10.0, z.long()), TypeError, r"`signal` must have a floating"),
        (lambda z: psr_db(z[:3], z), ValueError, r"`delta` must have the shape of `signal`"),
        (lambda z: psr_db(z, [1.0]), TypeError, r"`signal` must be a torch.Tensor"),
        (
            lambda z: psr_db(z, torch.cat([z[:5], torch.zeros(1, 10)])),
            ValueError,
            r"`signal` must be non-zero in every sample.*\[5\]",
        ),
    ],
)
def test_bad_arguments_raise_naming_them(call, error, match):
    with pytest.raises(error, match=match):
        call(_latents())
