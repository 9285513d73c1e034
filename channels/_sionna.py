"""The one module of :mod:`channels` that talks to Sionna's API.

Sionna 2.x blocks draw their random numbers from the generator returned by
their ``torch_rng`` property, which by default is a global per-device generator
of ``sionna.phy.config``. Here each random Sionna block we use (``AWGN``,
``RayleighBlockFading``, ``tr38901.TDL``) is subclassed with
:class:`_CallerGenerator`, which overrides ``torch_rng`` to return the
generator handed to the block's constructor, and a fresh block (a cheap
``nn.Module``, well under a millisecond) is built for every draw. So every random
number comes from the caller's :class:`torch.Generator`, or, when the caller
gives none, from torch's default generator of the device (as for
``torch.randn``), never from Sionna's global configuration. No state is shared
between calls, so concurrent calls cannot see each other's generators.

Importing Sionna takes seconds and its global configuration reseeds torch's
default generators on import; Sionna is therefore imported lazily, on the
first draw, and torch's global RNG state is restored afterwards, so a run
seeded with ``torch.manual_seed`` stays reproducible.

Under ``torch.compile`` Sionna ignores explicit generators and draws from the
global RNG.

The digital link (:func:`ldpc_qam_frame`) uses Sionna's deterministic 5G LDPC
``LDPC5GEncoder``/``LDPC5GDecoder`` (BP) and QAM ``Mapper``/``Demapper``;
they draw nothing either.

Besides the random blocks, the OFDM path (:func:`tdl_ofdm`) uses Sionna's
deterministic ``ResourceGrid``, ``ResourceGridMapper``/``ResourceGridDemapper``,
``GenerateOFDMChannel`` and ``ApplyOFDMChannel``; they draw nothing, so they
need no generator.
"""

from __future__ import annotations

import math
import threading
from types import ModuleType
from typing import Any

import numpy as np
import torch

__all__ = ["LDPCQAMFrame", "awgn", "ldpc_qam_frame", "rayleigh_coefficients", "rician_coefficients", "tdl_ofdm"]

_lock = threading.Lock()
_phy_module: ModuleType | None = None
_classes: dict[str, type] = {}


def _sionna_phy() -> ModuleType:
    """Import ``sionna.phy`` (channel, ofdm, mimo) once, keeping torch's global RNG state."""
    global _phy_module
    if _phy_module is not None:
        return _phy_module
    with _lock:
        if _phy_module is None:
            cpu_state = torch.random.get_rng_state()
            cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
            try:
                import sionna.phy
                import sionna.phy.channel
                import sionna.phy.fec.ldpc
                import sionna.phy.mapping
                import sionna.phy.mimo
                import sionna.phy.ofdm
            finally:
                torch.random.set_rng_state(cpu_state)
                if cuda_states is not None:
                    torch.cuda.set_rng_state_all(cuda_states)
            _phy_module = sionna.phy
    return _phy_module


def _sionna_attr(path: str) -> Any:
    """``sionna.phy.<path>``, e.g. ``"channel.AWGN"`` or ``"ofdm.ResourceGrid"``."""
    obj: Any = _sionna_phy()
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


class _CallerGenerator:
    """Mixin for a Sionna ``Object``: ``torch_rng`` is the generator given at construction."""

    def __init__(self, *args: Any, generator: torch.Generator, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._caller_generator = generator

    @property
    def torch_rng(self) -> torch.Generator:
        return self._caller_generator


def _block_class(path: str) -> type:
    """Sionna's ``sionna.phy.<path>`` (e.g. ``"channel.AWGN"``) with the caller's generator."""
    cls = _classes.get(path)
    if cls is None:
        base = _sionna_attr(path)
        cls = type(f"_Caller{base.__name__}", (_CallerGenerator, base), {"__module__": __name__})
        _classes[path] = cls
    return cls


def _precision(dtype: torch.dtype) -> str:
    if dtype == torch.complex64:
        return "single"
    if dtype == torch.complex128:
        return "double"
    raise TypeError(f"`x` must be complex64 or complex128; got {dtype}")


def _device(device: torch.device) -> str:
    device = torch.device(device)
    if device.type == "cpu":
        return "cpu"
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index}"
    raise ValueError(f"`x` must be on a cpu or cuda device for Sionna; got {device}")


