"""Black-box latent PGD: gradients estimated from the receiver's outputs only.

The paper's Assumption 2 (docs/design.md §3, "Black-box attack"): the attacker
can query the receiver's output ``G'(z+δ)`` for a perturbation of its choice but
sees no gradient. The latent-PGD loop of :func:`adversary.pgd` (paper Eq. 4-6)
runs on a finite-difference estimate of ``g = ∇_δ D``, from ``K`` antithetic
pairs of random directions ``u_k`` ``[B, d]`` and a probe radius ``σ_b``:

``ĝ_b = 1/(2·σ_b·K) · Σ_k [D(δ_b + σ_b·u_kb) − D(δ_b − σ_b·u_kb)] · u_kb``

* ``"spsa"`` (Spall, 1992; Uesato et al., ICML 2018): Rademacher ``u_k ∈ {±1}^d``;
* ``"nes"`` (Wierstra et al., 2014; Ilyas et al., ICML 2018): Gaussian
  ``u_k ~ N(0, I)``.

Then ``δ ← Π_ε(δ + s·α·ĝ/‖ĝ‖₂)`` (L2) or ``clip(δ + s·α·sign(ĝ), −ε, ε)`` (L∞),
from ``δ₀ = 0``, and the best evaluated iterate is kept per sample. Every call
of ``query`` evaluates the whole batch and counts as one query per sample: a
step costs ``2K`` probes plus one evaluation of the new iterate, so ``T`` steps
cost ``1 + T·(2K + 1)`` queries per sample (``B`` times that in receiver
evaluations). Nothing is differentiated: ``query`` runs under
``torch.no_grad()``.

Example:
    >>> import torch
    >>> from adversary import blackbox_pgd
    >>> decoder = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Sigmoid())
    >>> z = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    >>> with torch.no_grad():
    ...     clean = decoder(z)
    >>> result = blackbox_pgd(lambda d: decoder(z + d), z, eps=0.5, reference=clean,
    ...                       steps=5, samples=4, generator=torch.Generator().manual_seed(1))
    >>> result.queries  # 1 + 5·(2·4 + 1)
    46
    >>> bool((torch.linalg.vector_norm(result.delta, dim=1) <= 0.5 + 1e-6).all())
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from adversary._random import rademacher, standard_normal
from adversary.budget import Budget, as_budget, project
from adversary.distances import Distance
from adversary.latent_pgd import (
    ascent_direction,
    check_count,
    evaluate_distance,
    setup_attack,
)

__all__ = ["ESTIMATORS", "SIGMA_FACTOR", "BlackBoxResult", "blackbox_pgd"]

ESTIMATORS = ("nes", "spsa")
"""Gradient estimators: ``"spsa"`` (Rademacher directions) and ``"nes"`` (Gaussian)."""

SIGMA_FACTOR = 0.01
"""Default probe size: ``σ·u`` spans ``SIGMA_FACTOR · ε`` in the budget's norm (SPSA exactly)."""


@dataclass(frozen=True)
class BlackBoxResult:
    """What :func:`blackbox_pgd` returns.

    Attributes:
        delta: the kept perturbation ``[B, d]`` (detached), ``‖δ_b‖ ≤ ε_b``.
        distance: ``D(query(δ_b), reference_b)`` at the kept iterate ``[B]``:
            the highest evaluated for untargeted attacks, the lowest for
            targeted ones.
        steps: the number of steps ``T`` taken (fewer than asked when the
            query budget ran out).
        queries: receiver queries per sample, ``1 + T·(2·samples + 1)``; every
            sample is queried by every call, so the total number of receiver
            evaluations is ``B · queries``.
    """

    delta: torch.Tensor
    distance: torch.Tensor
    steps: int
    queries: int


