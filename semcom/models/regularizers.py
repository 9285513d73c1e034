"""Latent regularisers of the generative autoencoders (paper §2.1–2.2, docs/design.md §4).

Pure, differentiable torch functions of a minibatch of latents. Each returns a
scalar (or, for :func:`shapiro_wilk_w`, one value per latent dimension) that a
model variant multiplies by its weight λ (or β) and adds to the reconstruction
loss.

* :func:`kld_standard_normal` — closed-form ``KL(q(z|x) ‖ N(0, I))`` (paper Eq. 1,
  the Vanilla / KLD-VAE).
* :func:`mmd_standard_normal` — unbiased MMD² against a prior sample (paper
  Eq. 2, the MMD-VAE / MMD-DAE; Gretton et al. 2012, kernel as in WAE,
  Tolstikhin et al. 2018).
* :func:`shapiro_wilk_w` and :func:`shapiro_wilk_loss` — the Shapiro–Wilk
  statistic per latent dimension with Royston's coefficients (AS R94) and the
  loss ``Σ_j (1 − W_j)`` (paper Eq. 3, the SWT-VAE / SWT-DAE).
* :func:`tc_decomposition`, :func:`tcvae_loss` and :func:`sampled_kl` — the
  β-TCVAE decomposition of the KL term with minibatch-weighted sampling
  (Chen et al. 2018).

Shapes: ``B`` (or ``n``) is the batch size, ``D`` the latent dimension.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

__all__ = [
    "MMD_KERNELS",
    "SW_MAX_N",
    "SW_MIN_N",
    "TCTerms",
    "kld_standard_normal",
    "mmd_standard_normal",
    "mmd_unbiased",
    "sampled_kl",
    "shapiro_wilk_coefficients",
    "shapiro_wilk_loss",
    "shapiro_wilk_w",
    "tc_decomposition",
    "tcvae_loss",
]

_LOG_2PI = math.log(2.0 * math.pi)


def _check_tensor(name: str, x: object, *, ndim: int | tuple[int, ...]) -> torch.Tensor:
    """Type and rank check with the project's one error shape."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor; got {type(x).__name__}")
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if x.dim() not in dims:
        want = " or ".join(f"{d}-D" for d in dims)
        raise ValueError(f"`{name}` must be {want}; got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"`{name}` must have a floating dtype; got {x.dtype}")
    return x


def _check_same_shape(**tensors: torch.Tensor) -> None:
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) != 1:
        listed = ", ".join(f"`{n}` {s}" for n, s in shapes.items())
        raise ValueError(f"shapes must match; got {listed}")


# --------------------------------------------------------------------------- KLD


