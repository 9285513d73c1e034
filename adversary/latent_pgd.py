"""Latent PGD: a budgeted perturbation of the latent in transit (paper Eq. 4-6).

The adversary adds ``δ`` to the latent ``z`` and sees the receiver's output
``G'(z+δ)``, where ``G'`` is everything after the adversary (channel +
receiver; the decoder alone on the paper's ideal channel). With a per-sample
distance ``D`` (:mod:`adversary.distances`) it solves, for every sample ``b``:

* untargeted (Eq. 4): ``max_{‖δ_b‖ ≤ ε_b} D(G'(z_b+δ_b), G'(z_b))``;
* targeted (Eq. 5): ``min_{‖δ_b‖ ≤ ε_b} D(G'(z_b+δ_b), x_target,b)``,

by projected gradient steps (Eq. 6, docs/design.md §3 "Latent PGD"), with
``g = ∇_δ D`` and ``s = +1`` (untargeted) or ``−1`` (targeted):

* L2: ``δ ← Π_ε(δ + s·α·g/‖g‖₂)``, ``Π_ε`` the projection onto the L2 ball;
* L∞: ``δ ← clip(δ + s·α·sign(g), −ε, ε)``.

Defaults: ``T = 10`` steps, ``α = 2.5·ε/T``, ``δ₀ = 0``; the best iterate of
``δ₀ … δ_T`` is kept per sample (``T + 1`` forward passes).

Options beyond the paper:

* ``restarts = R``: ``R`` runs, the kept iterate is the best over all of
  them per sample; runs after the first start uniformly in the ε-ball.
* ``momentum = μ`` (MI-FGSM, Dong et al., CVPR 2018): the step follows
  ``v_t = μ·v_{t−1} + g_t/‖g_t‖₁`` (per sample) instead of ``g_t``.
* ``eot = M`` (expectation over transformation, Athalye et al., ICML 2018):
  with a random channel, ``D`` and its gradient are averaged over ``M``
  forward calls, each drawing its own channel (docs/design.md §3, ``eot: M``).

A run makes ``R·(T + 1)·M`` forward calls (:attr:`PGDResult.forward_calls`).

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
    >>> result.forward_calls
    11
"""

from __future__ import annotations

import math
import numbers
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
"""Default step size ``α = ALPHA_FACTOR · ε / T`` (docs/design.md §3, "Latent PGD")."""


