"""The channel interface and the registry of channels by name.

A channel maps transmitted complex symbols ``x`` to received symbols

.. math:: y = h \\odot x + n, \\qquad n \\sim \\mathcal{CN}(0, N_0),
          \\qquad N_0 = 10^{-\\mathrm{SNR_{dB}}/10},

with unit average symbol energy (``Es = 1``). A jammer transmitting ``j``
over the air reaches the receiver through its own channel ``h_j``, an
independent draw of the same model: ``y = h ⊙ x + h_j ⊙ j + n`` (docs/design.md
§3, "Placement"); the receiver knows ``h`` only and equalises with it.

Settings (fading block length, equaliser) go in at construction; data, SNR
and the random generator at call time. Every channel is a
:class:`torch.nn.Module` and differentiable w.r.t. ``x``, so attacks can
backpropagate through it.

Each channel class owns its settings: ``Settings``, a pydantic model of its
constructor's keyword arguments (types, ranges, a description per field, the
constructor's defaults). New channels join the registry with
:func:`register_channel`, which checks that ``Settings`` matches the
constructor; the scenario schema validates a ``channels:`` entry against the
settings of its ``kind``, and the runner and the CLI build channels by name
with :func:`make_channel` (docs/design.md §8).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import torch
from pydantic import BaseModel, ConfigDict, field_validator
from torch import nn

from ._checks import check_choice, check_complex, check_generator
from .equalization import EQUALIZERS, equalize
from .snr import snr_db_to_no

__all__ = ["CHANNELS", "Channel", "ChannelSettings", "EqualizedSettings", "make_channel", "register_channel"]


class ChannelSettings(BaseModel):
    """A channel's construction settings: one field per keyword argument of its constructor.

    Subclasses declare each field with its type, range (``pydantic.Field``), the
    constructor's default and a docstring under it (its description).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)


class EqualizedSettings(ChannelSettings):
    """Settings of a channel whose receiver equalises with perfect CSI (every symbol channel)."""

    equalizer: str = "lmmse"
    """Receiver equalisation with perfect CSI: ``lmmse``, ``zf`` (zero-forcing) or ``none``."""

    @field_validator("equalizer")
    @classmethod
    def _known_equalizer(cls, v: str) -> str:
        return check_choice(v, "equalizer", EQUALIZERS)


