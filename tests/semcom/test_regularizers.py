"""Latent regularisers checked against independent oracles and their defining invariants."""

from __future__ import annotations

import dataclasses
import doctest
import math

import numpy as np
import pytest
import scipy.stats
import torch
from torch.distributions import Normal, kl_divergence

from semcom.models import regularizers as R

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _posterior(batch: int, dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = _gen(seed)
    mu = torch.randn(batch, dim, generator=g, dtype=F64)
    logvar = torch.empty(batch, dim, dtype=F64).uniform_(-2.0, 0.5, generator=g)
    z = mu + torch.randn(batch, dim, generator=g, dtype=F64) * (0.5 * logvar).exp()
    return z, mu, logvar


def test_docstring_examples_run():
    result = doctest.testmod(R, extraglobs={"torch": torch}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------- KLD


def test_kld_matches_torch_distributions():
    _, mu, logvar = _posterior(32, 6, seed=0)
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1).mean()
    torch.testing.assert_close(R.kld_standard_normal(mu, logvar), expected)


def test_kld_closed_form_values():
    # One dimension, μ = 1, σ² = 1: ½·μ² = 0.5.  μ = 0, σ² = e: ½(e − 1 − 1).
    mu = torch.tensor([[1.0, 0.0]], dtype=F64)
    logvar = torch.tensor([[0.0, 1.0]], dtype=F64)
    assert R.kld_standard_normal(mu, logvar).item() == pytest.approx(0.5 + 0.5 * (math.e - 2.0))
    zero = R.kld_standard_normal(torch.zeros(4, 3), torch.zeros(4, 3))
    assert zero.item() == 0.0


def test_kld_gradient():
    _, mu, logvar = _posterior(5, 3, seed=1)
    assert torch.autograd.gradcheck(
        R.kld_standard_normal, (mu.requires_grad_(), logvar.requires_grad_())
    )


def test_kld_rejects_bad_input():
    with pytest.raises(ValueError, match="shapes must match"):
        R.kld_standard_normal(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(TypeError, match="`mu` must be a torch.Tensor"):
        R.kld_standard_normal(np.zeros((4, 3)), torch.zeros(4, 3))


# --------------------------------------------------------------------------- MMD


def _mmd_loops(x: torch.Tensor, y: torch.Tensor, kernel: str, scale: float) -> float:
    """Gretton et al. 2012, Eq. 3, by explicit loops."""

    def k(a, b):
        d2 = float(((a - b) ** 2).sum())
        return scale / (scale + d2) if kernel == "imq" else math.exp(-d2 / scale)

    n, m = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j)
    syy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    sxy = sum(k(x[i], y[j]) for i in range(n) for j in range(m))
    return sxx / (n * (n - 1)) + syy / (m * (m - 1)) - 2.0 * sxy / (n * m)


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_unbiased_matches_loops(kernel):
    g = _gen(2)
    x = torch.randn(7, 3, generator=g, dtype=F64)
    y = torch.randn(9, 3, generator=g, dtype=F64) + 0.3
    got = R.mmd_unbiased(x, y, kernel=kernel)
    assert got.item() == pytest.approx(_mmd_loops(x, y, kernel, scale=2.0 * 3), rel=1e-12)
    # Symmetric, and a sequence of scales sums the kernels.
    assert R.mmd_unbiased(y, x, kernel=kernel).item() == pytest.approx(got.item(), rel=1e-12)
    multi = R.mmd_unbiased(x, y, kernel=kernel, scale=[1.0, 5.0]).item()
    expected = _mmd_loops(x, y, kernel, 1.0) + _mmd_loops(x, y, kernel, 5.0)
    assert multi == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_standard_normal_small_under_prior_large_when_shifted(kernel):
    g = _gen(3)
    null, shifted, scaled = [], [], []
    for _ in range(5):
        z = torch.randn(256, 8, generator=g, dtype=F64)
        null.append(R.mmd_standard_normal(z, generator=g, kernel=kernel).item())
        shifted.append(R.mmd_standard_normal(z + 0.5, generator=g, kernel=kernel).item())
        scaled.append(R.mmd_standard_normal(2.0 * z, generator=g, kernel=kernel).item())
    # Null spread (measured) is ~1e-3; a shift of 0.5 per dimension gives ~0.05–0.1.
    assert max(abs(v) for v in null) < 0.01
    assert min(shifted) > 0.03 and min(scaled) > 0.05
    assert min(shifted) > 10 * max(abs(v) for v in null)


def test_mmd_standard_normal_uses_only_its_generator():
    z = torch.randn(64, 4, generator=_gen(4))
    state = torch.get_rng_state()
    a = R.mmd_standard_normal(z, generator=_gen(5))
    b = R.mmd_standard_normal(z, generator=_gen(5))
    c = R.mmd_standard_normal(z, generator=_gen(6))
    R.mmd_standard_normal(z)  # no generator: a private one, still not the global RNG
    assert torch.equal(torch.get_rng_state(), state)
    assert a.item() == b.item() and a.item() != c.item()
    assert a.dtype == z.dtype


def test_mmd_gradient_finite_and_pulls_towards_prior():
    z = (torch.randn(128, 5, generator=_gen(7), dtype=F64) + 1.0).requires_grad_()
    loss = R.mmd_standard_normal(z, generator=_gen(8))
    loss.backward()
    assert torch.isfinite(z.grad).all()
    # Descending the MMD moves the shifted batch back towards the origin.
    assert (z.grad.mean(0) > 0).all()


def test_mmd_rejects_bad_input():
    z = torch.randn(8, 2)
    with pytest.raises(ValueError, match="`kernel` must be one of 'imq', 'rbf'; got 'cauchy'"):
        R.mmd_standard_normal(z, kernel="cauchy")
    with pytest.raises(ValueError, match="`scale` must be positive"):
        R.mmd_standard_normal(z, scale=0.0)
    with pytest.raises(ValueError, match="at least 2 samples"):
        R.mmd_standard_normal(z[:1])
    with pytest.raises(TypeError, match="`generator`"):
        R.mmd_standard_normal(z, generator=0)


# ------------------------------------------------------------------ Shapiro–Wilk

SW_SIZES = [3, 4, 5, 6, 7, 11, 20, 50, 100, 500, 5000]


@pytest.mark.parametrize("n", SW_SIZES)
def test_shapiro_wilk_matches_scipy(n):
    rng = np.random.default_rng(n)
    worst = 0.0
    for _ in range(3):
        cols = [rng.standard_normal(n), rng.uniform(size=n), rng.exponential(size=n)]
        cols.append(5.0 + 0.01 * cols[0])  # location/scale far from the unit
        w = R.shapiro_wilk_w(torch.tensor(np.stack(cols, axis=1)))
        expected = np.array([scipy.stats.shapiro(c).statistic for c in cols])
        worst = max(worst, float(np.abs(w.numpy() - expected).max()))
    assert worst < 1e-7  # measured ≤ 1e-9; the brief's bound is 1e-3
    # float32 input stays within the brief's bound as well.
    w32 = R.shapiro_wilk_w(torch.tensor(np.stack(cols, axis=1), dtype=torch.float32))
    assert w32.dtype == torch.float32
    np.testing.assert_allclose(w32.numpy(), expected, atol=1e-4)


def test_shapiro_wilk_coefficients_properties_and_cache():
    a3 = R.shapiro_wilk_coefficients(3)
    torch.testing.assert_close(a3, torch.tensor([-(0.5**0.5), 0.0, 0.5**0.5], dtype=F64))
    for n in (4, 5, 6, 10, 101, 5000):
        a = R.shapiro_wilk_coefficients(n)
        assert a.shape == (n,)
        torch.testing.assert_close(a, -a.flip(0))  # antisymmetric
        assert a.pow(2).sum().item() == pytest.approx(1.0, abs=1e-12)
        assert (a.diff() > 0).all()  # increasing, like the expected order statistics
    assert R.shapiro_wilk_coefficients(20) is R.shapiro_wilk_coefficients(20)
    a32 = R.shapiro_wilk_coefficients(20, dtype=torch.float32)
    assert a32.dtype == torch.float32 and a32 is R.shapiro_wilk_coefficients(
        20, dtype=torch.float32
    )


def test_shapiro_wilk_invariances_and_range():
    g = _gen(9)
    z = torch.randn(200, 6, generator=g, dtype=F64)
    w = R.shapiro_wilk_w(z)
    assert ((w > 0) & (w <= 1)).all()
    assert (w > 0.97).all()  # normal data
    perm = torch.randperm(200, generator=g)
    torch.testing.assert_close(R.shapiro_wilk_w(3.0 * z[perm] - 7.0), w)
    skewed = torch.empty(200, 6, dtype=F64).exponential_(generator=g)
    assert (R.shapiro_wilk_w(skewed) < w.min()).all()
    # A 1-D sample gives a scalar.
    w0 = R.shapiro_wilk_w(z[:, 0])
    assert w0.shape == () and w0.item() == pytest.approx(w[0].item(), abs=1e-12)


def test_shapiro_wilk_gradient():
    z = torch.randn(9, 2, generator=_gen(10), dtype=F64).requires_grad_()
    assert torch.autograd.gradcheck(R.shapiro_wilk_w, (z,))
    big = torch.randn(1000, 16, generator=_gen(11)).requires_grad_()
    R.shapiro_wilk_loss(big).backward()
    assert torch.isfinite(big.grad).all() and big.grad.abs().sum() > 0
    const = torch.ones(10, 2, requires_grad=True)
    w = R.shapiro_wilk_w(const)
    w.sum().backward()
    assert torch.isfinite(w).all() and torch.isfinite(const.grad).all()


def test_shapiro_wilk_loss_descent_makes_sample_more_normal():
    g = _gen(12)
    x = torch.empty(200, 4, dtype=F64).exponential_(generator=g)
    w_before = R.shapiro_wilk_w(x)
    loss_before = R.shapiro_wilk_loss(x).item()
    assert loss_before == pytest.approx((1.0 - w_before).sum().item())
    x.requires_grad_()
    opt = torch.optim.Adam([x], lr=0.05)
    for _ in range(20):
        opt.zero_grad()
        loss = R.shapiro_wilk_loss(x)
        loss.backward()
        opt.step()
    w_after = R.shapiro_wilk_w(x.detach())
    assert (w_after > w_before + 0.05).all()
    assert R.shapiro_wilk_loss(x.detach()).item() < 0.5 * loss_before
    # The optimised columns now pass scipy's test more easily too.
    p_after = [scipy.stats.shapiro(c).pvalue for c in x.detach().numpy().T]
    assert min(p_after) > 1e-6


@pytest.mark.parametrize("n", [1, 2, 5001])
def test_shapiro_wilk_rejects_sample_size(n):
    with pytest.raises(ValueError, match=r"3 ≤ n ≤ 5000 .* got n = " + str(n)):
        R.shapiro_wilk_w(torch.randn(n, 2))


def test_shapiro_wilk_rejects_bad_input():
    with pytest.raises(ValueError, match="must be 1-D or 2-D"):
        R.shapiro_wilk_w(torch.randn(5, 2, 2))
    with pytest.raises(TypeError, match="floating dtype"):
        R.shapiro_wilk_loss(torch.ones(5, 2, dtype=torch.int64))


# ------------------------------------------------------------------- β-TCVAE


def _tc_loops(z, mu, logvar, dataset_size):
    """MWS estimates of Chen et al. 2018 by explicit loops over torch.distributions."""
    b, d = z.shape
    std = (0.5 * logvar).exp()
    log_bn = math.log(b * dataset_size)
    mi = tc = dw = 0.0
    for i in range(b):
        lq_zx = Normal(mu[i], std[i]).log_prob(z[i]).sum()
        lq_z = (
            torch.logsumexp(
                torch.stack([Normal(mu[j], std[j]).log_prob(z[i]).sum() for j in range(b)]), 0
            )
            - log_bn
        )
        lq_prod = sum(
            torch.logsumexp(
                torch.stack([Normal(mu[j, k], std[j, k]).log_prob(z[i, k]) for j in range(b)]), 0
            )
            - log_bn
            for k in range(d)
        )
        lp = Normal(0.0, 1.0).log_prob(z[i]).sum()
        mi += float(lq_zx - lq_z) / b
        tc += float(lq_z - lq_prod) / b
        dw += float(lq_prod - lp) / b
    return mi, tc, dw


def test_tc_decomposition_matches_loops():
    z, mu, logvar = _posterior(6, 3, seed=13)
    terms = R.tc_decomposition(z, mu, logvar, dataset_size=100)
    mi, tc, dw = _tc_loops(z, mu, logvar, 100)
    assert terms.mutual_info.item() == pytest.approx(mi, rel=1e-10)
    assert terms.total_correlation.item() == pytest.approx(tc, rel=1e-10)
    assert terms.dimension_wise_kl.item() == pytest.approx(dw, rel=1e-10)


@pytest.mark.parametrize(
    ("batch", "dim", "dataset_size"), [(2, 1, 2), (64, 10, 4000), (128, 30, 60000)]
)
def test_tc_terms_sum_to_sampled_kl(batch, dim, dataset_size):
    z, mu, logvar = _posterior(batch, dim, seed=batch)
    terms = R.tc_decomposition(z, mu, logvar, dataset_size)
    kl = R.sampled_kl(z, mu, logvar)
    total = terms.mutual_info + terms.total_correlation + terms.dimension_wise_kl
    assert abs(total.item() - kl.item()) < 1e-5
    assert abs(terms.total.item() - kl.item()) < 1e-5
    ones = R.tcvae_loss(terms, alpha=1.0, beta=1.0, gamma=1.0)
    assert abs(ones.item() - kl.item()) < 1e-5


def test_sampled_kl_averages_to_closed_form():
    _, mu, logvar = _posterior(16, 5, seed=14)
    g = _gen(15)
    draws = 4000
    eps = torch.randn(draws, 16, 5, generator=g, dtype=F64)
    z = mu + eps * (0.5 * logvar).exp()  # [S x B x D]
    log_q = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
    log_p = Normal(0.0, 1.0).log_prob(z).sum(-1)
    per_draw = (log_q - log_p).mean(-1)  # [S]
    assert R.sampled_kl(z[0], mu, logvar).item() == pytest.approx(per_draw[0].item(), rel=1e-12)
    stderr = per_draw.std() / math.sqrt(draws)
    gap = per_draw.mean() - R.kld_standard_normal(mu, logvar)
    assert abs(gap.item()) < 5 * stderr.item()


def test_total_correlation_larger_for_correlated_latents():
    b, d = 256, 4
    g = _gen(16)
    logvar = torch.full((b, d), -2.0, dtype=F64)
    noise = torch.randn(b, d, generator=g, dtype=F64) * (0.5 * logvar).exp()
    shared = torch.randn(b, 1, generator=g, dtype=F64).expand(b, d)
    independent = torch.randn(b, d, generator=g, dtype=F64)
    tc_shared = R.tc_decomposition(shared + noise, shared, logvar, b).total_correlation
    tc_indep = R.tc_decomposition(independent + noise, independent, logvar, b).total_correlation
    assert tc_shared.item() > tc_indep.item() + 1.0  # measured gap ≈ 2 nats, spread ≈ 0.1


def test_tcvae_loss_weights_and_gradient():
    z, mu, logvar = _posterior(32, 4, seed=17)
    mu.requires_grad_()
    logvar.requires_grad_()
    terms = R.tc_decomposition(z, mu, logvar, 1000)
    loss = R.tcvae_loss(terms, alpha=0.5, beta=6.0, gamma=2.0)
    expected = (
        0.5 * terms.mutual_info + 6.0 * terms.total_correlation + 2.0 * terms.dimension_wise_kl
    )
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(R.tcvae_loss(terms), R.tcvae_loss(terms, beta=6.0))
    loss.backward()
    assert torch.isfinite(mu.grad).all() and torch.isfinite(logvar.grad).all()
    with pytest.raises(dataclasses.FrozenInstanceError):
        terms.mutual_info = terms.total_correlation


def test_tc_rejects_bad_input():
    z, mu, logvar = _posterior(8, 2, seed=18)
    with pytest.raises(ValueError, match="`dataset_size` must be ≥ the batch size 8; got 4"):
        R.tc_decomposition(z, mu, logvar, 4)
    with pytest.raises(TypeError, match="`dataset_size` must be an int"):
        R.tc_decomposition(z, mu, logvar, 100.0)
    with pytest.raises(ValueError, match="shapes must match"):
        R.tc_decomposition(z, mu[:, :1], logvar, 100)
    terms = R.tc_decomposition(z, mu, logvar, 100)
    with pytest.raises(ValueError, match="`beta` must be finite and ≥ 0"):
        R.tcvae_loss(terms, beta=-1.0)