@dataclass(frozen=True)
class PGDResult:
    """What a PGD run returns.

    Attributes:
        delta: the kept perturbation ``[B, d]`` (detached), ``‖δ_b‖ ≤ ε_b``.
        distance: ``D(forward(δ_b), reference_b)`` at the kept iterate ``[B]``
            (detached): the highest seen for untargeted attacks, the lowest
            for targeted ones; with ``eot = M`` the mean over the ``M`` draws
            of that step.
        steps: the number of gradient steps ``T`` taken per restart.
        forward_calls: calls of ``forward`` on the batch, ``R·(T + 1)·M``
            (each evaluates all ``B`` samples once); 0 where not counted.
    """

    delta: torch.Tensor
    distance: torch.Tensor
    steps: int
    forward_calls: int = 0


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
    restarts: int = 1,
    momentum: float = 0.0,
    eot: int = 1,
) -> PGDResult:
    """Projected gradient descent/ascent on the perturbation ``δ`` (paper Eq. 4-6).

    Args:
        forward: ``δ [B, d] ↦ G'(z+δ) [B, ...]``, differentiable in ``δ``; all of
            the link after the adversary (e.g. ``lambda d: decoder(z + d)``).
            Samples must not interact (e.g. BatchNorm in eval mode). Its
            module's train/eval mode and parameters' ``.grad`` are left alone.
            A random channel draws its own randomness on each call (see ``eot``).
        delta_shape_or_like: a tensor (pass the latent ``z``) whose shape
            ``[B, d]``, dtype and device ``δ`` takes, or a shape (then
            ``reference``'s device).
        eps: budget ``ε ≥ 0`` in latent units, a number or a tensor ``[B]``
            (per-sample budgets let one call cover several ε of a sweep; for
            a budget in dB see :func:`adversary.psr_to_eps`).
        reference: untargeted: the clean output ``G'(z)``; targeted: the target
            ``x_target`` (see :func:`adversary.make_target`); shaped like the
            output of ``forward`` (or with batch size 1).
        targeted: minimise ``D`` to ``reference`` (Eq. 5) instead of maximising
            it (Eq. 4).
        distance: a name in :data:`adversary.DISTANCES` or a callable
            ``(output, reference) -> [B]``.
        steps: number of gradient steps ``T ≥ 1`` per restart.
        alpha: step size ``α ≥ 0`` in latent units, a number or a tensor ``[B]``;
            default ``2.5·ε_b/T`` per sample.
        norm: ``"l2"`` or ``"linf"``, for the budget and the step.
        random_start: start from ``δ₀`` uniform in the ε-ball instead of 0.
            Without it, one call with per-sample budgets gives the same ``δ``
            as separate calls per budget; with it, the draws differ.
        generator: randomness of the random starts; ``None`` uses torch's
            default generator. No other step is random (``forward`` draws
            its channel from its own generator).
        restarts: number of runs ``R ≥ 1``; the first starts as
            ``random_start`` says, the others uniformly in the ε-ball. The
            kept iterate is the best over all runs, per sample.
        momentum: ``μ ≥ 0``; above 0 the step follows the MI-FGSM velocity
            ``v_t = μ·v_{t−1} + g_t/‖g_t‖₁`` (per sample, ``v_0 = 0``, reset at
            each restart), i.e. ``δ ← Π_ε(δ + s·α·v_t/‖v_t‖₂)`` (L2) or
            ``clip(δ + s·α·sign(v_t), −ε, ε)`` (L∞). ``μ = 0`` is plain PGD.
        eot: number of forward calls ``M ≥ 1`` per evaluated iterate: the
            distance and its gradient are the means over ``M`` calls, the
            expectation over transformation for a random channel. ``M = 1``
            for a deterministic ``forward``.

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
    steps = check_count(steps, "steps")
    restarts = check_count(restarts, "restarts")
    eot = check_count(eot, "eot")
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
        raise TypeError(f"`momentum` must be a number; got {momentum!r}")
    momentum = float(momentum)
    if not math.isfinite(momentum) or momentum < 0:
        raise ValueError(f"`momentum` must be ≥ 0 and finite; got {momentum}")
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
    reference = reference.detach()
    view = (-1,) + (1,) * (len(shape) - 1)
    sign = -1.0 if targeted else 1.0
    calls = 0

    def evaluate(delta: torch.Tensor, with_grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(mean_m D_m [B], mean_m ∇_δ D_m [B, d] or None)`` over ``eot`` forward calls."""
        nonlocal calls
        d_sum, g_sum = None, None
        for _ in range(eot):
            x = delta.detach().requires_grad_(with_grad)
            with torch.set_grad_enabled(with_grad):
                d = evaluate_distance(dist, forward, x, reference, batch)  # [B]
            calls += 1
            g = gradient(d, x) if with_grad else None  # [B, d]
            d = d.detach().to(dtype)
            d_sum = d if d_sum is None else d_sum + d
            if g is not None:
                g_sum = g if g_sum is None else g_sum + g
        if eot == 1:
            return d_sum, g_sum
        return d_sum / eot, (None if g_sum is None else g_sum / eot)

    best_delta = torch.zeros(shape, dtype=dtype, device=device)
    best_d = torch.full((batch,), math.nan, dtype=dtype, device=device)  # [B]

    def keep_best(delta: torch.Tensor, d: torch.Tensor) -> None:
        nonlocal best_delta, best_d
        better = (d < best_d) if targeted else (d > best_d)
        better |= torch.isnan(best_d)
        best_delta = torch.where(better.view(view), delta, best_delta)
        best_d = torch.where(better, d, best_d)

    for run in range(restarts):
        if random_start or run > 0:
            delta = uniform_in_ball(shape, e, norm, dtype=dtype, device=device, generator=generator)
        else:
            delta = torch.zeros(shape, dtype=dtype, device=device)
        velocity = torch.zeros(shape, dtype=dtype, device=device)  # MI-FGSM v_0
        d, g = evaluate(delta, with_grad=True)
        keep_best(delta, d)
        for t in range(1, steps + 1):
            with torch.no_grad():
                if momentum > 0:
                    g = without_stationary(g)
                    l1 = g.reshape(batch, -1).abs().sum(dim=1)  # [B] ‖g‖₁
                    velocity = momentum * velocity + g / l1.view(view)
                    g = velocity
                step = sign * a.view(view) * ascent_direction(g, norm)  # [B, d]
                delta = project(delta + step, e, norm)
            d, g = evaluate(delta, with_grad=t < steps)  # the last iterate needs no gradient
            keep_best(delta, d)

    zero_budget = (e == 0).view(view)
    best_delta = torch.where(zero_budget, torch.zeros_like(best_delta), best_delta)
    return PGDResult(
        delta=best_delta.detach(), distance=best_d.detach(), steps=steps, forward_calls=calls
    )


