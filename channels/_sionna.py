"""The one module of :mod:`channels` that talks to Sionna's API.

Sionna 2.x blocks draw their random numbers from the generator returned by
their ``torch_rng`` property, which by default is a global per-device generator
of ``sionna.phy.config``. Here each Sionna block we use is subclassed with
:class:`_CallerGenerator`, which overrides ``torch_rng`` to return the
generator handed to the block's constructor, and a fresh block (a cheap
``nn.Module``, tens of microseconds) is built for every draw. So every random
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
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

import torch

__all__ = ["awgn", "rayleigh_coefficients"]

_lock = threading.Lock()
_channel_module: ModuleType | None = None
_classes: dict[str, type] = {}


def _sionna_channel() -> ModuleType:
    """Import ``sionna.phy.channel`` once, leaving torch's global RNG state as it was."""
    global _channel_module
    if _channel_module is not None:
        return _channel_module
    with _lock:
        if _channel_module is None:
            cpu_state = torch.random.get_rng_state()
            cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
            try:
                import sionna.phy.channel as sionna_channel
            finally:
                torch.random.set_rng_state(cpu_state)
                if cuda_states is not None:
                    torch.cuda.set_rng_state_all(cuda_states)
            _channel_module = sionna_channel
    return _channel_module


class _CallerGenerator:
    """Mixin for a Sionna ``Object``: ``torch_rng`` is the generator given at construction."""

    def __init__(self, *args: Any, generator: torch.Generator, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._caller_generator = generator

    @property
    def torch_rng(self) -> torch.Generator:
        return self._caller_generator


def _block_class(name: str) -> type:
    """Sionna's ``sionna.phy.channel.<name>`` with the caller's generator."""
    cls = _classes.get(name)
    if cls is None:
        base = getattr(_sionna_channel(), name)
        cls = type(f"_Caller{name}", (_CallerGenerator, base), {"__module__": __name__})
        _classes[name] = cls
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
    block = _block_class("AWGN")(
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
    model = _block_class("RayleighBlockFading")(
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
