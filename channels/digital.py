"""The conventional digital link as a channel: quantiser → 5G LDPC → QAM → channel → BP → de-quantiser.

The separate source/channel coding baseline of docs/design.md §7 ("Digital
link"), built from Sionna 2.x blocks (:func:`channels._sionna.ldpc_qam_frame`):

1. **Quantiser.** Each real value ``u`` of the power-normalised latent
   (``u = z / (√2·σ_z)``, RMS ``1/√2`` per value, see :class:`channels.SymbolMapper`)
   is clipped to ``[−c, c]`` with ``c = clip / √2`` — ``±clip·σ_z`` in latent
   units, a range fixed at training time by ``σ_z`` — and quantised uniformly
   to ``L = 2^bits`` levels (mid-rise: index ``q = ⌊(u + c) / Δ⌋``, ``Δ = 2c / L``,
   reconstruction ``−c + (q + ½)Δ``). The index is sent as ``bits`` bits in
   natural binary, most significant bit first.
2. **Channel code.** All ``k = values · bits`` bits of one image form one
   codeword of Sionna's ``LDPC5GEncoder`` (3GPP 38.212, rate matching and bit
   interleaving included) of length ``n = m·⌈k / (r·m)⌉``, ``m = log2(qam_order)``:
   the nearest length at or above ``k / r`` that fills whole QAM symbols, so
   the effective rate ``k / n`` is at most ``code_rate``.
3. **Modulation.** Sionna's ``Mapper`` maps ``m`` coded bits to one unit-power
   ``qam_order``-QAM symbol: ``n / m`` channel uses (complex symbols) per image.
4. **Physical channel.** The same AWGN or flat Rayleigh block fading as the
   learned links (``fading``), ``y = h x + n``.
5. **Receiver.** ``y / h`` with noise variance ``N0 / |h|²`` per symbol
   (exact LLRs with perfect CSI; a jammer's power is unknown to it) →
   Sionna's ``Demapper`` (``app``) LLRs → ``LDPC5GDecoder`` BP
   (``bp_iterations`` flooding iterations) → information-bit logits.
   *Hard* decisions (logit > 0) give the index and its level. The *soft*
   path (:meth:`DigitalChannel.detect` with ``soft=True``) uses the expected
   index ``Σ_j Pr(b_j = 1)·2^(bits−1−j)``, ``Pr = sigmoid(logit)``: a
   differentiable de-quantiser for white-box attacks, scored with hard
   decisions.

This module does not import ``semcom`` or ``adversary``; it imports no Sionna
until a frame is first built.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field

from . import _sionna
from ._checks import check_choice, check_complex, check_int, check_real
from .awgn import AWGNChannel
from .base import Channel, ChannelSettings, register_channel
from .rayleigh import RayleighBlockChannel

__all__ = ["DigitalChannel", "DigitalSettings", "FADINGS", "QAM_ORDERS", "check_frame", "frame_size"]

QAM_ORDERS = (4, 16, 64, 256, 1024)
"""The square QAM orders Sionna's ``Mapper`` builds (2 … 10 bits per symbol)."""
FADINGS = ("awgn", "rayleigh")
"""Physical channels under the digital link."""
LDPC_K = (12, 8448)
"""Information bits per codeword Sionna's ``LDPC5GEncoder`` accepts (38.212)."""
LDPC_N_MAX = 316 * 384
LDPC_RATE = (1 / 5, 0.95)
"""Effective code rates ``k / n`` Sionna's ``LDPC5GEncoder`` accepts."""


def frame_size(num_values: int, bits: int, code_rate: float, qam_order: int) -> tuple[int, int]:
    """``(k, n)``: information and coded bits of one image of ``num_values`` latent values."""
    m = int(math.log2(qam_order))
    k = num_values * bits
    n = m * math.ceil(k / (code_rate * m) - 1e-9)
    return k, n


def check_frame(num_values: int, bits: int, code_rate: float, qam_order: int) -> tuple[int, int]:
    """:func:`frame_size`, or a ``ValueError`` naming the setting when 5G LDPC cannot build it.

    The limits are Sionna's ``LDPC5GEncoder``'s (``k`` in 12 … 8448,
    ``n ≤ 316·384``, effective rate ``k / n`` in [1/5, 0.95]); a test checks
    them against the encoder itself.
    """
    k, n = frame_size(num_values, bits, code_rate, qam_order)
    what = f"{num_values} latent values × {bits} `bits` = {k} information bits per image"
    if k < LDPC_K[0]:
        raise ValueError(f"`bits`: {what}, below the 5G LDPC minimum of {LDPC_K[0]}: raise `bits`")
    if k > LDPC_K[1]:
        raise ValueError(f"`bits`: {what}, above the 5G LDPC maximum of {LDPC_K[1]}: lower `bits`")
    rate = k / n
    if n > LDPC_N_MAX or not LDPC_RATE[0] <= rate <= LDPC_RATE[1]:
        raise ValueError(
            f"`code_rate`: {what} at `code_rate` {code_rate:g} gives n = {n} coded bits (rate {rate:.3f}); "
            f"5G LDPC needs a rate in [0.2, 0.95] and n ≤ {LDPC_N_MAX}"
        )
    return k, n