def kld_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL divergence of a diagonal Gaussian posterior from the standard normal prior.

    ``KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_d (μ_d² + σ_d² − 1 − log σ_d²)``, summed
    over the ``D`` latent dimensions and averaged over the batch — the
    regulariser of the Vanilla (KLD-) VAE, paper Eq. 1 (Kingma & Welling 2014).

    Args:
        mu: posterior means ``[B, D]``.
        logvar: posterior log-variances ``log σ²`` ``[B, D]``.

    Returns:
        Scalar tensor, nats per sample.

    Example:
        >>> kld_standard_normal(torch.ones(4, 2), torch.zeros(4, 2))
        tensor(1.)
    """
    _check_tensor("mu", mu, ndim=2)
    _check_tensor("logvar", logvar, ndim=2)
    _check_same_shape(mu=mu, logvar=logvar)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)  # [B x D]
    return kl.sum(dim=1).mean()


# --------------------------------------------------------------------------- MMD


def _imq_kernel(sq_dist: torch.Tensor, scale: float) -> torch.Tensor:
    """Inverse multiquadric ``C / (C + ‖x − y‖²)``."""
    return scale / (scale + sq_dist)


def _rbf_kernel(sq_dist: torch.Tensor, scale: float) -> torch.Tensor:
    """Gaussian (RBF) ``exp(−‖x − y‖² / C)``."""
    return torch.exp(-sq_dist / scale)


MMD_KERNELS: dict[str, Callable[[torch.Tensor, float], torch.Tensor]] = {
    "imq": _imq_kernel,
    "rbf": _rbf_kernel,
}
"""Kernels of :func:`mmd_unbiased`, as functions of the squared distance and the scale ``C``."""


def _kernel_matrix(
    x: torch.Tensor, y: torch.Tensor, kernel: str, scales: Sequence[float]
) -> torch.Tensor:
    """``Σ_C k_C(x_i, y_j)`` for all pairs: ``[B x B']``."""
    sq_dist = (x.unsqueeze(1) - y.unsqueeze(0)).pow(2).sum(dim=-1)  # [B x B']
    fn = MMD_KERNELS[kernel]
    out = fn(sq_dist, scales[0])
    for c in scales[1:]:
        out = out + fn(sq_dist, c)
    return out


def _resolve_scales(scale: float | Sequence[float] | None, dim: int) -> tuple[float, ...]:
    if scale is None:
        return (2.0 * dim,)
    values = (scale,) if isinstance(scale, int | float) else tuple(scale)
    if not values:
        raise ValueError("`scale` must be a positive number or a non-empty sequence of them")
    for c in values:
        if isinstance(c, bool) or not isinstance(c, int | float):
            raise TypeError(f"`scale` must be a number or a sequence of numbers; got {scale!r}")
        if not (c > 0 and math.isfinite(c)):
            raise ValueError(f"`scale` must be positive and finite; got {scale!r}")
    return tuple(float(c) for c in values)


def mmd_unbiased(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    kernel: str = "imq",
    scale: float | Sequence[float] | None = None,
) -> torch.Tensor:
    """Unbiased estimate of the squared maximum mean discrepancy between two samples.

    Gretton et al. 2012 ("A kernel two-sample test", JMLR 13), the unbiased statistic ``MMD²_u``::

        1/(n(n−1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m−1)) Σ_{i≠j} k(y_i, y_j)
        − 2/(n m) Σ_{i,j} k(x_i, y_j)

    It can be slightly negative when the two distributions agree.

    Kernels (``MMD_KERNELS``), with scale ``C`` (default ``2·D``):

    * ``"imq"`` — inverse multiquadric ``k(x, y) = C / (C + ‖x − y‖²)``; ``C = 2·D·σ²``
      with the prior's ``σ² = 1`` is the choice of WAE (Tolstikhin et al. 2018).
    * ``"rbf"`` — Gaussian ``k(x, y) = exp(−‖x − y‖² / C)``, bandwidth ``C = 2·D``.

    A sequence of scales sums the kernels over them (WAE's multi-scale IMQ uses
    ``C·{0.1, 0.2, 0.5, 1, 2, 5, 10}``).

    Args:
        x: first sample ``[n, D]``, ``n ≥ 2``.
        y: second sample ``[m, D]``, ``m ≥ 2``.
        kernel: a key of :data:`MMD_KERNELS`.
        scale: ``C`` in squared latent units, or a sequence of them; ``None`` → ``2·D``.

    Returns:
        Scalar tensor; symmetric in ``x`` and ``y``.
    """
    _check_tensor("x", x, ndim=2)
    _check_tensor("y", y, ndim=2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"`x` and `y` must have the same latent dimension; got {x.shape[1]} and {y.shape[1]}"
        )
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(
            f"`x` and `y` need at least 2 samples each; got {x.shape[0]} and {y.shape[0]}"
        )
    if kernel not in MMD_KERNELS:
        valid = ", ".join(repr(k) for k in sorted(MMD_KERNELS))
        raise ValueError(f"`kernel` must be one of {valid}; got {kernel!r}")
    scales = _resolve_scales(scale, x.shape[1])
    n, m = x.shape[0], y.shape[0]

    k_xx = _kernel_matrix(x, x, kernel, scales)  # [n x n]
    k_yy = _kernel_matrix(y, y, kernel, scales)  # [m x m]
    k_xy = _kernel_matrix(x, y, kernel, scales)  # [n x m]
    # Off-diagonal sums: total minus the diagonal k(x_i, x_i) = Σ_C k_C(0).
    sum_xx = k_xx.sum() - k_xx.diagonal().sum()
    sum_yy = k_yy.sum() - k_yy.diagonal().sum()
    return sum_xx / (n * (n - 1)) + sum_yy / (m * (m - 1)) - 2.0 * k_xy.sum() / (n * m)


def mmd_standard_normal(
    z: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    kernel: str = "imq",
    scale: float | Sequence[float] | None = None,
) -> torch.Tensor:
    """Unbiased MMD² between the latents and an equal-size sample of the prior ``N(0, I)``.

    The MMD-VAE / MMD-DAE regulariser, paper Eq. 2: ``MMD²_u(z, z̃)`` with
    ``z̃_i ~ N(0, I)``, ``i = 1 … B``, estimated by :func:`mmd_unbiased`
    (Gretton et al. 2012). Default kernel: inverse multiquadric
    ``C / (C + ‖x − y‖²)`` with ``C = 2·D·σ²``, ``σ² = 1`` (WAE, Tolstikhin et
    al. 2018); ``kernel="rbf"`` uses ``exp(−‖x − y‖² / (2·D))``.

    Args:
        z: latents ``[B, D]``, ``B ≥ 2``.
        generator: draws the prior sample (on its own device, then moved to
            ``z``'s). ``None`` uses a fresh, non-deterministically seeded
            generator: the global torch RNG is never touched, but the value
            is then not reproducible.
        kernel: ``"imq"`` (default) or ``"rbf"``; see :data:`MMD_KERNELS`.
        scale: kernel scale ``C`` (or a sequence, summed); ``None`` → ``2·D``.

    Returns:
        Scalar tensor, differentiable in ``z``; ≈ 0 (may be slightly negative)
        when ``z ~ N(0, I)``.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> z = torch.randn(256, 8, generator=g)
        >>> bool(mmd_standard_normal(z, generator=g).abs() < 0.01)
        True
    """
    _check_tensor("z", z, ndim=2)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"`generator` must be a torch.Generator or None; got {generator!r}")
    if generator is None:
        generator = torch.Generator(device=z.device)
        generator.seed()
    prior = torch.randn(
        tuple(z.shape), generator=generator, dtype=z.dtype, device=generator.device
    ).to(z.device)  # [B x D]
    return mmd_unbiased(z, prior, kernel=kernel, scale=scale)