class Channel(nn.Module):
    """Base class of all channels: ``forward`` transmits, ``receive`` also equalises.

    Subclasses implement :meth:`transmit`, set the class attribute
    ``is_random`` and, when their constructor takes other settings than
    ``equalizer``, declare them in ``Settings``; :func:`register_channel` sets ``name``.

    Args:
        equalizer: how :meth:`receive` equalises: ``"lmmse"`` (default),
            ``"zf"`` or ``"none"`` (see :func:`channels.equalize`).
    """

    #: Registry name, set by :func:`register_channel`.
    name: ClassVar[str] = ""
    #: True when the channel draws noise or fading.
    is_random: ClassVar[bool] = False
    #: True when ``snr_db`` must be given (``None`` is then an error).
    requires_snr: ClassVar[bool] = False
    #: True when :meth:`receive` maps symbols to same-shaped symbols differentiably and a
    #: jammer has the signal's shape; False for the digital link, whose receiver makes hard
    #: decisions and whose jammer acts on its own QAM symbols (``channels.digital``).
    symbol_channel: ClassVar[bool] = True
    #: The constructor's keyword arguments as a typed model (validated from a scenario's entry).
    Settings: ClassVar[type[ChannelSettings]] = EqualizedSettings

    def __init__(self, *, equalizer: str = "lmmse") -> None:
        super().__init__()
        self.equalizer = check_choice(equalizer, "equalizer", EQUALIZERS)

    def noise_variance(self, snr_db: float | None) -> float:
        """Noise variance ``N0`` per complex symbol this channel adds at ``snr_db`` [dB]."""
        if snr_db is None and self.requires_snr:
            raise ValueError(
                f"`snr_db` must be a finite number for the {self.name or type(self).__name__!r} "
                "channel; got None"
            )
        return snr_db_to_no(snr_db)

    def transmit(
        self, x: torch.Tensor, *, no: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply the channel to checked inputs; return ``(y, h)``, both ``[..., n]``."""
        raise NotImplementedError(f"{type(self).__name__} must implement `transmit`")

    def forward(
        self,
        x: torch.Tensor,
        *,
        snr_db: float | None = None,
        generator: torch.Generator | None = None,
        return_h: bool = False,
        jam: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Send symbols through the channel, optionally with a jammer over the air.

        Args:
            x: transmitted symbols ``[batch size, n]`` (more leading dimensions
                are allowed: ``[..., n]``), complex64 or complex128, unit
                average energy. Not modified.
            snr_db: ``Es / N0`` [dB]; ``None`` means noiseless where the channel
                allows it.
            generator: source of all randomness (noise, fading); must be on
                ``x``'s device. ``None`` draws from torch's default generator.
            return_h: also return the channel taps.
            jam: symbols ``j`` a jammer transmits at the same time, shaped like
                ``x``, or ``None``. They arrive through the jammer's own
                channel ``h_j``, drawn independently of ``h`` from the same
                model after the signal's taps and noise (so a zero ``j``
                leaves ``y`` exactly as without a jammer): ``y = h ⊙ x + h_j ⊙ j + n``.

        Returns:
            ``y`` (same shape, dtype and device as ``x``), or ``(y, h)`` with ``h``
            the signal's taps, ``[..., n]`` (ones for channels without fading).
        """
        check_complex(x, "x")
        generator = check_generator(generator, x.device)
        if not isinstance(return_h, bool):
            raise TypeError(f"`return_h` must be a bool; got {type(return_h).__name__}")
        if jam is not None:
            check_complex(jam, "jam")
            if jam.shape != x.shape or jam.device != x.device:
                raise ValueError(
                    f"`jam` must have the shape and device of `x` {list(x.shape)} ({x.device}); "
                    f"got {list(jam.shape)} ({jam.device})"
                )
        no = self.noise_variance(snr_db)
        y, h = self.transmit(x, no=no, generator=generator)
        if jam is not None:
            y_jam, _ = self.transmit(jam.to(x.dtype), no=0.0, generator=generator)  # h_j ⊙ j
            y = y + y_jam
        return (y, h) if return_h else y

    def receive(
        self,
        x: torch.Tensor,
        *,
        snr_db: float | None = None,
        generator: torch.Generator | None = None,
        jam: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Send symbols through the channel and equalise with perfect CSI.

        Runs :meth:`forward` and applies :func:`channels.equalize` with the
        configured ``equalizer``, the true taps ``h`` of the signal and ``N0``
        of ``snr_db``; a jammer's channel ``h_j`` is unknown to the receiver.

        Args:
            x: transmitted symbols ``[..., n]``, complex.
            snr_db: ``Es / N0`` [dB], as in :meth:`forward`.
            generator: as in :meth:`forward`.
            jam: a jammer's symbols over the air, as in :meth:`forward`.

        Returns:
            Symbol estimates ``x̂``, same shape, dtype and device as ``x``;
            differentiable w.r.t. ``x``.
        """
        y, h = self(x, snr_db=snr_db, generator=generator, return_h=True, jam=jam)
        return equalize(y, h, no=self.noise_variance(snr_db), method=self.equalizer)

    def extra_repr(self) -> str:
        return f"equalizer={self.equalizer!r}"


#: Channel classes by registry name.
CHANNELS: dict[str, type[Channel]] = {}

C = TypeVar("C", bound=type[Channel])


def register_channel(name: str) -> Callable[[C], C]:
    """Class decorator adding a :class:`Channel` subclass to :data:`CHANNELS` as ``name``.

    Also sets the class attribute ``name``. Registering another class under a
    taken name is an error.

    Example:
        >>> @register_channel("doc-example")
        ... class Silent(Channel):
        ...     def transmit(self, x, *, no, generator):
        ...         return torch.zeros_like(x), torch.zeros_like(x)
        >>> make_channel("doc-example")(torch.ones(1, 2, dtype=torch.complex64))
        tensor([[0.+0.j, 0.+0.j]])
        >>> del CHANNELS["doc-example"]
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a str; got {type(name).__name__}")
    if not name or name != name.strip():
        raise ValueError(
            f"`name` must be a non-empty name without surrounding spaces; got {name!r}"
        )

    def decorator(cls: C) -> C:
        if not (isinstance(cls, type) and issubclass(cls, Channel)):
            raise TypeError(
                f"register_channel({name!r}) must decorate a Channel subclass; got {cls!r}"
            )
        taken = CHANNELS.get(name)
        if taken is not None and (taken.__module__, taken.__qualname__) != (
            cls.__module__,
            cls.__qualname__,
        ):
            raise ValueError(
                f"channel name {name!r} is already registered to "
                f"{taken.__module__}.{taken.__qualname__}"
            )
        _check_settings(cls)
        cls.name = name
        CHANNELS[name] = cls
        return cls

    return decorator


def _check_settings(cls: type[Channel]) -> None:
    """``cls.Settings`` names constructor arguments, with the constructor's defaults."""
    settings = getattr(cls, "Settings", None)
    if not (isinstance(settings, type) and issubclass(settings, ChannelSettings)):
        raise TypeError(f"{cls.__qualname__}.Settings must be a ChannelSettings subclass; got {settings!r}")
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for field, info in settings.model_fields.items():
        param = params.get(field)
        if param is None and not takes_any:
            raise TypeError(f"{cls.__qualname__}.Settings.{field} is not an argument of {cls.__qualname__}()")
        if param is not None and param.default is not inspect.Parameter.empty and param.default != info.default:
            raise ValueError(f"{cls.__qualname__}.Settings.{field} defaults to {info.default!r}, "
                             f"its constructor to {param.default!r}")


def make_channel(name: str, **settings: Any) -> Channel:
    """Build the registered channel ``name`` with its construction ``settings``.

    Args:
        name: a key of :data:`CHANNELS` (``"ideal"``, ``"awgn"``, ``"rayleigh"``, …).
        **settings: keyword arguments of that channel's constructor.

    Raises:
        ValueError: unknown ``name`` (the message lists the valid names).
        TypeError: a setting the channel does not take.

    Example:
        >>> make_channel("rayleigh", block_length=4)
        RayleighBlockChannel(block_length=4, equalizer='lmmse')
    """
    if not isinstance(name, str) or name not in CHANNELS:
        valid = ", ".join(repr(n) for n in sorted(CHANNELS))
        raise ValueError(f"`channel` must be one of {valid}; got {name!r}")
    cls = CHANNELS[name]
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = [] if takes_any else sorted(set(settings) - set(params))
    if unknown:
        valid = ", ".join(repr(p) for p in params) or "none"
        raise TypeError(
            f"the {name!r} channel takes the settings {valid}; got unknown "
            + ", ".join(repr(u) for u in unknown)
        )
    return cls(**settings)