def blackbox_pgd(
    query: Callable[[torch.Tensor], torch.Tensor],
    delta_shape_or_like: torch.Tensor | torch.Size | Sequence[int],
    *,
    eps: Budget,
    reference: torch.Tensor,
    targeted: bool = False,
    distance: str | Distance = "mse",
    steps: int = 10,
    alpha: Budget | None = None,
    norm: str = "l2",
    estimator: str = "spsa",
    samples: int = 8,
    sigma: Budget | None = None,
    query_budget: int | None = None,
    generator: torch.Generator | None = None,
) -> BlackBoxResult:
    """Latent PGD (paper Eq. 4-6) on finite-difference gradient estimates (Assumption 2).

    Args:
        query: ``δ [B, d] ↦ G'(z+δ) [B, ...]``, the receiver's output for a
            perturbation in transit (e.g. ``lambda d: decoder(z + d)``); called
            under ``torch.no_grad()`` only, never differentiated. Samples must
            not interact.
        delta_shape_or_like: a tensor (pass the latent ``z``) whose shape
            ``[B, d]``, dtype and device ``δ`` takes, or a shape (then
            ``reference``'s device).
        eps: budget ``ε ≥ 0`` in latent units, a number or a tensor ``[B]``.
        reference: untargeted: the clean output ``G'(z)``; targeted: the target
            ``x_target``; shaped like the output of ``query`` (or batch size 1).
        targeted: minimise ``D`` to ``reference`` instead of maximising it.
        distance: a name in :data:`adversary.DISTANCES` or a callable
            ``(output, reference) -> [B]``; only its values are used.
        steps: number of steps ``T ≥ 1`` (fewer if ``query_budget`` runs out).
        alpha: step size ``α ≥ 0`` in latent units, a number or a tensor ``[B]``;
            default ``2.5·ε_b/T`` per sample, as in :func:`adversary.pgd`.
        norm: ``"l2"`` or ``"linf"``, for the budget and the step.
        estimator: one of :data:`ESTIMATORS`: ``"spsa"`` (Rademacher
            directions) or ``"nes"`` (Gaussian), both with antithetic pairs.
        samples: number of antithetic pairs ``K ≥ 1`` per step (``2K`` queries).
        sigma: probe radius ``σ ≥ 0`` in latent units per coordinate, a number
            or a tensor ``[B]``. Default: ``0.01·ε_b/√d`` for L2 and ``0.01·ε_b``
            for L∞ (:data:`SIGMA_FACTOR`), so a probe ``σ·u`` has the size of
            1 % of the budget in its norm (exactly for SPSA, in expectation for
            NES), small enough for a local estimate and far above float
            rounding. Probes ``δ ± σ·u`` may leave the ε-ball by that much;
            the returned ``δ`` never does.
        query_budget: the most queries per sample, ``≥ 1``, or ``None`` for no
            limit. The first evaluation costs 1; a step is taken only if its
            ``2K + 1`` queries fit in what is left.
        generator: randomness of the directions ``u_k``; ``None`` uses torch's
            default generator.

    Returns:
        :class:`BlackBoxResult`; samples with ``ε_b = 0`` get ``δ_b = 0`` exactly.

    Notes:
        A sample whose estimate is exactly zero (every pair of probes agrees)
        steps along ``(1, …, 1)``, as in :func:`adversary.pgd`. At the
        untargeted start ``δ₀ = 0`` the true gradient is zero and the estimate
        is dominated by higher-order terms, i.e. a random first direction; the
        next estimates point uphill.

    Raises:
        TypeError, ValueError: a parameter of the wrong type or value (the
            message names it).
    """
    if not callable(query):
        raise TypeError(f"`query` must be callable; got {type(query).__name__}")
    if not isinstance(reference, torch.Tensor):
        raise TypeError(f"`reference` must be a torch.Tensor; got {type(reference).__name__}")
    if not isinstance(targeted, bool):
        raise TypeError(f"`targeted` must be a bool; got {targeted!r}")
    steps = check_count(steps, "steps")
    samples = check_count(samples, "samples")
    if query_budget is not None:
        query_budget = check_count(query_budget, "query_budget")
    if not isinstance(estimator, str) or estimator not in ESTIMATORS:
        valid = ", ".join(repr(n) for n in ESTIMATORS)
        raise ValueError(f"`estimator` must be one of {valid}; got {estimator!r}")
    st = setup_attack(
        delta_shape_or_like,
        eps=eps,
        alpha=alpha,
        steps=steps,
        reference=reference,
        norm=norm,
        distance=distance,
        generator=generator,
    )
    norm, generator, dist = st.norm, st.generator, st.distance
    shape, dtype, device, e, a = st.shape, st.dtype, st.device, st.eps, st.alpha
    batch = shape[0]
    if sigma is None:
        dim = math.prod(shape[1:])
        s = SIGMA_FACTOR * e / (math.sqrt(dim) if norm == "l2" else 1.0)  # [B]
    else:
        s = as_budget(sigma, batch, dtype=dtype, device=device, name="sigma")  # [B]
    reference = reference.detach()
    view = (-1,) + (1,) * (len(shape) - 1)
    sign = -1.0 if targeted else 1.0
    draw = rademacher if estimator == "spsa" else standard_normal
    queries = 0

    def evaluate(delta: torch.Tensor) -> torch.Tensor:
        nonlocal queries
        queries += 1  # one call on the batch: one query per sample
        d = evaluate_distance(dist, query, delta, reference, batch, "query")  # [B]
        return d.detach().to(dtype)

    with torch.no_grad():
        delta = torch.zeros(shape, dtype=dtype, device=device)
        best_delta, best_d = delta, evaluate(delta)
        taken = 0
        for _ in range(steps):
            if query_budget is not None and queries + 2 * samples + 1 > query_budget:
                break
            g = torch.zeros(shape, dtype=dtype, device=device)  # [B, d]
            for _ in range(samples):
                u = draw(shape, dtype=dtype, device=device, generator=generator)  # [B, d]
                probe = s.view(view) * u
                diff = evaluate(delta + probe) - evaluate(delta - probe)  # [B]
                g += diff.view(view) * u
            g = g / (2 * samples * s.clamp_min(torch.finfo(dtype).tiny)).view(view)  # ĝ
            delta = project(delta + sign * a.view(view) * ascent_direction(g, norm), e, norm)
            d = evaluate(delta)
            taken += 1
            better = (d < best_d) if targeted else (d > best_d)
            better |= torch.isnan(best_d)
            best_delta = torch.where(better.view(view), delta, best_delta)
            best_d = torch.where(better, d, best_d)
        best_delta = torch.where((e == 0).view(view), torch.zeros_like(best_delta), best_delta)
    return BlackBoxResult(delta=best_delta, distance=best_d, steps=taken, queries=queries)
