"""Flat Rician block fading: a line-of-sight path plus Rayleigh scattering."""

from __future__ import annotations

from numbers import Real

import torch
from pydantic import Field

from . import _sionna
from ._block_fading import BlockFadingChannel, BlockFadingSettings
from ._checks import check_real
from .base import register_channel

__all__ = ["RicianBlockChannel", "RicianSettings"]


class RicianSettings(BlockFadingSettings):
    """Settings of :class:`RicianBlockChannel`."""

    k_factor_db: float = Field(6.0, ge=-50, le=50)
    """K-factor ``10·log10(K)`` [dB], line-of-sight to scattered power."""
    los_phase: float | None = Field(None, ge=-10, le=10)
    """Fixed line-of-sight phase [rad]; unset: uniform random per block."""


@register_channel("rician")
class RicianBlockChannel(BlockFadingChannel):
    """Flat Rician block fading: ``y = h ⊙ x + n`` with a line-of-sight tap component.

    .. math:: h = \\sqrt{\\tfrac{K}{K+1}}\\, e^{j\\varphi}
              + \\sqrt{\\tfrac{1}{K+1}}\\, g, \\qquad g \\sim \\mathcal{CN}(0, 1),
              \\qquad K = 10^{K_\\mathrm{dB}/10},

    so ``E|h|² = 1`` and the average received SNR is ``snr_db``. ``K`` is the
    ratio of line-of-sight to scattered power: ``K = 0`` is Rayleigh fading,
    ``K → ∞`` approaches AWGN (``|h| → 1``).

    By default the line-of-sight phase ``φ`` is uniform on ``[0, 2π)`` and
    independent per block, as for a path whose length changes by more than a
    wavelength between blocks (it is also how Sionna's LoS TDL profiles draw
    their specular phase); ``h`` is then circularly symmetric with
    ``E[h] = 0``. ``los_phase`` fixes ``φ`` instead (a static geometry:
    ``E[h] = sqrt(K/(K+1)) e^{jφ}``).

    Blocks as for :class:`RayleighBlockChannel`: one tap per row of ``x`` (one
    image) when ``block_length`` is ``None``, else a new independent tap every
    ``block_length`` symbols. The scattered part comes from Sionna's
    ``RayleighBlockFading``, the phases from ``torch.rand`` (Sionna 2.2 has no
    flat Rician block), the noise from Sionna's ``AWGN``, all from the caller's
    generator in that order. ``snr_db=None`` gives fading without noise.

    Args:
        k_factor_db: Rician K-factor ``10·log10(K)`` [dB], a finite number.
        block_length: number of consecutive symbols sharing a tap, ≥ 1, or
            ``None`` for a whole row.
        equalizer: used by :meth:`receive`: ``"lmmse"`` (default,
            ``conj(h) y / (|h|² + N0)``), ``"zf"`` (``y / h``) or ``"none"``.
        los_phase: fixed line-of-sight phase ``φ`` [rad], or ``None``
            (default) for a uniform random phase per block.

    Example:
        >>> channel = RicianBlockChannel(k_factor_db=20.0)
        >>> x = torch.ones(4000, 1, dtype=torch.complex64)
        >>> _, h = channel(x, generator=torch.Generator().manual_seed(0), return_h=True)
        >>> round(h.abs().square().mean().item(), 1)  # E|h|² = 1
        1.0
        >>> bool((h.abs() - 1).abs().max() < 0.5)  # K = 100: close to AWGN
        True
        >>> RicianBlockChannel(k_factor_db=6.0, block_length=8)
        RicianBlockChannel(k_factor_db=6.0, los_phase=None, block_length=8, equalizer='lmmse')
    """

    Settings = RicianSettings

    def __init__(
        self,
        k_factor_db: float = 6.0,
        block_length: int | None = None,
        equalizer: str = "lmmse",
        los_phase: float | None = None,
    ) -> None:
        super().__init__(block_length=block_length, equalizer=equalizer)
        self.k_factor_db = check_real(k_factor_db, "k_factor_db", unit="[dB]")
        if los_phase is not None and (
            isinstance(los_phase, bool) or not isinstance(los_phase, Real)
        ):
            raise TypeError(
                f"`los_phase` must be a real number [rad] or None; got {type(los_phase).__name__}"
            )
        self.los_phase = (
            None if los_phase is None else check_real(los_phase, "los_phase", unit="[rad]")
        )

    @property
    def k_factor(self) -> float:
        """The K-factor in linear scale, ``10^(k_factor_db/10)``."""
        return 10.0 ** (self.k_factor_db / 10.0)

    def draw_taps(
        self,
        num: int,
        *,
        dtype: torch.dtype,
        device: torch.device,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """``num`` independent Rician taps with ``E|h|² = 1`` (see the class docstring)."""
        return _sionna.rician_coefficients(
            num,
            self.k_factor,
            los_phase=self.los_phase,
            dtype=dtype,
            device=device,
            generator=generator,
        )

    def extra_repr(self) -> str:
        return f"k_factor_db={self.k_factor_db}, los_phase={self.los_phase}, {super().extra_repr()}"
