"""Multipath 3GPP TDL fading carried over OFDM, built from Sionna blocks."""

from __future__ import annotations

import math

import torch
from pydantic import Field, field_validator

from . import _sionna
from ._checks import check_choice, check_int, check_real
from .base import Channel, EqualizedSettings, register_channel

__all__ = ["TDL_MODELS", "TDLChannel", "TDLSettings"]

#: The scalable TR 38.901 TDL profiles accepted by :class:`TDLChannel`
#: (``"A"``–``"C"`` without, ``"D"``–``"E"`` with a line-of-sight path).
TDL_MODELS: tuple[str, ...] = ("A", "B", "C", "D", "E")


class TDLSettings(EqualizedSettings):
    """Settings of :class:`TDLChannel`."""

    model: str = "A"
    """3GPP TR 38.901 TDL profile, ``A`` … ``E`` (``D`` and ``E`` have a line-of-sight path)."""
    delay_spread: float = Field(100e-9, ge=0, le=1e-5)
    """RMS delay spread [s] (e.g. 30e-9 short, 100e-9–300e-9 normal, 1e-6 long)."""
    carrier_frequency: float = Field(3.5e9, gt=0, le=1e12)
    """Carrier frequency [Hz] (only the Doppler shift depends on it)."""
    subcarrier_spacing: float = Field(30e3, gt=0, le=1e7)
    """OFDM subcarrier spacing [Hz]."""
    fft_size: int = Field(72, ge=1, le=4096)
    """Subcarriers per OFDM symbol; a latent of ``k`` fills ``ceil(k / 2 / fft_size)`` OFDM symbols."""
    speed: float = Field(0.0, ge=0, le=1000)
    """Receiver speed [m/s]; 0 is a static channel over the resource grid."""

    @field_validator("model")
    @classmethod
    def _known_model(cls, v: str) -> str:
        if v not in TDL_MODELS:
            raise ValueError(f"must be one of {', '.join(repr(m) for m in TDL_MODELS)}; got {v!r}")
        return v


