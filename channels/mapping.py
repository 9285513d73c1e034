"""Power normalisation of a real latent and its mapping to complex symbols.

The transmitter divides the latent ``z`` (``k`` real dimensions) by a constant
``scale`` fixed at training time and pairs consecutive real dimensions into
complex symbols,

.. math:: c_i = \\frac{z_{2i} + j\\, z_{2i+1}}{\\mathrm{scale}},
          \\qquad i = 0, \\dots, \\lceil k/2 \\rceil - 1,

padding a zero when ``k`` is odd. With ``scale = √2 · RMS(z)`` over the training
latents (:func:`latent_scale`) the average symbol energy is ``Es = 1`` (each
real part carries 1/2): exactly 1 for even ``k``, ``k / (k + 1)`` for odd ``k``
because the pad carries no energy. The receiver inverts both steps
(:meth:`SymbolMapper.to_latent`).
"""

from __future__ import annotations

import math
from numbers import Real

import torch
from torch import nn

from ._checks import check_complex

__all__ = ["SymbolMapper", "latent_scale"]


def _check_real(z: object, name: str) -> torch.Tensor:
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor; got {type(z).__name__}")
    if not z.is_floating_point():
        raise TypeError(f"`{name}` must be a real floating-point tensor; got {z.dtype}")
    return z


def latent_scale(latents: torch.Tensor) -> float:
    """Power-normalisation constant ``√2 · RMS(latents)`` of a set of latents.

    ``RMS(latents) = sqrt(mean(latents²))`` over all entries, so that
    ``latents / scale`` has energy 1/2 per real dimension and the complex
    symbols built from pairs of dimensions have unit average energy.
    Computed once on the training latents and stored with the model.

    Args:
        latents: real latents, shape ``[N, k]`` (any shape is accepted; all
            entries count).

    Returns:
        The scale, a positive float.

    Raises:
        TypeError: ``latents`` is not a real floating-point tensor.
        ValueError: ``latents`` is empty, not finite or all zero.

    Example:
        >>> latent_scale(torch.tensor([[1.0, -1.0], [1.0, -1.0]]))
        1.4142135623730951
    """
    _check_real(latents, "latents")
    if latents.numel() == 0:
        raise ValueError(f"`latents` must not be empty; got shape {list(latents.shape)}")
    rms = float(latents.detach().to(torch.float64).square().mean().sqrt())
    if not math.isfinite(rms):
        raise ValueError(f"`latents` must be finite; got RMS {rms}")
    if rms == 0.0:
        raise ValueError("`latents` must not be all zero; got RMS 0.0")
    return math.sqrt(2.0) * rms


class SymbolMapper(nn.Module):
    """Maps ``k`` real latent dimensions to ``ceil(k/2)`` unit-power complex symbols.

    ``to_symbols`` divides by ``scale`` and pairs dimensions ``(2i, 2i+1)`` as the
    real and imaginary part of symbol ``i`` (a zero pads an odd ``k``);
    ``to_latent`` is its exact inverse (up to floating-point rounding of the
    division by ``scale``). Both are differentiable.

    ``scale`` is a buffer, so it is saved in the ``state_dict`` with the model.

    Args:
        latent_dim: number ``k`` of real latent dimensions, ≥ 1.
        scale: the power-normalisation constant, > 0, usually
            :func:`latent_scale` of the training latents.

    Example:
        >>> mapper = SymbolMapper(latent_dim=3, scale=2.0)
        >>> c = mapper.to_symbols(torch.tensor([[2.0, 4.0, 6.0]]))
        >>> c
        tensor([[1.+2.j, 3.+0.j]])
        >>> mapper.to_latent(c)
        tensor([[2., 4., 6.]])
        >>> mapper.num_symbols
        2
    """

    scale: torch.Tensor

    def __init__(self, latent_dim: int, scale: float) -> None:
        super().__init__()
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int):
            raise TypeError(f"`latent_dim` must be an int; got {type(latent_dim).__name__}")
        if latent_dim < 1:
            raise ValueError(f"`latent_dim` must be ≥ 1; got {latent_dim}")
        if isinstance(scale, torch.Tensor) and scale.numel() == 1:
            scale = float(scale)
        if isinstance(scale, bool) or not isinstance(scale, Real):
            raise TypeError(f"`scale` must be a real number; got {type(scale).__name__}")
        if not (math.isfinite(float(scale)) and float(scale) > 0.0):
            raise ValueError(f"`scale` must be a finite number > 0; got {float(scale)}")
        self.latent_dim = latent_dim
        self.register_buffer("scale", torch.tensor(float(scale), dtype=torch.float32))

    @property
    def num_symbols(self) -> int:
        """Number of complex symbols per latent, ``ceil(latent_dim / 2)``."""
        return (self.latent_dim + 1) // 2

    def to_symbols(self, z: torch.Tensor) -> torch.Tensor:
        """Normalise and pair a real latent into complex symbols.

        Args:
            z: real latent ``[..., k]`` with ``k = latent_dim`` (float32 or
                float64; half precision is promoted to float32).

        Returns:
            Complex symbols ``[..., ceil(k/2)]``: complex64 for float32 input,
            complex128 for float64.
        """
        _check_real(z, "z")
        if z.dim() < 1 or z.shape[-1] != self.latent_dim:
            raise ValueError(f"`z` must have shape [..., {self.latent_dim}]; got {list(z.shape)}")
        if z.dtype not in (torch.float32, torch.float64):
            z = z.to(torch.float32)
        s = z / self.scale.to(dtype=z.dtype, device=z.device)  # [..., k]
        if self.latent_dim % 2:
            s = nn.functional.pad(s, (0, 1))  # [..., k + 1]
        return torch.complex(s[..., 0::2], s[..., 1::2])  # [..., n]

    def to_latent(self, c: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_symbols`: unpair, drop the pad, de-normalise.

        Args:
            c: complex symbols ``[..., n]`` with ``n = num_symbols``.

        Returns:
            Real latent ``[..., k]``: float32 for complex64 input, float64 for
            complex128.
        """
        check_complex(c, "c")
        if c.shape[-1] != self.num_symbols:
            raise ValueError(f"`c` must have shape [..., {self.num_symbols}]; got {list(c.shape)}")
        pairs = torch.view_as_real(c)  # [..., n, 2]
        s = pairs.reshape(*c.shape[:-1], 2 * self.num_symbols)  # [..., 2n]
        s = s[..., : self.latent_dim]  # [..., k]
        return s * self.scale.to(dtype=s.dtype, device=s.device)

    def extra_repr(self) -> str:
        return f"latent_dim={self.latent_dim}, scale={float(self.scale):.6g}"