class DigitalSettings(ChannelSettings):
    """Settings of :class:`DigitalChannel` (its detector divides by ``h``: no equaliser setting)."""

    bits: int = Field(4, ge=1, le=16)
    """Bits per latent value of the uniform quantiser."""
    code_rate: float = Field(0.5, ge=0.2, le=0.95)
    """5G LDPC code rate ``r``; the codeword of one image is the nearest length ≥ k/r that fills whole
    QAM symbols."""
    qam_order: int = 16
    """QAM order ``M``, 4, 16, 64, 256 or 1024."""
    bp_iterations: int = Field(20, ge=1, le=200)
    """Belief-propagation iterations of the LDPC decoder."""
    clip: float = Field(3.0, gt=0, le=100)
    """The quantiser's range ``±clip·σ_z`` in latent units, fixed with the model's σ_z."""
    fading: str = "awgn"
    """The physical channel under the digital link, ``awgn`` or ``rayleigh`` (which takes
    ``block_length`` in QAM symbols)."""
    block_length: int | None = Field(None, ge=1)
    """``rayleigh`` fading: QAM symbols per fading block; unset: one block per image."""


@register_channel("digital")
class DigitalChannel(Channel):
    """Conventional digital link: b-bit quantiser → 5G LDPC (rate r) → QAM → AWGN/Rayleigh → LLRs → BP.

    As a :class:`Channel` it carries the learned links' latent symbols
    (:meth:`receive`: pairs of normalised latent values in, their
    de-quantised estimates out), so any link can run over it. Its own
    transmitted signal, the QAM symbols, is reached with :meth:`encode`
    (latent values → QAM symbols), :meth:`forward` (QAM symbols through the
    physical channel, with a jammer if given) and :meth:`detect` (received
    QAM symbols → latent values); ``semcom``'s digital link attacks there.
    See the module docstring for every step.

    Args:
        bits: bits per latent value ``b``, 1 … 16.
        code_rate: LDPC code rate ``r``, 0.2 … 0.95 (5G NR's range).
        qam_order: QAM order ``M`` (one of :data:`QAM_ORDERS`).
        bp_iterations: BP decoder iterations, 1 … 200.
        clip: quantiser range ``±clip·σ_z`` in latent units, > 0.
        fading: physical channel, ``"awgn"`` or ``"rayleigh"``.
        block_length: ``rayleigh``: QAM symbols per fading block; ``None``: one per image.

    Example:
        >>> channel = DigitalChannel(bits=4, code_rate=0.5, qam_order=16)
        >>> channel.frame(10)  # 10 latent values: 40 information bits → 80 coded bits
        (40, 80)
        >>> channel.channel_uses(10)
        20
    """

    is_random = True
    requires_snr = True
    symbol_channel = False
    Settings = DigitalSettings

    def __init__(
        self,
        bits: int = 4,
        code_rate: float = 0.5,
        qam_order: int = 16,
        bp_iterations: int = 20,
        clip: float = 3.0,
        fading: str = "awgn",
        block_length: int | None = None,
    ) -> None:
        super().__init__(equalizer="zf")  # what detect does: y / h, noise N0 / |h|²
        self.bits = check_int(bits, "bits", minimum=1)
        if self.bits > 16:
            raise ValueError(f"`bits` must be ≤ 16; got {bits}")
        self.code_rate = check_real(code_rate, "code_rate")
        if not LDPC_RATE[0] <= self.code_rate <= LDPC_RATE[1]:
            raise ValueError(f"`code_rate` must be in [0.2, 0.95] (5G LDPC); got {code_rate}")
        if qam_order not in QAM_ORDERS:
            raise ValueError(f"`qam_order` must be one of {QAM_ORDERS}; got {qam_order!r}")
        self.qam_order = int(qam_order)
        self.bp_iterations = check_int(bp_iterations, "bp_iterations", minimum=1)
        if self.bp_iterations > 200:
            raise ValueError(f"`bp_iterations` must be ≤ 200; got {bp_iterations}")
        self.clip = check_real(clip, "clip", minimum=0.0, strict=True)
        self.fading = check_choice(fading, "fading", FADINGS)
        if fading == "awgn" and block_length is not None:
            raise ValueError("`block_length` applies to `fading: rayleigh` only")
        self.physical = AWGNChannel() if fading == "awgn" else RayleighBlockChannel(block_length)

    @property
    def bits_per_symbol(self) -> int:
        return int(math.log2(self.qam_order))

    @property
    def half_range(self) -> float:
        """The quantiser's clipping bound ``c`` in normalised units (``clip·σ_z`` in latent units)."""
        return self.clip / math.sqrt(2.0)

    def frame(self, num_values: int) -> tuple[int, int]:
        """``(k, n)`` bits of one image of ``num_values`` values; ``ValueError`` naming the setting if unbuildable."""
        return check_frame(num_values, self.bits, self.code_rate, self.qam_order)

    def channel_uses(self, num_values: int) -> int:
        """Complex channel uses (QAM symbols) per image of ``num_values`` latent values."""
        return self.frame(num_values)[1] // self.bits_per_symbol

    def _frame(self, num_values: int, device: torch.device) -> _sionna.LDPCQAMFrame:
        k, n = self.frame(num_values)
        return _sionna.ldpc_qam_frame(k, n, self.bits_per_symbol, self.bp_iterations, device)

    def _weights(self, device: torch.device) -> torch.Tensor:
        return 2.0 ** torch.arange(self.bits - 1, -1, -1, device=device, dtype=torch.float32)  # [b], MSB first

    def quantize(self, u: torch.Tensor) -> torch.Tensor:
        """Indices ``q [..., k]`` (int64, 0 … 2^bits − 1) of normalised values ``u [..., k]``."""
        c, levels = self.half_range, 2**self.bits
        q = torch.floor((u.detach().float() + c) * (levels / (2 * c)))
        return q.clamp(0, levels - 1).long()

    def level(self, q: torch.Tensor) -> torch.Tensor:
        """The reconstruction ``−c + (q + ½)Δ`` of (possibly fractional) indices ``q``, float32."""
        c = self.half_range
        return -c + (q.float() + 0.5) * (2 * c / 2**self.bits)

    def encode(self, u: torch.Tensor) -> torch.Tensor:
        """Normalised latent values ``u [B, k]`` → transmitted QAM symbols ``[B, n / m]`` complex64 (unit power).

        Quantisation is not differentiable: the output carries no gradient.
        """
        if u.dim() != 2 or not u.is_floating_point():
            raise ValueError(f"`u` must be a real tensor [B, k]; got {u.dtype} {list(u.shape)}")
        q = self.quantize(u)  # [B, k]
        shifts = torch.arange(self.bits - 1, -1, -1, device=u.device)  # [b]
        bits = ((q[..., None] >> shifts) & 1).reshape(u.shape[0], -1).float()  # [B, k·b]
        with torch.no_grad():
            return self._frame(u.shape[1], u.device).modulate(bits)

    def detect(
        self, y: torch.Tensor, h: torch.Tensor, *, no: float, num_values: int, soft: bool = False
    ) -> torch.Tensor:
        """Received QAM symbols ``y [B, n / m]`` with taps ``h`` → latent values ``[B, num_values]`` float32.

        ``soft=False``: hard BP decisions, de-quantised (what the receiver
        decodes). ``soft=True``: the expected level under the BP output's bit
        probabilities, differentiable w.r.t. ``y`` (where BP's clipped
        messages do not saturate).
        """
        check_complex(y, "y")
        frame = self._frame(num_values, y.device)
        gain = h.abs().square().clamp_min(1e-12)  # [B, n / m]
        noise = (no / gain).clamp_min(1e-10).float()  # N0 / |h|² per symbol
        logits = frame.decode((y / h).to(torch.complex64), noise)  # [B, k·b]
        logits = logits.reshape(y.shape[0], num_values, self.bits)  # [B, k, b]
        weights = self._weights(y.device)
        if soft:
            return self.level((torch.sigmoid(logits) * weights).sum(-1))
        return self.level(((logits > 0).float() * weights).sum(-1)).detach()

    def transmit(
        self, x: torch.Tensor, *, no: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The physical channel on QAM symbols ``x [..., n / m]``."""
        return self.physical.transmit(x, no=no, generator=generator)

    def receive(
        self,
        x: torch.Tensor,
        *,
        snr_db: float | None = None,
        generator: torch.Generator | None = None,
        jam: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The whole digital chain on latent symbols: ``x [B, s]`` complex → their hard estimates.

        Each symbol's real and imaginary parts are two normalised latent
        values (as :class:`channels.SymbolMapper` pairs them); ``jam``, if
        given, is a jammer's QAM-symbol signal ``[B, channel_uses(2s)]``.
        """
        check_complex(x, "x")
        if x.numel() == 0:
            return torch.zeros_like(x)
        lead = x.shape[:-1]  # one codeword per row: leading dims are flattened into rows
        values = torch.view_as_real(x).reshape(math.prod(lead), -1)  # [B, 2s]
        qam = self.encode(values)
        y, h = self(qam, snr_db=snr_db, generator=generator, return_h=True, jam=jam)
        u = self.detect(y, h, no=self.noise_variance(snr_db), num_values=values.shape[1])
        return torch.complex(u[:, 0::2], u[:, 1::2]).to(x.dtype).reshape(x.shape)

    def extra_repr(self) -> str:
        return (f"bits={self.bits}, code_rate={self.code_rate:g}, qam_order={self.qam_order}, "
                f"bp_iterations={self.bp_iterations}, clip={self.clip:g}, fading={self.fading!r}")
