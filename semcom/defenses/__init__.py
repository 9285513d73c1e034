"""Receiver defences: how :func:`semcom.defenses.hardening.harden_receiver` fine-tunes a receiver.

A defence is a registered :class:`Defense` subclass with its own typed pydantic
``Settings`` (docs/design.md §3, "The control"). It defines the loss of each
perturbed receiver update and, where it needs one, the receiver used at
inference (e.g. a smoothed decoder). One module per defence:

* :mod:`.perturbation` — ``adversarial``, ``adversarial-multi-eps``, ``noise``
  and the control ``finetune`` (loss ``MSE(G'(z + δ), x)``, δ per kind);
* :mod:`.consistency` — ``consistency``, TRADES-style (Zhang et al. 2019);
* :mod:`.matched_pgd` — ``pgd-matched``, PGD training on the evaluated threat;
* :mod:`.smoothing` — ``smoothing``, a randomised-smoothing receiver.

Built-in defences are imported on first lookup, so importing this package is cheap.
"""

from __future__ import annotations

from semcom.defenses.base import DEFENSES, Defense, NoSettings, register_defense

__all__ = ["DEFENSES", "Defense", "NoSettings", "register_defense", "get_defense", "defense_kinds"]

_BUILTINS = ("perturbation", "consistency", "matched_pgd", "smoothing")


def _load_builtins() -> None:
    import importlib

    for name in _BUILTINS:
        importlib.import_module(f"semcom.defenses.{name}")


def get_defense(kind: str) -> type[Defense]:
    """The registered defence class of ``kind``; ValueError naming the valid kinds otherwise."""
    _load_builtins()
    if kind not in DEFENSES:
        valid = ", ".join(repr(d) for d in sorted(DEFENSES))
        raise ValueError(f"`defense` must be one of {valid}; got {kind!r}")
    return DEFENSES[kind]


def defense_kinds() -> dict[str, type[Defense]]:
    """Every registered defence by kind (built-ins included)."""
    _load_builtins()
    return dict(DEFENSES)
