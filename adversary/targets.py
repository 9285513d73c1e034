"""Targets of targeted latent attacks (paper §3.1.1, Eq. 5).

A targeted attack minimises ``D(G'(z+δ), x_target)``. The paper suggests
all-black or all-white images, a prior sample and the colour-reversed clean
reconstruction; docs/design.md §3 adds ``class:<k>`` (a reconstruction of another
class), which needs data and lives with ``semcom``.

A target name may carry an argument after a colon, ``"name:arg"``: the maker
registered as ``name`` with ``takes_argument=True`` receives ``argument="arg"``.

Example:
    >>> import torch
    >>> from adversary import make_target
    >>> clean = torch.full((2, 1, 2, 2), 0.25)
    >>> make_target("inverted", clean)[0, 0]
    tensor([[0.7500, 0.7500],
            [0.7500, 0.7500]])
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from adversary._random import check_generator, standard_normal

__all__ = ["TARGETS", "TargetMaker", "make_target", "register_target"]

TargetMaker = Callable[..., torch.Tensor]
"""``maker(clean [B, C, H, W], *, decode, latent_dim, generator[, argument]) -> [B, C, H, W]``."""

TARGETS: dict[str, TargetMaker] = {}
"""Target name -> maker; filled by :func:`register_target`.

The first line of each maker's docstring describes the target (``semcom list``).
"""

_TAKES_ARGUMENT: set[str] = set()


def register_target(
    name: str, *, takes_argument: bool = False
) -> Callable[[TargetMaker], TargetMaker]:
    """Decorator adding a target maker to :data:`TARGETS`.

    The maker is called as ``maker(clean, decode=..., latent_dim=...,
    generator=...)``, plus ``argument=<str>`` when ``takes_argument`` (the
    name is then used as ``"name:<argument>"``), under ``torch.no_grad()``. It
    returns a tensor shaped like ``clean``.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: ``name`` is empty, contains ``":"`` or is already registered.
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string; got {type(name).__name__}")
    if not name or ":" in name:
        raise ValueError(f"`name` must be a non-empty string without ':'; got {name!r}")
    if not isinstance(takes_argument, bool):
        raise TypeError(f"`takes_argument` must be a bool; got {takes_argument!r}")

    def decorate(maker: TargetMaker) -> TargetMaker:
        if not callable(maker):
            raise TypeError(f"a target maker must be callable; got {type(maker).__name__}")
        if name in TARGETS:
            raise ValueError(f"target {name!r} is already registered")
        TARGETS[name] = maker
        if takes_argument:
            _TAKES_ARGUMENT.add(name)
        return maker

    return decorate


def make_target(
    name: str,
    clean: torch.Tensor,
    *,
    decode: Callable[[torch.Tensor], torch.Tensor] | None = None,
    latent_dim: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The target images ``x_target`` of paper Eq. 5 for a batch of clean reconstructions.

    Args:
        name: a key of :data:`TARGETS` (``"black"``, ``"white"``, ``"inverted"``,
            ``"prior"``), or ``"name:arg"`` for a target taking an argument.
        clean: the clean reconstructions ``G'(z)`` ``[B, C, H, W]`` in [0, 1].
        decode: the decoder ``[B, latent_dim] -> [B, C, H, W]`` (``"prior"``).
        latent_dim: the latent size ``d`` (``"prior"``).
        generator: randomness of ``"prior"``; ``None`` uses torch's default.

    Returns:
        A detached tensor shaped like ``clean``; ``clean`` is not modified.

    Raises:
        ValueError: an unknown target (the message lists the valid ones), a
            missing or unexpected argument, or ``decode``/``latent_dim``
            missing for ``"prior"``.
    """
    if not isinstance(name, str):
        raise TypeError(f"`target` must be a string; got {type(name).__name__}")
    if not isinstance(clean, torch.Tensor):
        raise TypeError(f"`clean` must be a torch.Tensor; got {type(clean).__name__}")
    if clean.ndim < 2 or not clean.is_floating_point():
        raise ValueError(
            f"`clean` must be floating-point images [B, C, H, W]; got {clean.dtype} "
            f"of shape {list(clean.shape)}"
        )
    if decode is not None and not callable(decode):
        raise TypeError(f"`decode` must be callable or None; got {type(decode).__name__}")
    if latent_dim is not None and (isinstance(latent_dim, bool) or not isinstance(latent_dim, int)):
        raise TypeError(f"`latent_dim` must be an int or None; got {latent_dim!r}")
    if latent_dim is not None and latent_dim < 1:
        raise ValueError(f"`latent_dim` must be ≥ 1; got {latent_dim}")
    generator = check_generator(generator)

    base, colon, argument = name.partition(":")
    valid = ", ".join(repr(n) + (":<arg>" if n in _TAKES_ARGUMENT else "") for n in sorted(TARGETS))
    if base not in TARGETS:
        if colon:
            raise ValueError(
                f"`target` {name!r} is not available: no target {base!r} taking an argument "
                f"is registered; valid targets: {valid}"
            )
        raise ValueError(f"`target` must be one of {valid}; got {name!r}")
    kwargs: dict[str, object] = {"decode": decode, "latent_dim": latent_dim, "generator": generator}
    if base in _TAKES_ARGUMENT:
        if not argument:
            raise ValueError(
                f"`target` {base!r} needs an argument, as '{base}:<arg>'; got {name!r}"
            )
        kwargs["argument"] = argument
    elif colon:
        raise ValueError(f"`target` {base!r} takes no argument; got {name!r}")
    with torch.no_grad():
        target = TARGETS[base](clean.detach(), **kwargs)
    if not isinstance(target, torch.Tensor) or target.shape != clean.shape:
        got = list(target.shape) if isinstance(target, torch.Tensor) else type(target).__name__
        raise ValueError(
            f"target {name!r} must have the shape of `clean` {list(clean.shape)}; got {got}"
        )
    return target.detach()


@register_target("black")
def black(clean: torch.Tensor, **_: object) -> torch.Tensor:
    """All-black images (zeros), the paper's main target (§3.1.2)."""
    return torch.zeros_like(clean)


@register_target("white")
def white(clean: torch.Tensor, **_: object) -> torch.Tensor:
    """All-white images (ones)."""
    return torch.ones_like(clean)


@register_target("inverted")
def inverted(clean: torch.Tensor, **_: object) -> torch.Tensor:
    """The colour-reversed clean reconstruction, ``1 − G'(z)``."""
    return 1.0 - clean


@register_target("prior")
def prior(
    clean: torch.Tensor,
    *,
    decode: Callable[[torch.Tensor], torch.Tensor] | None,
    latent_dim: int | None,
    generator: torch.Generator | None,
    **_: object,
) -> torch.Tensor:
    """The decoding of a prior sample, ``decode(u)`` with ``u ~ N(0, I)`` ``[B, latent_dim]``."""
    if decode is None or latent_dim is None:
        missing = " and ".join(
            f"`{n}`" for n, v in (("decode", decode), ("latent_dim", latent_dim)) if v is None
        )
        raise ValueError(f"the 'prior' target needs {missing} (the decoder and its latent size)")
    u = standard_normal(
        (clean.shape[0], latent_dim), dtype=clean.dtype, device=clean.device, generator=generator
    )  # [B, latent_dim]
    return decode(u)