# ------------------------------------------------------------------ Shapiro–Wilk

SW_MIN_N = 3
"""Smallest sample size for which Royston's Shapiro–Wilk approximation is defined."""
SW_MAX_N = 5000
"""Largest sample size for which Royston's approximation is validated (AS R94)."""

# Polynomials in u = 1/√n for the two largest coefficients, Royston (1992/1995).
_SW_C1 = (0.0, 0.221157, -0.147981, -2.071190, 4.434685, -2.706056)
_SW_C2 = (0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633)

_SW_CACHE: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}


def _poly(coeffs: Sequence[float], u: float) -> float:
    """``c0 + c1·u + c2·u² + …`` by Horner's rule."""
    out = 0.0
    for c in reversed(coeffs):
        out = out * u + c
    return out


def _sw_coefficients_float64(n: int) -> torch.Tensor:
    """Royston's AS R94 coefficients ``[n]`` in float64 on the CPU, antisymmetric."""
    half = n // 2
    if n == 3:
        upper = torch.tensor([math.sqrt(0.5)], dtype=torch.float64)
    else:
        i = torch.arange(1, half + 1, dtype=torch.float64)
        # Blom scores of the upper half, largest first: m_{n+1−i} = −Φ⁻¹((i − 3/8)/(n + 1/4)).
        m = -torch.special.ndtri((i - 0.375) / (n + 0.25))  # [n/2]
        summ2 = 2.0 * float(m.pow(2).sum())
        ssumm2 = math.sqrt(summ2)
        u = 1.0 / math.sqrt(n)
        a1 = float(m[0]) / ssumm2 + _poly(_SW_C1, u)
        upper = m.clone()
        if n > 5:
            a2 = float(m[1]) / ssumm2 + _poly(_SW_C2, u)
            fac = math.sqrt(
                (summ2 - 2.0 * float(m[0]) ** 2 - 2.0 * float(m[1]) ** 2)
                / (1.0 - 2.0 * a1**2 - 2.0 * a2**2)
            )
            upper = upper / fac
            upper[0], upper[1] = a1, a2
        else:
            fac = math.sqrt((summ2 - 2.0 * float(m[0]) ** 2) / (1.0 - 2.0 * a1**2))
            upper = upper / fac
            upper[0] = a1
    # Ascending order statistics get −a_1 … −a_{n/2}, (0,) a_{n/2} … a_1.
    middle = torch.zeros(n % 2, dtype=torch.float64)
    return torch.cat([-upper, middle, upper.flip(0)])  # [n]