@dataclass(frozen=True)
class AttackSetup:
    """The checked, resolved settings every per-sample attack loop starts from."""

    norm: str
    generator: torch.Generator | None
    distance: Distance
    shape: torch.Size
    dtype: torch.dtype
    device: torch.device
    eps: torch.Tensor  # [B]
    alpha: torch.Tensor  # [B]


def setup_attack(
    delta_shape_or_like: object,
    *,
    eps: Budget,
    alpha: Budget | None,
    steps: int,
    reference: torch.Tensor,
    norm: str,
    distance: str | Distance,
    generator: torch.Generator | None,
) -> AttackSetup:
    """Validate the settings shared by :func:`pgd` and the black-box attack.

    ``alpha`` defaults to ``ALPHA_FACTOR · ε / steps`` per sample.
    """
    norm = check_norm(norm)
    generator = check_generator(generator)
    dist = get_distance(distance)
    shape, dtype, device = resolve_like(
        delta_shape_or_like, "delta_shape_or_like", reference=reference
    )
    batch = shape[0]
    check_reference(reference, batch)
    e = as_budget(eps, batch, dtype=dtype, device=device)  # [B]
    if alpha is None:
        a = ALPHA_FACTOR * e / steps  # [B]
    else:
        a = as_budget(alpha, batch, dtype=dtype, device=device, name="alpha")  # [B]
    return AttackSetup(norm, generator, dist, shape, dtype, device, e, a)


def check_count(value: object, name: str) -> int:
    """Return ``value`` if it is an int ``≥ 1``, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an int; got {value!r}")
    if value < 1:
        raise ValueError(f"`{name}` must be ≥ 1; got {value}")
    return value


def check_reference(reference: torch.Tensor, batch: int, name: str = "reference") -> None:
    """Raise unless ``reference`` has batch size ``batch`` (or 1)."""
    if reference.ndim < 1 or reference.shape[0] not in (1, batch):
        raise ValueError(
            f"`{name}` must have batch size B = {batch} (or 1); got shape {list(reference.shape)}"
        )


def evaluate_distance(
    dist: Distance,
    forward: Callable[[torch.Tensor], torch.Tensor],
    delta: torch.Tensor,
    reference: torch.Tensor,
    batch: int,
    name: str = "forward",
) -> torch.Tensor:
    """``D(forward(δ), reference)`` ``[B]``, checking what ``forward`` and ``D`` return.

    ``name`` is the callable's parameter name in error messages.
    """
    output = forward(delta)
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"`{name}` must return a torch.Tensor; got {type(output).__name__}")
    d = dist(output, reference)
    if not isinstance(d, torch.Tensor) or tuple(d.shape) != (batch,):
        got = list(d.shape) if isinstance(d, torch.Tensor) else type(d).__name__
        raise ValueError(f"`distance` must return one value per sample, shape [{batch}]; got {got}")
    return d


def gradient(d: torch.Tensor, delta: torch.Tensor, name: str = "forward") -> torch.Tensor:
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
            f"`{name}` must be differentiable in delta: its output carries no gradient "
            "with respect to delta (is it computed under torch.no_grad() or from a "
            "detached delta?)"
        )
    return g


def without_stationary(g: torch.Tensor) -> torch.Tensor:
    """``g`` ``[B, ...]``, each sample whose gradient is exactly zero replaced by ``(1, …, 1)``."""
    batch = g.shape[0]
    view = (-1,) + (1,) * (g.ndim - 1)
    stationary = ~(g.reshape(batch, -1) != 0).any(dim=1)  # [B] whole-sample zero gradient
    return torch.where(stationary.view(view), torch.ones_like(g), g)


def ascent_direction(g: torch.Tensor, norm: str) -> torch.Tensor:
    """``g/‖g‖₂`` (L2) or ``sign(g)`` (L∞) per sample; a zero gradient becomes ``(1, …, 1)``."""
    view = (-1,) + (1,) * (g.ndim - 1)
    g = without_stationary(g)
    if norm == "linf":
        return g.sign()
    return g / perturbation_norm(g, "l2").clamp_min(torch.finfo(g.dtype).tiny).view(view)


def uniform_in_ball(
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
