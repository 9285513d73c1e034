"""Perturbation budgets: norms, per-sample ε and the projection onto the ε-ball.

The adversary's budget is per sample (docs/design.md §3, "Budget"): ``‖δ_b‖₂ ≤ ε_b``
by default, ``‖δ_b‖∞ ≤ ε_b`` as an option, with ``δ`` in latent units (the
paper's ε, §3.1.1, the constraint of Eq. 4-5). ``ε`` is one number for the whole
batch or a tensor ``[B]`` with one budget per sample, so that a sweep can batch
several budgets together.

A budget may also be given as a perturbation-to-signal power ratio (PSR, in
dB): ``PSR_b = 10·log10(‖δ_b‖₂² / ‖s_b‖₂²)``. :func:`psr_to_eps` turns a PSR into
the per-sample L2 budget ``ε_b = ‖s_b‖₂ · 10^(PSR/20)`` and :func:`psr_db`
measures it. The transmitter's power normalisation and complex mapping scale
``z`` and ``δ`` by the same constant and only pair (and zero-pad) their
elements (docs/design.md §3), so the PSR on the latent equals the PSR on the
transmitted symbols: pass either as ``signal``.

Example:
    >>> import torch
    >>> from adversary import project, psr_db, psr_to_eps
    >>> delta = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    >>> project(delta, 1.0)
    tensor([[0.6000, 0.8000],
            [0.3000, 0.4000]])
    >>> project(delta, torch.tensor([1.0, 0.1]), norm="linf")
    tensor([[1.0000, 1.0000],
            [0.1000, 0.1000]])
    >>> signal = torch.tensor([[3.0, 4.0], [0.0, 10.0]])
    >>> eps = psr_to_eps(-20.0, signal)  # δ with 1 % of the signal's power
    >>> eps
    tensor([0.5000, 1.0000])
    >>> psr_db(project(delta, eps), signal)
    tensor([-20.0000, -26.0206])
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch

__all__ = ["NORMS", "Budget", "perturbation_norm", "project", "psr_db", "psr_to_eps", "to_sphere"]

NORMS = ("l2", "linf")
"""The budget norms every attack understands: ``"l2"`` (default) and ``"linf"``."""

Budget = float | torch.Tensor | Sequence[float]
"""A budget ``ε ≥ 0``: one number, or one per sample (a tensor or sequence ``[B]``)."""


def check_norm(norm: object, name: str = "norm") -> str:
    """Return ``norm`` if it is one of :data:`NORMS`, else raise naming ``name``."""
    if not isinstance(norm, str):
        raise TypeError(f"`{name}` must be a string, one of {_listing(NORMS)}; got {norm!r}")
    if norm not in NORMS:
        raise ValueError(f"`{name}` must be one of {_listing(NORMS)}; got {norm!r}")
    return norm


def as_budget(
    eps: object,
    batch_size: int,
    *,
    dtype: torch.dtype,
    device: torch.device | str,
    name: str = "eps",
) -> torch.Tensor:
    """Validate a budget and return it as a detached tensor ``[B]`` of ``dtype`` on ``device``.

    Args:
        eps: a finite number ``≥ 0``, or a tensor / sequence of them with shape
            ``[B]`` (a 0-d tensor counts as one number).
        batch_size: ``B``.
        name: the parameter name used in error messages.

    Raises:
        TypeError: ``eps`` is not a real number, tensor or sequence of numbers.
        ValueError: a value is negative or not finite, or the shape is not ``[B]``.
    """
    if isinstance(eps, bool) or isinstance(eps, str):
        raise TypeError(f"`{name}` must be a number or a tensor of shape [B]; got {eps!r}")
    if isinstance(eps, numbers.Real):
        value = float(eps)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"`{name}` must be ≥ 0 and finite; got {value}")
        return torch.full((batch_size,), value, dtype=dtype, device=device)
    eps = _per_sample(eps, batch_size, name)
    eps = eps.detach()
    if not bool(torch.isfinite(eps).all()):
        raise ValueError(f"`{name}` must be finite for every sample; got {eps.tolist()}")
    if bool((eps < 0).any()):
        raise ValueError(f"`{name}` must be ≥ 0 for every sample; got min {eps.min().item()}")
    return eps.to(dtype=dtype, device=device)


def perturbation_norm(delta: torch.Tensor, norm: str = "l2") -> torch.Tensor:
    """Per-sample norm ``[B]`` of ``delta [B, ...]`` over all non-batch dimensions.

    ``"l2"``: ``‖δ_b‖₂ = sqrt(Σ_i δ_bi²)``; ``"linf"``: ``‖δ_b‖∞ = max_i |δ_bi|``.
    Units are those of ``delta`` (latent units for the paper's budget).
    """
    _check_batched(delta, "delta")
    norm = check_norm(norm)
    flat = delta.reshape(delta.shape[0], -1)  # [B, d]
    if norm == "l2":
        return torch.linalg.vector_norm(flat, ord=2, dim=1)
    return torch.linalg.vector_norm(flat, ord=math.inf, dim=1)


def project(delta: torch.Tensor, eps: Budget, norm: str = "l2") -> torch.Tensor:
    """Project each sample of ``delta`` onto its ε-ball (the ``Π_ε`` of paper Eq. 6).

    ``"l2"``: ``δ_b ← δ_b · min(1, ε_b / ‖δ_b‖₂)`` (a zero ``δ_b`` stays zero);
    ``"linf"``: ``δ_b ← clip(δ_b, −ε_b, ε_b)`` element-wise. Samples already inside
    their ball are returned unchanged; the result always satisfies
    ``‖δ_b‖ ≤ ε_b`` (an extra ulp-sized shrink absorbs floating-point rounding).

    Args:
        delta: perturbations ``[B, d]`` (any ``[B, ...]``; the norm runs over all
            non-batch dimensions), floating point.
        eps: budget ``ε ≥ 0`` in the units of ``delta``: a number or a tensor ``[B]``.
        norm: one of :data:`NORMS`.

    Returns:
        A new tensor shaped like ``delta``; ``delta`` itself is not modified.
    """
    _check_batched(delta, "delta")
    norm = check_norm(norm)
    e = as_budget(eps, delta.shape[0], dtype=delta.dtype, device=delta.device)  # [B]
    view = (-1,) + (1,) * (delta.ndim - 1)
    if norm == "linf":
        bound = e.view(view)
        return torch.maximum(torch.minimum(delta, bound), -bound)
    one = torch.ones_like(e)
    tiny = torch.finfo(delta.dtype).tiny
    n = perturbation_norm(delta, "l2")  # [B]
    out = delta * torch.where(n > e, e / n.clamp_min(tiny), one).view(view)
    # Rounding can leave ‖out‖ a few ulp above ε; shrink those samples once more.
    n2 = perturbation_norm(out, "l2")
    shrink = e / n2.clamp_min(tiny) * (1 - 4 * torch.finfo(delta.dtype).eps)
    return out * torch.where(n2 > e, shrink, one).view(view)


def to_sphere(delta: torch.Tensor, eps: Budget) -> torch.Tensor:
    """Scale each sample of ``delta`` onto its L2 sphere: ``‖δ_b‖₂ = ε_b``, the full budget.

    A budget given as a power ratio (:func:`psr_to_eps`) is the power a jammer
    transmits. Attacks search the ε-ball and the kept iterate of an untargeted
    attack normally lies on its sphere already; this makes the power exact for
    every sample. A zero ``δ_b`` takes the fixed direction ``(1, …, 1)`` (as the
    attacks do for a zero gradient); a sample with ``ε_b = 0`` becomes zero.

    Args:
        delta: perturbations ``[B, d]`` (any ``[B, ...]``), floating point; not modified.
        eps: L2 budget ``ε ≥ 0`` in the units of ``delta``: a number or a tensor ``[B]``.

    Returns:
        A new tensor shaped like ``delta`` with ``‖δ_b‖₂ = ε_b`` up to rounding.

    >>> to_sphere(torch.tensor([[3.0, 4.0], [0.0, 0.0]]), torch.tensor([1.0, 2.0]))
    tensor([[0.6000, 0.8000],
            [1.4142, 1.4142]])
    """
    _check_batched(delta, "delta")
    e = as_budget(eps, delta.shape[0], dtype=delta.dtype, device=delta.device)  # [B]
    view = (-1,) + (1,) * (delta.ndim - 1)
    n = perturbation_norm(delta, "l2")  # [B]
    ones = torch.ones_like(delta) / math.sqrt(math.prod(delta.shape[1:]))  # unit (1, …, 1)
    unit = delta / n.clamp_min(torch.finfo(delta.dtype).tiny).view(view)
    return torch.where((n > 0).view(view), unit, ones) * e.view(view)


def psr_to_eps(
    psr_db: float | torch.Tensor | Sequence[float], signal: torch.Tensor
) -> torch.Tensor:
    """Per-sample L2 budget ``[B]`` for a perturbation-to-signal power ratio in dB.

    ``ε_b = ‖s_b‖₂ · 10^(PSR_b/20)``, so that a ``δ_b`` on the boundary of the
    L2 ball (``‖δ_b‖₂ = ε_b``) has ``10·log10(‖δ_b‖₂² / ‖s_b‖₂²) = PSR_b``
    (docs/design.md §3, "Budget"). Pass the result as ``eps`` of any attack with
    ``norm="l2"``.

    Args:
        psr_db: the ratio ``PSR`` [dB]: a number or a tensor / sequence ``[B]``,
            each finite or ``−inf`` (no perturbation, ``ε_b = 0``).
        signal: the clean signal ``s`` ``[B, d]`` (any ``[B, ...]``; the norm runs
            over all non-batch dimensions), real or complex: the latent ``z``
            or the transmitted symbols (the same PSR, see the module doc).

    Returns:
        ``ε`` ``[B]`` (detached), in the units of ``signal``, of its real dtype.
    """
    _check_signal(signal, "signal")
    flat = signal.detach().reshape(signal.shape[0], -1)  # [B, d]
    power = torch.linalg.vector_norm(flat, ord=2, dim=1)  # [B] ‖s_b‖₂
    db = _as_db(psr_db, signal.shape[0], dtype=power.dtype, device=power.device)  # [B]
    return power * torch.pow(10.0, db / 20)


def psr_db(delta: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
    """Per-sample perturbation-to-signal power ratio ``10·log10(‖δ_b‖₂² / ‖s_b‖₂²)`` [dB] ``[B]``.

    Args:
        delta: the perturbation ``[B, d]`` (any ``[B, ...]``), real or complex.
        signal: the clean signal ``s``, shaped like ``delta``, non-zero in
            every sample (the latent ``z`` or the transmitted symbols).

    Returns:
        ``[B]`` (detached) in dB; ``−inf`` where ``δ_b = 0``.

    Raises:
        ValueError: the shapes differ, or a sample of ``signal`` is zero.
    """
    _check_signal(delta, "delta")
    _check_signal(signal, "signal")
    if delta.shape != signal.shape:
        raise ValueError(
            f"`delta` must have the shape of `signal` {list(signal.shape)}; got {list(delta.shape)}"
        )
    d = torch.linalg.vector_norm(delta.detach().reshape(delta.shape[0], -1), ord=2, dim=1)
    s = torch.linalg.vector_norm(signal.detach().reshape(signal.shape[0], -1), ord=2, dim=1)
    if bool((s == 0).any()):
        raise ValueError(
            "`signal` must be non-zero in every sample (the PSR of a zero signal is "
            f"undefined); zero at samples {torch.nonzero(s == 0).flatten().tolist()}"
        )
    return 20 * torch.log10(d / s.to(d.dtype))  # [B], 10·log10 of the power ratio


def resolve_like(
    like_or_shape: object,
    name: str,
    *,
    generator: torch.Generator | None = None,
    reference: torch.Tensor | None = None,
) -> tuple[tuple[int, ...], torch.dtype, torch.device]:
    """Shape, dtype and device of a perturbation from a tensor or a shape ``[B, d, ...]``.

    For a shape, the dtype is ``reference``'s if floating, else torch's default;
    the device is ``reference``'s, else the generator's, else CPU.
    """
    if isinstance(like_or_shape, torch.Tensor):
        if not like_or_shape.is_floating_point():
            raise TypeError(f"`{name}` must have a floating-point dtype; got {like_or_shape.dtype}")
        shape = tuple(like_or_shape.shape)
        dtype, device = like_or_shape.dtype, like_or_shape.device
    elif isinstance(like_or_shape, Sequence) and not isinstance(like_or_shape, str):
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in like_or_shape):
            raise TypeError(f"`{name}` must be a tensor or a shape of ints; got {like_or_shape!r}")
        shape = tuple(like_or_shape)
        if reference is not None and reference.is_floating_point():
            dtype = reference.dtype
        else:
            dtype = torch.get_default_dtype()
        if reference is not None:
            device = reference.device
        elif generator is not None:
            device = generator.device
        else:
            device = torch.device("cpu")
    else:
        raise TypeError(
            f"`{name}` must be a tensor or a torch.Size; got {type(like_or_shape).__name__}"
        )
    if len(shape) < 2 or any(s < 1 for s in shape):
        raise ValueError(f"`{name}` must have shape [B, d] with B, d ≥ 1; got {list(shape)}")
    return shape, dtype, device


def _check_batched(x: object, name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor; got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"`{name}` must have a floating-point dtype; got {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"`{name}` must have shape [B, d]; got shape {list(x.shape)}")


def _listing(names: Sequence[str] | set[str] | dict) -> str:
    return ", ".join(repr(n) for n in sorted(names))


def _check_signal(x: object, name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor; got {type(x).__name__}")
    if not (x.is_floating_point() or x.is_complex()):
        raise TypeError(f"`{name}` must have a floating-point or complex dtype; got {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"`{name}` must have shape [B, d]; got shape {list(x.shape)}")


def _per_sample(value: object, batch_size: int, name: str) -> torch.Tensor:
    """A tensor or a sequence of real numbers (a 0-d tensor counts as one) as a real tensor ``[B]``.

    Checks type, dtype and shape only; the caller checks the values.
    """
    if isinstance(value, Sequence):
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value):
            raise TypeError(f"`{name}` must be a number or a sequence of numbers; got {value!r}")
        value = torch.tensor([float(v) for v in value], dtype=torch.float64)
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"`{name}` must be a number or a tensor of shape [B]; got {type(value).__name__}"
        )
    if value.dtype == torch.bool or value.is_complex():
        raise TypeError(f"`{name}` must have a real dtype; got {value.dtype}")
    if value.ndim == 0:
        value = value.expand(batch_size)
    if value.ndim != 1 or value.shape[0] != batch_size:
        raise ValueError(
            f"`{name}` must be a number or have shape [B] = [{batch_size}]; "
            f"got shape {list(value.shape)}"
        )
    return value


def _as_db(
    value: object, batch_size: int, *, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """Validate a ratio in dB (a number or ``[B]``; finite or ``−inf``) as a tensor ``[B]``."""
    if isinstance(value, bool) or isinstance(value, str):
        raise TypeError(f"`psr_db` must be a number or a tensor of shape [B]; got {value!r}")
    if isinstance(value, numbers.Real):
        value = torch.tensor(float(value), dtype=torch.float64)
    value = _per_sample(value, batch_size, "psr_db")
    value = value.detach().to(dtype=dtype, device=device)
    if bool((torch.isnan(value) | (value == math.inf)).any()):
        raise ValueError(f"`psr_db` must be finite or -inf [dB]; got {value.tolist()}")
    return value