def _generator(generator: torch.Generator | None, device: str) -> torch.Generator:
    """The caller's generator, or torch's default generator of ``device``."""
    if generator is not None:
        return generator
    if device == "cpu":
        return torch.default_generator
    return torch.cuda.default_generators[int(device.split(":")[1])]


def awgn(x: torch.Tensor, no: float, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``x + n`` with ``n ~ CN(0, no)`` drawn by Sionna's ``AWGN`` block.

    Args:
        x: complex symbols ``[..., n]`` (complex64 or complex128, cpu or cuda).
        no: noise variance per complex symbol (``no / 2`` per real part), ≥ 0.
        generator: source of the noise; ``None`` uses torch's default generator.

    Returns:
        ``y``, same shape, dtype and device as ``x``; differentiable w.r.t. ``x``.
    """
    device = _device(x.device)
    block = _block_class("channel.AWGN")(
        generator=_generator(generator, device), precision=_precision(x.dtype), device=device
    )
    return block(x, no)


def rayleigh_coefficients(
    num: int,
    *,
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw ``num`` independent taps ``h ~ CN(0, 1)`` with Sionna's ``RayleighBlockFading``.

    Args:
        num: number of coefficients (Sionna's batch size; one block each).
        dtype: complex64 or complex128.
        device: cpu or cuda device of the output.
        generator: source of the taps; ``None`` uses torch's default generator.

    Returns:
        ``h``, shape ``[num]``.
    """
    device_str = _device(device)
    model = _block_class("channel.RayleighBlockFading")(
        num_rx=1,
        num_rx_ant=1,
        num_tx=1,
        num_tx_ant=1,
        generator=_generator(generator, device_str),
        precision=_precision(dtype),
        device=device_str,
    )
    # a: [num, num_rx, num_rx_ant, num_tx, num_tx_ant, num_paths, num_time_steps]
    a, _ = model(batch_size=num, num_time_steps=1)
    return a.reshape(num)


def rician_coefficients(
    num: int,
    k_factor: float,
    *,
    los_phase: float | None,
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw ``num`` independent Rician taps with K-factor ``k_factor`` (linear) and ``E|h|² = 1``.

    ``h = sqrt(K/(K+1)) · e^{jφ} + sqrt(1/(K+1)) · g`` with the scattered part
    ``g ~ CN(0, 1)`` drawn by Sionna's ``RayleighBlockFading`` (as in
    :func:`rayleigh_coefficients`) and then, when ``los_phase`` is ``None``,
    the line-of-sight phases ``φ ~ U[0, 2π)`` drawn with ``torch.rand`` from the
    same generator; a number fixes ``φ`` for every tap.

    Sionna 2.2 has no flat Rician fading block: its only Rician components
    are the first taps of the LoS TDL/CDL profiles (``"D"``, ``"E"``), whose
    K-factor is fixed by the 3GPP profile and whose scattered part is a
    sum of sinusoids. So the line-of-sight term is built here in torch.

    Args:
        num: number of coefficients (one block each).
        k_factor: Rician K-factor, the line-of-sight to scattered power ratio
            (linear), ≥ 0.
        los_phase: the line-of-sight phase ``φ`` [rad], or ``None`` for a
            uniform random phase per tap.
        dtype: complex64 or complex128.
        device: cpu or cuda device of the output.
        generator: source of the taps; ``None`` uses torch's default generator.

    Returns:
        ``h``, shape ``[num]``.
    """
    scattered = rayleigh_coefficients(num, dtype=dtype, device=device, generator=generator)
    real_dtype = torch.float32 if dtype == torch.complex64 else torch.float64
    if los_phase is None:
        source = _generator(generator, _device(device))
        uniform = torch.rand(num, dtype=real_dtype, device=device, generator=source)  # [num]
        phase = 2.0 * math.pi * uniform
    else:
        phase = torch.full((num,), los_phase, dtype=real_dtype, device=device)  # [num]
    los = torch.polar(torch.ones_like(phase), phase)  # e^{jφ}, [num]
    los_gain = math.sqrt(k_factor / (k_factor + 1.0))
    scattered_gain = math.sqrt(1.0 / (k_factor + 1.0))
    return los_gain * los + scattered_gain * scattered


def tdl_ofdm(
    x: torch.Tensor,
    no: float,
    *,
    model: str,
    delay_spread: float,
    carrier_frequency: float,
    subcarrier_spacing: float,
    fft_size: int,
    speed: float,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Send each row of ``x`` over its own 3GPP TDL channel on an OFDM resource grid.

    Built from Sionna blocks, with no ISI or ICI (frequency-domain model):

    1. ``ResourceGrid`` of ``S = ceil(n / fft_size)`` OFDM symbols ×
       ``fft_size`` subcarriers, all data (no pilots, guard carriers, DC null
       or cyclic prefix); ``ResourceGridMapper`` places symbol ``i`` of a row
       on OFDM symbol ``i // fft_size``, subcarrier ``i % fft_size`` (from the
       lowest frequency), the ``S · fft_size − n`` unused elements carry 0.
    2. ``tr38901.TDL`` draws one channel impulse response per row (an
       independent realisation per sample, evolving over the OFDM symbols
       when ``speed > 0``) from the caller's generator; its power delay
       profile has total energy 1, and ``GenerateOFDMChannel`` turns it into
       the frequency response per resource element with
       ``cir_to_ofdm_channel`` (``normalize_channel=False``, so
       ``E|h|² = 1`` per resource element on average, not forced per draw).
    3. ``ApplyOFDMChannel`` multiplies (``y = h x``), Sionna's ``AWGN`` adds
       ``CN(0, no)`` on every resource element when ``no > 0``.
    4. ``ResourceGridDemapper`` reads ``y`` and ``h`` back in the same order.

    Args:
        x: complex symbols ``[batch size, n]``, ``n ≥ 1``, complex64 or complex128.
        no: noise variance per complex symbol, ≥ 0.
        model: TDL profile, ``"A"`` … ``"E"``.
        delay_spread: RMS delay spread [s].
        carrier_frequency: carrier frequency [Hz] (sets the Doppler shift).
        subcarrier_spacing: subcarrier spacing [Hz].
        fft_size: number of subcarriers per OFDM symbol.
        speed: receiver speed [m/s].
        generator: source of the channel and the noise (channel first);
            ``None`` uses torch's default generator.

    Returns:
        ``(y, h)``, both ``[batch size, n]``: received symbols (differentiable
        w.r.t. ``x``) and the frequency response of the resource element each
        symbol used.
    """
    batch, n = x.shape
    num_ofdm_symbols = -(-n // fft_size)  # ceil(n / fft_size)
    precision = _precision(x.dtype)
    device = _device(x.device)
    settings = {"precision": precision, "device": device}
    grid = _sionna_attr("ofdm.ResourceGrid")(
        num_ofdm_symbols=num_ofdm_symbols,
        fft_size=fft_size,
        subcarrier_spacing=subcarrier_spacing,
        **settings,
    )
    streams = _sionna_attr("mimo.StreamManagement")(np.ones([1, 1]), 1)
    tdl = _block_class("channel.tr38901.TDL")(
        model=model,
        delay_spread=delay_spread,
        carrier_frequency=carrier_frequency,
        min_speed=speed,
        max_speed=speed,
        generator=_generator(generator, device),
        **settings,
    )
    padded = torch.nn.functional.pad(x, (0, num_ofdm_symbols * fft_size - n))  # [B, S * F]
    # [B, num_tx=1, num_streams_per_tx=1, S, F]
    x_grid = _sionna_attr("ofdm.ResourceGridMapper")(grid, **settings)(padded[:, None, None, :])
    # [B, num_rx=1, num_rx_ant=1, num_tx=1, num_tx_ant=1, S, F]
    h_grid = _sionna_attr("channel.GenerateOFDMChannel")(tdl, grid, **settings)(batch)
    # [B, num_rx=1, num_rx_ant=1, S, F]
    y_grid = _sionna_attr("channel.ApplyOFDMChannel")(**settings)(x_grid, h_grid)
    if no > 0.0:
        y_grid = awgn(y_grid, no, generator=generator)
    demapper = _sionna_attr("ofdm.ResourceGridDemapper")(grid, streams, **settings)
    y = demapper(y_grid)[:, 0, 0, :n]  # [B, n]
    h = demapper(h_grid.reshape(batch, 1, 1, num_ofdm_symbols, fft_size))[:, 0, 0, :n]  # [B, n]
    return y, h


class LDPCQAMFrame:
    """One image's codeword: Sionna's 5G LDPC code (``k`` → ``n`` bits) and its QAM.

    Built by :func:`ldpc_qam_frame` (cached); every block is deterministic.

    Attributes:
        k: information bits per codeword.
        n: coded bits per codeword (a multiple of ``num_bits_per_symbol``).
        num_bits_per_symbol: bits per QAM symbol, ``log2`` of the QAM order.
    """

    def __init__(self, k: int, n: int, num_bits_per_symbol: int, num_iter: int, device: str) -> None:
        settings = {"precision": "single", "device": device}
        ldpc, mapping = _sionna_attr("fec.ldpc"), _sionna_attr("mapping")
        self.k, self.n, self.num_bits_per_symbol = k, n, num_bits_per_symbol
        # num_bits_per_symbol: the 38.212 §5.4.2.2 bit interleaver after rate matching
        self.encoder = ldpc.LDPC5GEncoder(k, n, num_bits_per_symbol=num_bits_per_symbol, **settings)
        self.decoder = ldpc.LDPC5GDecoder(self.encoder, hard_out=False, num_iter=num_iter, **settings)
        self.mapper = mapping.Mapper("qam", num_bits_per_symbol, **settings)
        self.demapper = mapping.Demapper("app", "qam", num_bits_per_symbol, **settings)

    def modulate(self, bits: torch.Tensor) -> torch.Tensor:
        """Information bits ``[B, k]`` (0/1 floats) → unit-power QAM symbols ``[B, n / m]`` complex64."""
        return self.mapper(self.encoder(bits))

    def decode(self, y: torch.Tensor, no: torch.Tensor) -> torch.Tensor:
        """Equalised symbols ``y [B, n / m]`` and their noise variance (broadcastable) → BP soft output.

        Demapper LLRs (``app``) go to the BP decoder; returns the information bits'
        logits ``log(Pr(b=1)/Pr(b=0))`` ``[B, k]``, differentiable w.r.t. ``y``.
        """
        return self.decoder(self.demapper(y, no))


_frames: dict[tuple[int, int, int, int, str], LDPCQAMFrame] = {}


def ldpc_qam_frame(k: int, n: int, num_bits_per_symbol: int, num_iter: int, device: torch.device) -> LDPCQAMFrame:
    """The (cached) :class:`LDPCQAMFrame` of a ``(k, n)`` 5G LDPC code with ``2^m``-QAM on ``device``.

    Raises Sionna's ``ValueError`` for a code 5G NR cannot build.
    """
    key = (k, n, num_bits_per_symbol, num_iter, _device(device))
    _sionna_phy()  # import first: it takes the same lock
    frame = _frames.get(key)
    if frame is None:
        with _lock:
            frame = _frames.get(key)
            if frame is None:
                frame = _frames[key] = LDPCQAMFrame(k, n, num_bits_per_symbol, num_iter, key[-1])
    return frame
