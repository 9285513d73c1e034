"""Seeded random draws on any device (private).

Random operations take an optional ``torch.Generator``; ``None`` means torch's
default generator. A generator may live on another device than the tensor the
draw is for (e.g. a CPU generator for a CUDA latent): the draw is made on the
generator's device and moved, so a seed gives the same numbers everywhere.
"""

from __future__ import annotations

import torch

__all__ = ["check_generator", "permutation", "rademacher", "standard_normal", "uniform"]


def check_generator(generator: object) -> torch.Generator | None:
    """Return ``generator`` if it is ``None`` or a ``torch.Generator``, else raise ``TypeError``."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"`generator` must be a torch.Generator or None; got {type(generator).__name__}"
        )
    return generator


def _draw(sample, shape, dtype, device, generator) -> torch.Tensor:
    """``sample(shape)`` drawn on the generator's device (its stream), then moved to ``device``."""
    where = generator.device if generator is not None else device
    return sample(shape, generator=generator, dtype=dtype, device=where).to(device)


def standard_normal(
    shape: tuple[int, ...],
    *,
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """``N(0, 1)`` samples of ``shape``, ``dtype``, on ``device``."""
    return _draw(torch.randn, shape, dtype, device, generator)


def uniform(
    shape: tuple[int, ...],
    *,
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """``U[0, 1)`` samples of ``shape``, ``dtype``, on ``device``."""
    return _draw(torch.rand, shape, dtype, device, generator)


def rademacher(
    shape: tuple[int, ...],
    *,
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Independent ``±1`` with probability 1/2 each, of ``shape``, ``dtype``, on ``device``."""
    u = uniform(shape, dtype=dtype, device=device, generator=generator)
    return torch.where(u < 0.5, -torch.ones_like(u), torch.ones_like(u))


def permutation(n: int, *, device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
    """A uniformly random permutation of ``0 … n−1`` (int64) on ``device``."""
    where = generator.device if generator is not None else device
    return torch.randperm(n, generator=generator, device=where).to(device)
