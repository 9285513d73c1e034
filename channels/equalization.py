"""Single-tap equalisation of a flat channel with perfect channel knowledge.

For ``y = h ⊙ c + n`` with ``n ~ CN(0, N0)`` and unit-energy symbols
(``E|c|² = 1``) the receiver estimates each symbol from its own tap:

* LMMSE (default): ``ĉ = conj(h) · y / (|h|² + N0)``, the linear estimate of
  minimum mean squared error; it shrinks deep fades instead of amplifying
  their noise.
* Zero forcing: ``ĉ = y / h``, unbiased but noise is amplified by ``1 / |h|²``.
* None: ``ĉ = y``.

With ``N0 = 0`` LMMSE and zero forcing coincide.
"""

from __future__ import annotations

import math
from numbers import Real

import torch

from ._checks import check_choice, check_complex

__all__ = ["EQUALIZERS", "equalize"]

#: Names accepted by :func:`equalize` and by the channels' ``equalizer`` setting.
EQUALIZERS: tuple[str, ...] = ("lmmse", "none", "zf")


def check_no(no: object) -> float:
    """Check a noise variance: a finite real number ≥ 0."""
    if isinstance(no, bool) or not isinstance(no, Real):
        raise TypeError(f"`no` must be a real number; got {type(no).__name__}")
    value = float(no)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"`no` must be a finite number ≥ 0; got {value}")
    return value


def equalize(y: torch.Tensor, h: torch.Tensor, *, no: float, method: str = "lmmse") -> torch.Tensor:
    """Equalise received symbols with the (perfectly known) channel taps.

    Args:
        y: received symbols ``[..., n]``, complex.
        h: channel taps, broadcastable to ``y`` (e.g. ``[..., n]`` or ``[..., 1]``),
            complex or real.
        no: noise variance per complex symbol ``N0`` (see
            :func:`channels.snr_db_to_no`), ≥ 0.
        method: ``"lmmse"`` (``conj(h) y / (|h|² + N0)``), ``"zf"`` (``y / h``)
            or ``"none"`` (``y``).

    Returns:
        Symbol estimates ``ĉ``, same shape as ``y``; differentiable w.r.t. ``y``.

    Example:
        >>> y = torch.tensor([2.0 + 0.0j, 0.0 + 1.0j])
        >>> h = torch.tensor([2.0 + 0.0j, 1.0j])
        >>> equalize(y, h, no=0.0, method="zf")
        tensor([1.+0.j, 1.+0.j])
        >>> equalize(y, h, no=1.0)
        tensor([0.8000+0.j, 0.5000+0.j])
    """
    check_complex(y, "y")
    if not isinstance(h, torch.Tensor):
        raise TypeError(f"`h` must be a torch.Tensor; got {type(h).__name__}")
    no = check_no(no)
    check_choice(method, "method", EQUALIZERS)
    try:
        shape = torch.broadcast_shapes(h.shape, y.shape)
    except RuntimeError:
        shape = None
    if shape != y.shape:
        raise ValueError(
            f"`h` must be broadcastable to `y` of shape {list(y.shape)}; got {list(h.shape)}"
        )
    if method == "none":
        return y
    if method == "zf":
        return y / h
    gain = (h * h.conj()).real  # |h|², [..., n]
    return h.conj() * y / (gain + no)
