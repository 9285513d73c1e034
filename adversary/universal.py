"""Universal perturbation: one input-agnostic ``δ_u`` for every latent in transit.

docs/design.md §3, "Universal perturbation": an attacker who cannot see each
latent in real time transmits the same ``δ_u`` (``‖δ_u‖ ≤ ε``) on top of every
latent. It is optimised on the training latents ``z_1 … z_N`` and evaluated on
the test split. With the receiver's output ``G'`` (channel + receiver) and a
per-sample distance ``D`` it solves

* untargeted: ``max_{‖δ_u‖ ≤ ε} (1/N) Σ_i D(G'(z_i+δ_u), G'(z_i))``;
* targeted: ``min_{‖δ_u‖ ≤ ε} (1/N) Σ_i D(G'(z_i+δ_u), x_target,i)``,

by projected stochastic gradient steps on shuffled minibatches ``I`` (the
latent-PGD step of paper Eq. 6 with the minibatch mean as objective), with
``g = ∇_δu (1/|I|) Σ_{i∈I} D_i`` and ``s = +1`` (untargeted) or ``−1``:

* L2: ``δ_u ← Π_ε(δ_u + s·α·g/‖g‖₂)``; L∞: ``δ_u ← clip(δ_u + s·α·sign(g), −ε, ε)``.

It starts at ``δ_u = 0``; after each epoch the mean distance over all ``N``
training latents is measured, and the best of ``δ_u`` at the start and at
the end of every epoch is kept.

Example:
    >>> import torch
    >>> from adversary import universal_perturbation
    >>> decoder = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Sigmoid())
    >>> z = torch.randn(20, 3, generator=torch.Generator().manual_seed(0))
    >>> with torch.no_grad():
    ...     clean = decoder(z)
    >>> result = universal_perturbation(
    ...     decoder, z, eps=0.5, references=clean, epochs=2, batch_size=8,
    ...     generator=torch.Generator().manual_seed(1))
    >>> result.delta.shape, bool(torch.linalg.vector_norm(result.delta) <= 0.5)
    (torch.Size([3]), True)
    >>> len(result.history), result.distance == max(result.history)
    (3, True)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import torch

from adversary._random import check_generator, permutation
from adversary.budget import check_norm, project
from adversary.distances import Distance, get_distance
from adversary.latent_pgd import (
    ALPHA_FACTOR,
    ascent_direction,
    check_count,
    check_reference,
    evaluate_distance,
    gradient,
)

__all__ = ["UniversalResult", "universal_perturbation"]


@dataclass(frozen=True)
class UniversalResult:
    """What :func:`universal_perturbation` returns.

    Attributes:
        delta: the kept perturbation ``δ_u`` ``[d]`` (detached), ``‖δ_u‖ ≤ ε``;
            add it to any batch of latents ``[B, d]`` by broadcasting.
        distance: the mean distance over the training latents at ``δ_u``:
            the highest of :attr:`history` (untargeted) or the lowest (targeted).
        history: the mean distance over the training latents at ``δ_u = 0``
            and after each epoch (``epochs + 1`` values).
        steps: the number of gradient steps taken,
            ``epochs · ⌈N / batch_size⌉ · steps_per_batch``.
        forward_calls: calls of ``forward_batch``, ``steps`` plus
            ``(epochs + 1) · ⌈N / batch_size⌉`` for the history.
    """

    delta: torch.Tensor
    distance: float
    history: tuple[float, ...]
    steps: int
    forward_calls: int


def universal_perturbation(
    forward_batch: Callable[[torch.Tensor], torch.Tensor],
    latents: torch.Tensor,
    *,
    eps: float,
    references: torch.Tensor,
    targeted: bool = False,
    distance: str | Distance = "mse",
    epochs: int = 5,
    batch_size: int = 64,
    steps_per_batch: int = 1,
    alpha: float | None = None,
    norm: str = "l2",
    generator: torch.Generator | None = None,
    additive: bool = True,
) -> UniversalResult:
    """Optimise one perturbation ``δ_u`` ``[d]`` for all ``latents`` (a universal attack).

    Args:
        forward_batch: ``z' [b, d] ↦ G'(z') [b, ...]``, the link after the
            adversary applied to *perturbed latents* (e.g. ``decoder``, or
            ``lambda z: link.deliver(z, generator=g)``), differentiable in its
            input; ``b`` varies between calls. Samples must not interact.
        latents: the training latents ``z`` ``[N, d]`` (any ``[N, ...]``; ``δ_u``
            takes the shape ``[...]``), floating point; not modified.
        eps: budget ``ε ≥ 0`` of ``δ_u`` in latent units (one number).
        references: aligned with ``latents``, ``[N, ...]`` shaped like the
            output of ``forward_batch``: untargeted: the clean outputs
            ``G'(z_i)``; targeted: the targets ``x_target,i``. Batch size 1
            gives every latent the same reference (e.g. an all-black target).
        targeted: minimise the mean distance to ``references`` instead of
            maximising it.
        distance: a name in :data:`adversary.DISTANCES` or a callable
            ``(output, reference) -> [b]``.
        epochs: passes over the shuffled training latents, ``≥ 1``.
        batch_size: latents per minibatch ``≥ 1`` (the last one may be smaller).
        steps_per_batch: gradient steps on each minibatch ``≥ 1``.
        alpha: step size ``α ≥ 0`` in latent units; default ``2.5·ε/T`` with
            ``T`` the total number of gradient steps (the rule of
            :func:`adversary.pgd` over the whole run, so the default moves
            ``δ_u`` at most ``2.5·ε`` in all).
        norm: ``"l2"`` or ``"linf"``, for the budget and the step.
        generator: the shuffling of the latents each epoch; ``None`` uses
            torch's default generator.
        additive: ``True``: ``forward_batch`` takes the perturbed latents
            ``z_i + δ_u`` (a perturbation in transit). ``False``: it is called
            as ``forward_batch(z, δ)`` with the clean latents ``z [b, d]`` and
            ``δ_u`` repeated over the batch ``[b, d]``, for a perturbation that
            does not add to the latent (e.g. a jammer over the air, whose
            signal crosses its own channel).

    Returns:
        :class:`UniversalResult`; with ``ε = 0``, ``δ_u = 0`` exactly.

    Notes:
        As in :func:`adversary.pgd`, an exactly zero gradient (the untargeted
        start ``δ_u = 0``, where every ``D`` is at its minimum) is replaced by
        the fixed direction ``(1, …, 1)``.

    Raises:
        TypeError, ValueError: a parameter of the wrong type or value (the
            message names it), or a ``forward_batch`` carrying no gradient.
    """
    if not callable(forward_batch):
        raise TypeError(f"`forward_batch` must be callable; got {type(forward_batch).__name__}")
    for name, x in (("latents", latents), ("references", references)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"`{name}` must be a torch.Tensor; got {type(x).__name__}")
    if not latents.is_floating_point():
        raise TypeError(f"`latents` must have a floating-point dtype; got {latents.dtype}")
    if latents.ndim < 2 or latents.numel() == 0:
        raise ValueError(f"`latents` must have shape [N, d], N, d ≥ 1; got {list(latents.shape)}")
    for name, flag in (("targeted", targeted), ("additive", additive)):
        if not isinstance(flag, bool):
            raise TypeError(f"`{name}` must be a bool; got {flag!r}")
    e = _scalar(eps, "eps")
    epochs = check_count(epochs, "epochs")
    batch_size = check_count(batch_size, "batch_size")
    steps_per_batch = check_count(steps_per_batch, "steps_per_batch")
    norm = check_norm(norm)
    generator = check_generator(generator)
    dist = get_distance(distance)
    n = latents.shape[0]
    check_reference(references, n, name="references")
    batches = math.ceil(n / batch_size)
    total_steps = epochs * batches * steps_per_batch
    a = ALPHA_FACTOR * e / total_steps if alpha is None else _scalar(alpha, "alpha")
    latents, references = latents.detach(), references.detach()
    shared_reference = references.shape[0] == 1 and n > 1
    sign = -1.0 if targeted else 1.0
    calls = 0

    def objective(delta: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """``D(G'(z_i + δ_u), r_i)`` ``[b]`` for the latents ``index``."""
        nonlocal calls
        reference = references if shared_reference else references[index]
        z = latents[index]
        if additive:
            forward, arg = forward_batch, z + delta
        else:
            forward, arg = (lambda d: forward_batch(z, d)), delta.expand_as(z)
        d = evaluate_distance(dist, forward, arg, reference, len(index), "forward_batch")
        calls += 1
        return d

    def mean_distance(delta: torch.Tensor) -> float:
        """``(1/N) Σ_i D(G'(z_i + δ_u), r_i)`` over all training latents, in minibatches."""
        total = 0.0
        with torch.no_grad():
            for start in range(0, n, batch_size):
                index = torch.arange(start, min(start + batch_size, n), device=latents.device)
                total += objective(delta, index).sum().item()
        return total / n

    delta = torch.zeros(latents.shape[1:], dtype=latents.dtype, device=latents.device)  # [d]
    best_delta, best = delta, mean_distance(delta)
    history = [best]
    for _ in range(epochs):
        order = permutation(n, device=latents.device, generator=generator)  # [N]
        for index in order.split(batch_size):
            for _ in range(steps_per_batch):
                x = delta.detach().requires_grad_(True)
                with torch.enable_grad():
                    mean = objective(x, index).mean().unsqueeze(0)  # [1], the minibatch mean
                g = gradient(mean, x, "forward_batch")  # [d]
                with torch.no_grad():
                    step = sign * a * ascent_direction(g.unsqueeze(0), norm)  # [1, d]
                    delta = project(delta.unsqueeze(0) + step, e, norm).squeeze(0)
        history.append(mean_distance(delta))
        better = (history[-1] < best) if targeted else (history[-1] > best)
        if better or math.isnan(best):
            best_delta, best = delta, history[-1]
    if e == 0:
        best_delta = torch.zeros_like(best_delta)
    return UniversalResult(
        delta=best_delta.detach(),
        distance=best,
        history=tuple(history),
        steps=total_steps,
        forward_calls=calls,
    )


def _scalar(value: object, name: str) -> float:
    """A finite number ``≥ 0`` (a Python number or a 0-d tensor) as a float."""
    if isinstance(value, torch.Tensor) and value.ndim == 0 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number (one budget for δ_u); got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be ≥ 0 and finite; got {value}")
    return value
