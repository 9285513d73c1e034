"""Per-sample distances ``D`` between the receiver's output and a reference.

``D`` is the objective of latent PGD (paper Eq. 4-6; docs/design.md §3, "Latent
PGD"): untargeted attacks maximise ``D(G'(z+δ), G'(z))``, targeted ones minimise
``D(G'(z+δ), x_target)``. A distance is a differentiable function
``d(output [B, ...], reference [B, ...]) -> [B]``, zero when the two agree.
``reference`` may also have batch size 1 (one reference for every sample).

Registered here: ``"mse"`` (default for attacks) and ``"ssim"`` (``1 − SSIM``,
default for adversarial training). Other packages add more with
:func:`register_distance` (``semcom`` registers ``"lpips"``).

Example:
    >>> import torch
    >>> from adversary import get_distance
    >>> mse = get_distance("mse")
    >>> mse(torch.ones(2, 1, 4, 4), torch.zeros(2, 1, 4, 4))
    tensor([1., 1.])
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from adversary.similarity import structural_similarity

__all__ = ["DISTANCES", "Distance", "get_distance", "mse", "register_distance", "ssim"]

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``d(output [B, ...], reference [B, ...]) -> [B]``, differentiable in ``output``."""

DISTANCES: dict[str, Distance] = {}
"""Distance name -> per-sample distance; filled by :func:`register_distance`.

The first line of each distance's docstring describes it (``semcom list``).
"""


def register_distance(name: str) -> Callable[[Distance], Distance]:
    """Decorator adding a per-sample distance ``d(output, reference) -> [B]`` to :data:`DISTANCES`.

    Also callable directly: ``register_distance("lpips")(my_lpips)``.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: ``name`` is empty or already registered.
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string; got {type(name).__name__}")
    if not name:
        raise ValueError("`name` must be a non-empty string; got ''")

    def decorate(fn: Distance) -> Distance:
        if not callable(fn):
            raise TypeError(f"a distance must be callable; got {type(fn).__name__}")
        if name in DISTANCES:
            raise ValueError(f"distance {name!r} is already registered")
        DISTANCES[name] = fn
        return fn

    return decorate


def get_distance(distance: str | Distance) -> Distance:
    """The distance named ``distance`` in :data:`DISTANCES`, or ``distance`` itself if callable.

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
        TypeError: neither a string nor a callable.
    """
    if isinstance(distance, str):
        if distance not in DISTANCES:
            valid = ", ".join(repr(n) for n in sorted(DISTANCES))
            raise ValueError(f"`distance` must be one of {valid} or a callable; got {distance!r}")
        return DISTANCES[distance]
    if callable(distance):
        return distance
    raise TypeError(f"`distance` must be a name or a callable; got {type(distance).__name__}")


def _check_pair(output: object, reference: object) -> None:
    for name, x in (("output", output), ("reference", reference)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"`{name}` must be a torch.Tensor; got {type(x).__name__}")
        if x.ndim < 1:
            raise ValueError(f"`{name}` must have a batch dimension; got a 0-d tensor")
    if (
        reference.ndim != output.ndim
        or reference.shape[0] not in (1, output.shape[0])
        or (reference.shape[1:] != output.shape[1:])
    ):
        raise ValueError(
            f"`reference` must have the shape of `output` {list(output.shape)} "
            f"(or batch size 1); got {list(reference.shape)}"
        )


@register_distance("mse")
def mse(output: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Mean squared error per sample, ``mean_i (output_bi − reference_bi)²`` over non-batch dims.

    Args:
        output: ``[B, ...]`` (images ``[B, C, H, W]`` in [0, 1] for the paper).
        reference: ``[B, ...]`` or ``[1, ...]``, same non-batch shape.

    Returns:
        ``[B]`` in squared units of ``output``.
    """
    _check_pair(output, reference)
    diff = output - reference  # [B, ...]
    return diff.pow(2).reshape(diff.shape[0], -1).mean(dim=1)  # [B]


@register_distance("ssim")
def ssim(output: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Structural dissimilarity per sample, ``1 − SSIM(output_b, reference_b)`` (0 = identical).

    SSIM as torchmetrics' ``structural_similarity_index_measure`` (Gaussian
    window 11, σ = 1.5) with ``data_range = 1`` (images in [0, 1]), averaged
    over each image, computed by :func:`adversary.similarity.structural_similarity`;
    the paper uses it as ``D`` for adversarial training (§3.2, Eq. 6).

    Args:
        output: images ``[B, C, H, W]`` in [0, 1], ``H, W > 5``.
        reference: images ``[B, C, H, W]`` or ``[1, C, H, W]``.

    Returns:
        ``[B]``, dimensionless, in [0, 2].
    """
    _check_pair(output, reference)
    if output.ndim != 4:
        raise ValueError(
            f"the 'ssim' distance needs images [B, C, H, W]; got shape {list(output.shape)}"
        )
    return 1.0 - structural_similarity(output, reference)
