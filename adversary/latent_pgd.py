"""Latent PGD: a budgeted perturbation of the latent in transit (paper Eq. 4-6).

The adversary adds ``δ`` to the latent ``z`` and sees the receiver's output
``G'(z+δ)``, where ``G'`` is everything after the adversary (channel +
receiver; the decoder alone on the paper's ideal channel). With a per-sample
distance ``D`` (:mod:`adversary.distances`) it solves, for every sample ``b``:

* untargeted (Eq. 4): ``max_{‖δ_b‖ ≤ ε_b} D(G'(z_b+δ_b), G'(z_b))``;
* targeted (Eq. 5): ``min_{‖δ_b‖ ≤ ε_b} D(G'(z_b+δ_b), x_target,b)``,

by projected gradient steps (Eq. 6, ARCHITECTURE §3 "Latent PGD"), with
``g = ∇_δ D`` and ``s = +1`` (untargeted) or ``−1`` (targeted):

* L2: ``δ ← Π_ε(δ + s·α·g/‖g‖₂)``, ``Π_ε`` the projection onto the L2 ball;
* L∞: ``δ ← clip(δ + s·α·sign(g), −ε, ε)``.

Defaults: ``T = 10`` steps, ``α = 2.5·ε/T``, ``δ₀ = 0``; the best iterate of
``δ₀ … δ_T`` is kept per sample (``T + 1`` forward passes).

Example:
    >>> import torch
    >>> from adversary import pgd
    >>> decoder = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Sigmoid())
    >>> z = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    >>> with torch.no_grad():
    ...     clean = decoder(z)
    >>> result = pgd(lambda d: decoder(z + d), z, eps=0.5, reference=clean)
    >>> bool((torch.linalg.vector_norm(result.delta, dim=1) <= 0.5 + 1e-6).all())
    True
    >>> bool((result.distance > 0).all())
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from adversary._random import check_generator, standard_normal, uniform
from adversary.budget import (
    Budget,
    as_budget,
    check_norm,
    perturbation_norm,
    project,
    resolve_like,
)
from adversary.distances import Distance, get_distance

__all__ = ["PGDResult", "pgd"]

ALPHA_FACTOR = 2.5
"""Default step size ``α = ALPHA_FACTOR · ε / T`` (ARCHITECTURE §3, "Latent PGD")."""


@dataclass(frozen=True)
class PGDResult:
    """What a PGD run returns.

    Attributes:
        delta: the kept perturbation ``[B, d]`` (detached), ``‖δ_b‖ ≤ ε_b``.
        distance: ``D(forward(δ_b), reference_b)`` at the kept iterate ``[B]``
            (detached): the highest seen for untargeted attacks, the lowest
            for targeted ones.
        steps: the number of gradient steps ``T`` taken.
    """

    delta: torch.Tensor
    distance: torch.Tensor
    steps: int


def pgd(
    forward: Callable[[torch.Tensor], torch.Tensor],
    delta_shape_or_like: torch.Tensor | torch.Size | Sequence[int],
    *,
    eps: Budget,
    reference: torch.Tensor,
    targeted: bool = False,
    distance: str | Distance = "mse",
    steps: int = 10,
    alpha: Budget | None = None,
    norm: str = "l2",
    random_start: bool = False,
    generator: torch.Generator | None = None,
) -> PGDResult:
    """Projected gradient descent/ascent on the perturbation ``δ`` (paper Eq. 4-6).

    Args:
        forward: ``δ [B, d] ↦ G'(z+δ) [B, ...]``, differentiable in ``δ``; all of
            the link after the adversary (e.g. ``lambda d: decoder(z + d)``).
            Samples must not interact (e.g. BatchNorm in eval mode). Its
            module's train/eval mode and parameters' ``.grad`` are left alone.
        delta_shape_or_like: a tensor (pass the latent ``z``) whose shape
            ``[B, d]``, dtype and device ``δ`` takes, or a shape (then
            ``reference``'s device).
        eps: budget ``ε ≥ 0`` in latent units, a number or a tensor ``[B]``
            (per-sample budgets let one call cover several ε of a sweep).
        reference: untargeted: the clean output ``G'(z)``; targeted: the target
            ``x_target`` (see :func:`adversary.make_target`); shaped like the
            output of ``forward`` (or with batch size 1).
        targeted: minimise ``D`` to ``reference`` (Eq. 5) instead of maximising
            it (Eq. 4).
        distance: a name in :data:`adversary.DISTANCES` or a callable
            ``(output, reference) -> [B]``.
        steps: number of gradient steps ``T ≥ 1``.
        alpha: step size ``α ≥ 0`` in latent units, a number or a tensor ``[B]``;
            default ``2.5·ε_b/T`` per sample.
        norm: ``"l2"`` or ``"linf"``, for the budget and the step.
        random_start: start from ``δ₀`` uniform in the ε-ball instead of 0.
            Without it, one call with per-sample budgets gives the same ``δ``
            as separate calls per budget; with it, the draws differ.
        generator: randomness of the random start; ``None`` uses torch's
            default generator. No other step is random.

    Returns:
        :class:`PGDResult`; samples with ``ε_b = 0`` get ``δ_b = 0`` exactly.

    Notes:
        For an untargeted attack from ``δ₀ = 0`` the gradient is exactly zero
        (``D(G'(z), G'(z))`` is ``D``'s minimum), so the method would never
        move. Whenever a sample's gradient is exactly zero, it steps along the
        fixed direction ``(1, …, 1)`` (normalised for L2) instead; the next
        gradients then point uphill. This keeps the attack deterministic and
        independent of how samples are batched.

    Raises:
        TypeError, ValueError: a parameter of the wrong type or value (the
            message names it), or a ``forward`` whose output carries no gradient.
    """
    if not callable(forward):
        raise TypeError(f"`forward` must be callable; got {type(forward).__name__}")
    if not isinstance(reference, torch.Tensor):
        raise TypeError(f"`reference` must be a torch.Tensor; got {type(reference).__name__}")
    for name, flag in (("targeted", targeted), ("random_start", random_start)):
        if not isinstance(flag, bool):
            raise TypeError(f"`{name}` must be a bool; got {flag!r}")
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise TypeError(f"`steps` must be an int; got {steps!r}")
    if steps < 1:
        raise ValueError(f"`steps` must be ≥ 1; got {steps}")
    norm = check_norm(norm)
    generator = check_generator(generator)
    dist = get_distance(distance)
    shape, dtype, device = resolve_like(
        delta_shape_or_like, "delta_shape_or_like", reference=reference
    )
    batch = shape[0]
    if reference.ndim < 1 or reference.shape[0] not in (1, batch):
        raise ValueError(
            f"`reference` must have batch size B = {batch} (or 1); "
            f"got shape {list(reference.shape)}"
        )
    e = as_budget(eps, batch, dtype=dtype, device=device)  # [B]
    if alpha is None:
        a = ALPHA_FACTOR * e / steps  # [B]
    else:
        a = as_budget(alpha, batch, dtype=dtype, device=device, name="alpha")  # [B]
    reference = reference.detach()
    view = (-1,) + (1,) * (len(shape) - 1)
    sign = -1.0 if targeted else 1.0

    if random_start:
        delta = _uniform_in_ball(shape, e, norm, dtype=dtype, device=device, generator=generator)
    else:
        delta = torch.zeros(shape, dtype=dtype, device=device)

    def evaluate(delta: torch.Tensor, with_grad: bool) -> torch.Tensor:
        delta.requires_grad_(with_grad)
        with torch.set_grad_enabled(with_grad):
            return _evaluate(dist, forward, delta, reference, batch)  # [B]

    d = evaluate(delta, with_grad=True)
    best_delta, best_d = delta.detach(), d.detach().to(dtype)
    for t in range(1, steps + 1):
        g = _gradient(d, delta)  # [B, d]
        with torch.no_grad():
            delta = project(delta + sign * a.view(view) * _ascent_direction(g, norm), e, norm)
        d = evaluate(delta, with_grad=t < steps)  # the last iterate needs no gradient
        with torch.no_grad():
            better = (d < best_d) if targeted else (d > best_d)
            better |= torch.isnan(best_d)
            best_delta = torch.where(better.view(view), delta.detach(), best_delta)
            best_d = torch.where(better, d.detach().to(dtype), best_d)

    zero_budget = (e == 0).view(view)
    best_delta = torch.where(zero_budget, torch.zeros_like(best_delta), best_delta)
    return PGDResult(delta=best_delta.detach(), distance=best_d.detach(), steps=steps)


def _evaluate(
    dist: Distance,
    forward: Callable[[torch.Tensor], torch.Tensor],
    delta: torch.Tensor,
    reference: torch.Tensor,
    batch: int,
) -> torch.Tensor:
    output = forward(delta)
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"`forward` must return a torch.Tensor; got {type(output).__name__}")
    d = dist(output, reference)
    if not isinstance(d, torch.Tensor) or tuple(d.shape) != (batch,):
        got = list(d.shape) if isinstance(d, torch.Tensor) else type(d).__name__
        raise ValueError(f"`distance` must return one value per sample, shape [{batch}]; got {got}")
    return d


def _gradient(d: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """``∇_δ Σ_b d_b`` ``[B, d]``: the per-sample gradients, as samples do not interact.

    Only ``δ`` gets a gradient (``torch.autograd.grad``): nothing accumulates in
    the ``.grad`` of the model's parameters.
    """
    g = None
    if d.requires_grad:
        with torch.enable_grad():
            (g,) = torch.autograd.grad(d.sum(), delta, allow_unused=True)
    if g is None:
        raise ValueError(
            "`forward` must be differentiable in delta: its output carries no gradient "
            "with respect to delta (is it computed under torch.no_grad() or from a "
            "detached delta?)"
        )
    return g


def _ascent_direction(g: torch.Tensor, norm: str) -> torch.Tensor:
    """``g/‖g‖₂`` (L2) or ``sign(g)`` (L∞) per sample; a zero gradient becomes ``(1, …, 1)``."""
    batch = g.shape[0]
    view = (-1,) + (1,) * (g.ndim - 1)
    stationary = ~(g.reshape(batch, -1) != 0).any(dim=1)  # [B] whole-sample zero gradient
    g = torch.where(stationary.view(view), torch.ones_like(g), g)
    if norm == "linf":
        return g.sign()
    return g / perturbation_norm(g, "l2").clamp_min(torch.finfo(g.dtype).tiny).view(view)


def _uniform_in_ball(
    shape: tuple[int, ...],
    eps: torch.Tensor,
    norm: str,
    *,
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """``δ₀`` uniform in each sample's ε-ball ``[B, d]``.

    L2: direction ``w/‖w‖₂``, ``w ~ N(0, I)``, radius ``ε·u^(1/d)``, ``u ~ U[0, 1)``
    (``d`` = the number of non-batch elements); L∞: ``U[−ε, ε)`` element-wise.
    """
    batch = shape[0]
    view = (-1,) + (1,) * (len(shape) - 1)
    if norm == "linf":
        u = uniform(shape, dtype=dtype, device=device, generator=generator)
        return (2 * u - 1) * eps.view(view)
    w = standard_normal(shape, dtype=dtype, device=device, generator=generator)  # [B, d]
    w = w / perturbation_norm(w, "l2").clamp_min(torch.finfo(dtype).tiny).view(view)
    dim = math.prod(shape[1:])
    radius = eps * uniform((batch,), dtype=dtype, device=device, generator=generator) ** (1 / dim)
    return project(w * radius.view(view), eps, "l2")
