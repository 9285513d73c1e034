"""Equal-power Gaussian jamming: the no-intelligence baseline of every attack.

docs/design.md §3, "Gaussian jamming": ``δ_b = ε_b · w_b / ‖w_b‖₂`` with
``w_b ~ N(0, I)``, i.e. a random direction spending exactly the attack's
budget (the boundary of the ε-ball of paper Eq. 4-5). Reports compare PGD
against it at equal ε.

Example:
    >>> import torch
    >>> from adversary import gaussian_jamming
    >>> z = torch.zeros(4, 10)
    >>> delta = gaussian_jamming(z, 0.5, generator=torch.Generator().manual_seed(0))
    >>> torch.linalg.vector_norm(delta, dim=1)
    tensor([0.5000, 0.5000, 0.5000, 0.5000])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from adversary._random import check_generator, standard_normal
from adversary.budget import Budget, as_budget, check_norm, perturbation_norm, resolve_like

__all__ = ["gaussian_jamming"]


def gaussian_jamming(
    like_or_shape: torch.Tensor | torch.Size | Sequence[int],
    eps: Budget,
    *,
    norm: str = "l2",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A random perturbation with exactly the budget: ``‖δ_b‖ = ε_b`` for every sample.

    ``"l2"``: ``δ_b = ε_b · w_b / ‖w_b‖₂``; ``"linf"``: ``δ_b = ε_b · w_b / ‖w_b‖∞``
    (so ``max_i |δ_bi| = ε_b``), ``w ~ N(0, I)``.

    Args:
        like_or_shape: a tensor ``[B, d]`` (e.g. the latent ``z``) whose shape,
            dtype and device ``δ`` takes, or a shape (default dtype; the
            generator's device, else CPU).
        eps: budget ``ε ≥ 0`` in latent units: a number or a tensor ``[B]``.
        norm: one of :data:`adversary.budget.NORMS`.
        generator: the source of ``w``; ``None`` uses torch's default generator.

    Returns:
        ``δ`` ``[B, d]``; samples with ``ε_b = 0`` are exactly zero.
    """
    norm = check_norm(norm)
    generator = check_generator(generator)
    shape, dtype, device = resolve_like(like_or_shape, "like_or_shape", generator=generator)
    e = as_budget(eps, shape[0], dtype=dtype, device=device)  # [B]
    w = standard_normal(shape, dtype=dtype, device=device, generator=generator)  # [B, d]
    scale = e / perturbation_norm(w, norm).clamp_min(torch.finfo(dtype).tiny)  # [B]
    return w * scale.view((-1,) + (1,) * (len(shape) - 1))
