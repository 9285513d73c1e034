"""What every registry of semcom components shares (docs/design.md §8).

Attacks, defences, model variants and data sets each keep their own registry (a dict
by name) and decorator. They share: the checks a registering class passes
(:func:`check_registration`), so that a bad name, a class of the wrong kind or a name
taken by another class fails the same way for all; the pydantic configuration of every
component's settings class and scenario section (:data:`SETTINGS_CONFIG`); and the check
that a name is registered (:func:`one_of`).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

__all__ = ["SETTINGS_CONFIG", "check_registration", "one_of"]

SETTINGS_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)
"""Settings classes and scenario sections: unknown keys refused, frozen, finite numbers only, each
field described by the docstring under it."""


def one_of(value: str, registry: dict[str, Any]) -> str:
    """``value`` if it names an entry of ``registry``; else ValueError listing the names."""
    if value not in registry:
        valid = ", ".join(repr(k) for k in sorted(registry))
        raise ValueError(f"must be one of {valid}; got {value!r}")
    return value


def check_registration(registry: dict[str, Any], name: object, cls: object, *, base: type, what: str,
                       decorator: str) -> None:
    """Raise unless ``cls`` may register as ``name`` in ``registry``.

    ``name`` must be a non-empty string without surrounding spaces, ``cls`` a subclass of
    ``base``, and the name free or held by the same class (a module imported twice).
    ``what`` names the component in messages (``"attack kind"``), ``decorator`` the call
    (``"register_attack"``).

    Raises:
        ValueError: a bad name, or a name registered to another class.
        TypeError: ``cls`` is not a subclass of ``base``.
    """
    if not isinstance(name, str) or not name or name != name.strip():
        raise ValueError(f"a{'n' if what[0] in 'aeiou' else ''} {what} must be a non-empty name without "
                         f"surrounding spaces; got {name!r}")
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(f"{decorator}({name!r}) must decorate a{'n' if base.__name__[0] in 'AEIOU' else ''} "
                        f"{base.__name__} subclass; got {cls!r}")
    taken = registry.get(name)
    held_by = getattr(taken, "__class__", None) if taken is not None and not isinstance(taken, type) else taken
    if held_by is not None and (held_by.__module__, held_by.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"{what} {name!r} is already registered to {held_by.__module__}.{held_by.__qualname__}")
