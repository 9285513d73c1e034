"""Argument checks shared by the channel modules.

Every check raises :class:`TypeError` for a wrong type and :class:`ValueError`
for a bad value, with one message shape: ``` `name` must be …; got … ```.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real

import torch

__all__ = [
    "check_choice",
    "check_complex",
    "check_generator",
    "check_int",
    "check_real",
    "check_snr_db",
]


def check_snr_db(snr_db: object) -> float | None:
    """Return ``snr_db`` as a float (or ``None``) after checking it is a finite number."""
    if snr_db is None:
        return None
    if isinstance(snr_db, bool) or not isinstance(snr_db, Real):
        raise TypeError(f"`snr_db` must be a real number [dB] or None; got {type(snr_db).__name__}")
    value = float(snr_db)
    if not math.isfinite(value):
        raise ValueError(f"`snr_db` must be a finite number; got {value}")
    return value


def check_complex(x: object, name: str = "x") -> torch.Tensor:
    """Check that ``x`` is a complex tensor with at least one dimension."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor; got {type(x).__name__}")
    if not x.is_complex():
        raise TypeError(
            f"`{name}` must be a complex tensor (complex64 or complex128); got {x.dtype}"
        )
    if x.dim() < 1:
        raise ValueError(f"`{name}` must have shape [..., num_symbols]; got a 0-d tensor")
    return x


def _same_device(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    if a.type != "cuda":
        return True
    current = torch.cuda.current_device() if torch.cuda.is_available() else 0
    return (a.index if a.index is not None else current) == (
        b.index if b.index is not None else current
    )


def check_generator(generator: object, device: torch.device) -> torch.Generator | None:
    """Check that ``generator`` is ``None`` or a :class:`torch.Generator` on ``device``."""
    if generator is None:
        return None
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"`generator` must be a torch.Generator or None; got {type(generator).__name__}"
        )
    if not _same_device(torch.device(generator.device), torch.device(device)):
        raise ValueError(
            f"`generator` must be on the input's device {device}; got a generator on "
            f"{generator.device} (create it with torch.Generator(device=x.device))"
        )
    return generator


def check_choice(value: object, name: str, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of ``choices`` (strings)."""
    valid = sorted(choices)
    if not isinstance(value, str) or value not in valid:
        listed = ", ".join(repr(c) for c in valid)
        raise ValueError(f"`{name}` must be one of {listed}; got {value!r}")
    return value


def check_real(
    value: object, name: str, *, unit: str = "", minimum: float | None = None, strict: bool = False
) -> float:
    """Return ``value`` as a float after checking it is a finite real number.

    Args:
        value: the setting to check.
        name: its name, for the message.
        unit: shown after the number in the message, e.g. ``"[s]"``.
        minimum: the lowest allowed value, or ``None`` for no bound.
        strict: ``minimum`` itself is excluded (``> minimum`` instead of ``≥``).
    """
    suffix = f" {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"`{name}` must be a real number{suffix}; got {type(value).__name__}")
    number = float(value)
    if minimum is None:
        if not math.isfinite(number):
            raise ValueError(f"`{name}` must be a finite number{suffix}; got {number}")
        return number
    above = number > minimum if strict else number >= minimum
    if not (math.isfinite(number) and above):
        bound = f"{'>' if strict else '≥'} {minimum:g}"
        raise ValueError(f"`{name}` must be a finite number {bound}{suffix}; got {number}")
    return number


def check_int(value: object, name: str, *, minimum: int) -> int:
    """Check that ``value`` is an int (not a bool) ``≥ minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an int; got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"`{name}` must be ≥ {minimum}; got {value}")
    return value