@register_channel("tdl")
class TDLChannel(Channel):
    """3GPP TR 38.901 tapped-delay-line fading over OFDM, perfect-CSI equalisation.

    The symbols of a row of ``x`` (``[batch size, n]``; one sample) fill an
    OFDM resource grid of ``S = ceil(n / fft_size)`` OFDM symbols ×
    ``fft_size`` subcarriers in order (symbol ``i`` on OFDM symbol
    ``i // fft_size``, subcarrier ``i % fft_size``; the rest of the last OFDM
    symbol is zero-padded). Each resource element sees its own frequency
    response

    .. math:: y_{s,k} = h_{s,k}\\, x_{s,k} + n_{s,k}, \\qquad
              h_{s,k} = \\sum_m a_m(s)\\, e^{-j 2\\pi f_k \\tau_m},
              \\qquad n_{s,k} \\sim \\mathcal{CN}(0, N_0),

    with ``f_k`` the subcarrier frequencies (spacing ``subcarrier_spacing``)
    and ``(a_m, τ_m)`` a channel impulse response of Sionna's ``TDL`` model
    ``model`` scaled to ``delay_spread``: a new independent realisation per
    row, constant over the grid when ``speed = 0``, evolving over the OFDM
    symbols otherwise. Its power delay profile has total energy 1, so
    ``E|h|² = 1`` per resource element (on average over draws; a single draw
    is not renormalised). The larger ``delay_spread · fft_size ·
    subcarrier_spacing``, the more ``h`` varies across subcarriers.
    ``y`` and ``h`` are read back in the order of ``x``, so :meth:`receive`
    equalises each symbol with the response of its own resource element
    (LMMSE per subcarrier by default). ``snr_db=None`` gives fading without
    noise.

    Built from Sionna's ``ResourceGrid`` (no pilots: the receiver knows
    ``h``), ``ResourceGridMapper``/``ResourceGridDemapper``, ``tr38901.TDL``,
    ``GenerateOFDMChannel`` (``cir_to_ofdm_channel``), ``ApplyOFDMChannel``
    and ``AWGN``; the channel and then the noise come from the caller's
    generator. No cyclic prefix, ISI or ICI is modelled (the frequency-domain
    OFDM model); the OFDM symbol lasts ``1 / subcarrier_spacing``.

    Args:
        model: TDL profile, one of ``"A"`` … ``"E"`` (:data:`TDL_MODELS`).
        delay_spread: RMS delay spread [s], ≥ 0 (TR 38.901 lists e.g. 30 ns
            short, 100–300 ns normal, 1 µs long).
        carrier_frequency: carrier frequency [Hz], > 0; only the Doppler
            shift depends on it.
        subcarrier_spacing: subcarrier spacing [Hz], > 0.
        fft_size: subcarriers per OFDM symbol, ≥ 1.
        speed: receiver speed [m/s], ≥ 0 (0: static channel).
        equalizer: used by :meth:`receive`: ``"lmmse"`` (default,
            ``conj(h) y / (|h|² + N0)`` per resource element), ``"zf"``
            (``y / h``) or ``"none"``.

    Example:
        >>> channel = TDLChannel(model="A", delay_spread=300e-9, fft_size=12)
        >>> x = torch.ones(2, 30, dtype=torch.complex64)  # 3 OFDM symbols, the last one padded
        >>> gen = torch.Generator().manual_seed(0)
        >>> y, h = channel(x, snr_db=20.0, generator=gen, return_h=True)
        >>> y.shape, h.shape
        (torch.Size([2, 30]), torch.Size([2, 30]))
        >>> bool(torch.equal(h[:, :12], h[:, 12:24]))  # speed 0: same response every OFDM symbol
        True
        >>> x_hat = channel.receive(x, snr_db=80.0, generator=gen)
        >>> bool((x_hat - x).abs().max() < 1e-2)
        True
    """

    is_random = True
    Settings = TDLSettings

    def __init__(
        self,
        model: str = "A",
        delay_spread: float = 100e-9,
        carrier_frequency: float = 3.5e9,
        subcarrier_spacing: float = 30e3,
        fft_size: int = 72,
        speed: float = 0.0,
        equalizer: str = "lmmse",
    ) -> None:
        super().__init__(equalizer=equalizer)
        self.model = check_choice(model, "model", TDL_MODELS)
        self.delay_spread = check_real(delay_spread, "delay_spread", unit="[s]", minimum=0.0)
        self.carrier_frequency = check_real(
            carrier_frequency, "carrier_frequency", unit="[Hz]", minimum=0.0, strict=True
        )
        self.subcarrier_spacing = check_real(
            subcarrier_spacing, "subcarrier_spacing", unit="[Hz]", minimum=0.0, strict=True
        )
        self.fft_size = check_int(fft_size, "fft_size", minimum=1)
        self.speed = check_real(speed, "speed", unit="[m/s]", minimum=0.0)

    def num_ofdm_symbols(self, n: int) -> int:
        """OFDM symbols a row of ``n`` complex symbols occupies, ``ceil(n / fft_size)``."""
        return -(-n // self.fft_size)

    def transmit(
        self, x: torch.Tensor, *, no: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if x.numel() == 0:
            return x.clone(), torch.ones_like(x)
        n = x.shape[-1]
        rows = x.reshape(math.prod(x.shape[:-1]), n)  # [B, n]
        y, h = _sionna.tdl_ofdm(
            rows,
            no,
            model=self.model,
            delay_spread=self.delay_spread,
            carrier_frequency=self.carrier_frequency,
            subcarrier_spacing=self.subcarrier_spacing,
            fft_size=self.fft_size,
            speed=self.speed,
            generator=generator,
        )  # [B, n] each
        return y.reshape(x.shape), h.reshape(x.shape)

    def extra_repr(self) -> str:
        return (
            f"model={self.model!r}, delay_spread={self.delay_spread:g}, "
            f"carrier_frequency={self.carrier_frequency:g}, "
            f"subcarrier_spacing={self.subcarrier_spacing:g}, fft_size={self.fft_size}, "
            f"speed={self.speed:g}, {super().extra_repr()}"
        )