def _check_sw_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"`n` must be an int; got {type(n).__name__}")
    if not SW_MIN_N <= n <= SW_MAX_N:
        raise ValueError(
            f"Shapiro–Wilk (Royston's approximation) needs {SW_MIN_N} ≤ n ≤ {SW_MAX_N} "
            f"samples per column; got n = {n}"
        )
    return n


def shapiro_wilk_coefficients(
    n: int, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> torch.Tensor:
    """Shapiro–Wilk coefficients ``a`` ``[n]`` for ascending order statistics.

    Royston's approximation (Royston 1992, "Approximating the Shapiro–Wilk
    W-test for non-normality", Stat. Comput. 2; Royston 1995, Algorithm AS R94,
    Appl. Statist. 44), the one ``scipy.stats.shapiro`` uses:

    * ``m_i = Φ⁻¹((i − 3/8)/(n + 1/4))``, ``i = 1 … n``, ``u = 1/√n``;
    * ``a_n = c_n + 0.221157·u − 0.147981·u² − 2.071190·u³ + 4.434685·u⁴ − 2.706056·u⁵``
      with ``c_i = m_i / √(Σ m²)``, and for ``n > 5``
      ``a_{n−1} = c_{n−1} + 0.042981·u − 0.293762·u² − 1.752461·u³ + 5.682633·u⁴
      − 3.582633·u⁵``;
    * the other ``a_i = m_i / √ε`` with ``ε = (Σ m² − 2m_n² − 2m_{n−1}²) /
      (1 − 2a_n² − 2a_{n−1}²)`` (only the ``m_n`` terms for ``n ≤ 5``), and
      ``a_{n+1−i} = −a_i``;
    * ``n = 3``: ``a = (−√½, 0, √½)`` exactly.

    The vector has unit norm. Computed once in float64 per ``n`` and cached per
    ``(n, dtype, device)``; treat the returned tensor as read-only.

    Raises:
        ValueError: unless ``3 ≤ n ≤ 5000``.
    """
    n = _check_sw_n(n)
    device = torch.device(device) if device is not None else torch.device("cpu")
    key = (n, dtype, device)
    coeffs = _SW_CACHE.get(key)
    if coeffs is None:
        base_key = (n, torch.float64, torch.device("cpu"))
        base = _SW_CACHE.get(base_key)
        if base is None:
            base = _SW_CACHE.setdefault(base_key, _sw_coefficients_float64(n))
        coeffs = _SW_CACHE.setdefault(key, base.to(dtype=dtype, device=device))
    return coeffs


def shapiro_wilk_w(z: torch.Tensor) -> torch.Tensor:
    """Shapiro–Wilk ``W`` statistic of each column, differentiable in ``z``.

    Shapiro & Wilk (1965): with the column's order statistics ``x_(1) ≤ … ≤ x_(n)``
    and the coefficients ``a`` of :func:`shapiro_wilk_coefficients` (Royston's
    approximation, AS R94),

        ``W = (Σ_i a_i x_(i))² / Σ_i (x_i − x̄)²``   ∈ (0, 1],

    computed, like AS R94, as the squared correlation of ``a`` and the sorted
    column, and close to 1 for normal data. It matches
    ``scipy.stats.shapiro(column).statistic`` (to ~1e-9 in float64). The sort
    is differentiated through its values (a piecewise-linear map of ``z``).
    Paper Eq. 3 and its reference [34] (Royston 1992).

    Args:
        z: ``[n, D]`` (``n`` samples of ``D`` latent dimensions) or ``[n]``;
            ``3 ≤ n ≤ 5000``.

    Returns:
        ``W`` ``[D]`` (a scalar for 1-D input), dtype and device of ``z``. A
        constant column has no defined ``W``; it yields 0 with a zero gradient.

    Example:
        >>> x = torch.tensor([[0.1], [0.5], [1.2], [2.0], [3.9]], dtype=torch.float64)
        >>> round(float(shapiro_wilk_w(x)[0]), 4)
        0.9212
    """
    _check_tensor("z", z, ndim=(1, 2))
    n = _check_sw_n(z.shape[0])
    a = shapiro_wilk_coefficients(n, dtype=z.dtype, device=z.device)  # [n]
    x = torch.sort(z, dim=0).values  # [n x D] or [n]
    x = x - x.mean(dim=0, keepdim=True)  # [n x D]
    a = a.reshape((n,) + (1,) * (z.dim() - 1))  # [n x 1]
    sax = (a * x).sum(dim=0)  # [D]
    ssx = x.pow(2).sum(dim=0)  # [D]
    ssa = a.pow(2).sum()  # scalar, 1 up to rounding
    tiny = torch.finfo(z.dtype).tiny
    return sax.pow(2) / (ssa * ssx).clamp_min(tiny)


def shapiro_wilk_loss(z: torch.Tensor) -> torch.Tensor:
    """SWT regulariser ``Σ_j (1 − W_j)`` over the latent dimensions (paper Eq. 3).

    ``W_j`` is :func:`shapiro_wilk_w` of column ``j`` of the minibatch, so the
    loss is 0 for perfectly "normal-looking" columns and at most ``D``.

    Args:
        z: latents ``[B, D]``, ``3 ≤ B ≤ 5000``.

    Returns:
        Scalar tensor, differentiable in ``z``.
    """
    _check_tensor("z", z, ndim=2)
    w = shapiro_wilk_w(z)  # [D]
    return (1.0 - w).sum()


# ------------------------------------------------------------------- β-TCVAE


@dataclass(frozen=True)
class TCTerms:
    """The three parts of the β-TCVAE decomposition of the KL term (Chen et al. 2018).

    Each is a scalar tensor, a mean over the batch, in nats:

    * ``mutual_info`` — index-code mutual information ``E[log q(z|x) − log q(z)]``;
    * ``total_correlation`` — ``E[log q(z) − log Π_d q(z_d)]``;
    * ``dimension_wise_kl`` — ``E[log Π_d q(z_d) − log p(z)]``.

    Their sum is :func:`sampled_kl` of the same sample.
    """

    mutual_info: torch.Tensor
    total_correlation: torch.Tensor
    dimension_wise_kl: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        """``mutual_info + total_correlation + dimension_wise_kl``."""
        return self.mutual_info + self.total_correlation + self.dimension_wise_kl


def _log_normal(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise ``log N(x; μ, exp(logvar))`` (broadcasting)."""
    return -0.5 * (_LOG_2PI + logvar + (x - mu).pow(2) * torch.exp(-logvar))


def _check_posterior(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> None:
    _check_tensor("z", z, ndim=2)
    _check_tensor("mu", mu, ndim=2)
    _check_tensor("logvar", logvar, ndim=2)
    _check_same_shape(z=z, mu=mu, logvar=logvar)


def sampled_kl(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Single-sample Monte Carlo estimate of ``KL(q(z|x) ‖ p(z))``, averaged over the batch.

    ``mean_i [log q(z_i|x_i) − log p(z_i)]`` with ``q(z|x) = N(μ, diag exp(logvar))``,
    ``p = N(0, I)`` and ``z_i ~ q(z|x_i)``. Its expectation over ``z`` is
    :func:`kld_standard_normal`; the terms of :func:`tc_decomposition` sum to it.

    Args:
        z: samples ``[B, D]``; mu, logvar: posterior parameters ``[B, D]``.

    Returns:
        Scalar tensor, nats per sample.
    """
    _check_posterior(z, mu, logvar)
    log_qz_x = _log_normal(z, mu, logvar).sum(dim=1)  # [B]
    log_pz = _log_normal(z, torch.zeros_like(z), torch.zeros_like(z)).sum(dim=1)  # [B]
    return (log_qz_x - log_pz).mean()


def tc_decomposition(
    z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, dataset_size: int
) -> TCTerms:
    """β-TCVAE decomposition of the KL term by minibatch-weighted sampling (MWS).

    Chen, Li, Grosse & Duvenaud 2018, "Isolating Sources of Disentanglement in
    Variational Autoencoders" (NeurIPS), minibatch-weighted sampling. With ``N`` the data
    set size and the batch's posteriors ``q(·|x_j)``, ``j = 1 … B``::

        log q(z_i)       ≈ logsumexp_j log q(z_i | x_j)            − log(B·N)
        log Π_d q(z_id)  ≈ Σ_d [logsumexp_j log q(z_id | x_jd)     − log(B·N)]

    and, averaging over ``i``,

        MI  = E[log q(z|x) − log q(z)]
        TC  = E[log q(z) − log Π_d q(z_d)]
        DWKL = E[log Π_d q(z_d) − log p(z)],   p = N(0, I),

    which telescope exactly to :func:`sampled_kl`.

    Args:
        z: one posterior sample per input ``[B, D]``.
        mu: posterior means ``[B, D]``.
        logvar: posterior log-variances ``[B, D]``.
        dataset_size: ``N``, the number of training examples, ``N ≥ B``.

    Returns:
        :class:`TCTerms` of scalar tensors.
    """
    _check_posterior(z, mu, logvar)
    if isinstance(dataset_size, bool) or not isinstance(dataset_size, int):
        raise TypeError(f"`dataset_size` must be an int; got {type(dataset_size).__name__}")
    batch = z.shape[0]
    if dataset_size < batch:
        raise ValueError(f"`dataset_size` must be ≥ the batch size {batch}; got {dataset_size}")
    log_bn = math.log(batch * dataset_size)

    # log q(z_i,d | x_j,d): row i = sample, column j = posterior.
    log_q_pairs = _log_normal(z.unsqueeze(1), mu.unsqueeze(0), logvar.unsqueeze(0))  # [B x B x D]
    log_qz_x = log_q_pairs.diagonal(dim1=0, dim2=1).sum(dim=0)  # [B]
    log_qz = torch.logsumexp(log_q_pairs.sum(dim=2), dim=1) - log_bn  # [B]
    log_prod_qzd = (torch.logsumexp(log_q_pairs, dim=1) - log_bn).sum(dim=1)  # [B]
    log_pz = _log_normal(z, torch.zeros_like(z), torch.zeros_like(z)).sum(dim=1)  # [B]

    return TCTerms(
        mutual_info=(log_qz_x - log_qz).mean(),
        total_correlation=(log_qz - log_prod_qzd).mean(),
        dimension_wise_kl=(log_prod_qzd - log_pz).mean(),
    )


def tcvae_loss(
    terms: TCTerms, *, alpha: float = 1.0, beta: float = 6.0, gamma: float = 1.0
) -> torch.Tensor:
    """β-TCVAE regulariser ``α·MI + β·TC + γ·DWKL`` (Chen et al. 2018).

    ``α = β = γ = 1`` gives back :func:`sampled_kl` (the ordinary VAE). Chen et
    al. keep ``α = γ = 1`` and raise ``β`` to penalise total correlation; the
    default ``β = 6`` is one point of the usual sweep ``β ∈ [1, 10]``.

    Args:
        terms: from :func:`tc_decomposition`.
        alpha, beta, gamma: finite, non-negative weights.

    Returns:
        Scalar tensor.
    """
    if not isinstance(terms, TCTerms):
        raise TypeError(f"`terms` must be a TCTerms; got {type(terms).__name__}")
    for name, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"`{name}` must be a number; got {type(value).__name__}")
        if not (value >= 0 and math.isfinite(value)):
            raise ValueError(f"`{name}` must be finite and ≥ 0; got {value!r}")
    return (
        alpha * terms.mutual_info + beta * terms.total_correlation + gamma * terms.dimension_wise_kl
    )
