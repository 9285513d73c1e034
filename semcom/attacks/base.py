"""The attack interface: a registered pydantic class holding an attack's settings and its behaviour.

An attack kind is one class, in its own file, derived from :class:`AttackSettings`
and registered with :func:`register_attack`. Its fields are the settings a
scenario's ``adversary.attacks`` entry of that ``kind`` takes (types, ranges, a
docstring per field); its :meth:`~AttackSettings.perturb_within` is what the
attack does to a batch of transmitted signals on a :class:`semcom.attacks.threats.Threat`
(docs/design.md §3). The scenario schema, ``semcom list``, ``docs/scenario.md``
and the sweep read the registry, so adding an attack is one new file (§8).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

from pydantic import AfterValidator, BaseModel

from semcom.registry import SETTINGS_CONFIG, check_registration

if TYPE_CHECKING:
    import torch

__all__ = ["ATTACKS", "ATTACK_LIMITS", "CLASS_TARGET", "AttackSettings", "DistanceName", "Perturbation",
           "TargetName", "attack_kinds", "get_attack", "make_attack", "pgd_distances", "register_attack"]

ATTACK_LIMITS = {"steps": 1_000, "epochs": 1_000, "eot": 64}
"""Upper bounds of the attacks' work settings (part of :data:`semcom.study.entry_settings.LIMITS`)."""

CLASS_TARGET = "class:"
"""Prefix of the targets ``class:<k>`` (a reconstruction of class ``k``)."""

ATTACKS: dict[str, type[AttackSettings]] = {}
"""Attack classes by kind (the built-ins are loaded by :func:`attack_kinds`)."""

_BUILTINS = ("pgd", "blackbox", "universal", "gaussian")


@dataclass(frozen=True)
class Perturbation:
    """One attack's output on a batch.

    Attributes:
        delta: ``δ [B, k]`` in latent units (for the universal attack, one
            ``δ_u [k]`` expanded over the batch: the same tensor for all).
        eps: the latent L2 (or L∞) budget ``ε_b [B]`` it was made under.
        queries: receiver queries per sample of a query-only attack, else None.
    """

    delta: torch.Tensor
    eps: torch.Tensor
    queries: int | None = None


def _known_target(name: str) -> str:
    """A target of :data:`adversary.TARGETS`, or ``class:<k>`` (a reconstruction of class k)."""
    from adversary import TARGETS

    if name.startswith(CLASS_TARGET):
        k = name.removeprefix(CLASS_TARGET)
        if not (k.isdigit() and int(k) < 10_000):
            raise ValueError(f"`class:<k>` needs a class index k ≥ 0, e.g. 'class:3'; got {name!r}")
        return name
    if name not in TARGETS:
        valid = ", ".join(repr(k) for k in sorted(TARGETS))
        raise ValueError(f"must be one of {valid} or 'class:<k>'; got {name!r}")
    return name


TargetName = Annotated[str, AfterValidator(_known_target)]
"""A target of a targeted attack (``semcom list`` shows them)."""


def pgd_distances() -> dict[str, Any]:
    """The distances PGD may maximise: :data:`adversary.DISTANCES` with semcom's ``lpips`` registered.

    Importing :mod:`semcom.metrics.perceptual` registers ``lpips`` (its weights load only when it is
    first computed), so the answer does not depend on what was imported before.
    """
    import semcom.metrics.perceptual  # noqa: F401  (registers "lpips")
    from adversary import DISTANCES

    return dict(DISTANCES)


def _known_distance(name: str) -> str:
    valid = pgd_distances()
    if name not in valid:
        raise ValueError(f"must be one of {', '.join(repr(d) for d in sorted(valid))}; got {name!r}")
    return name


DistanceName = Annotated[str, AfterValidator(_known_distance)]
"""A distance of :func:`pgd_distances` (``semcom list`` shows them)."""


class AttackSettings(BaseModel):
    """Settings every attack shares: ``kind`` (its registered name) and a ``label`` (default: a name
    from kind and target). Subclasses add their own fields and implement :meth:`perturb_within`."""

    model_config = SETTINGS_CONFIG

    description: ClassVar[str] = ""
    """One line for ``semcom list``."""
    per_sample: ClassVar[bool] = True
    """Whether the attack takes one budget per sample (False: one perturbation for every sample)."""
    jamming: ClassVar[bool] = False
    """Whether the attack is the no-intelligence reference the others are compared with (equal-damage gaps)."""

    kind: str
    """The attack (``semcom list`` shows them)."""
    label: str | None = None
    """Name in reports (default: the kind and the target, e.g. ``pgd-untargeted``)."""
    defenses: list[str] | None = None
    """Defence kinds whose receivers this attack is run on, e.g. ``[none]``: the receivers as trained
    only (a smoothed receiver costs ``draws`` times as much per attack run); a hardened kind brings its
    control (``finetune``) with it. Each must be the kind of one of the scenario's ``defenses``.
    Unset: every receiver. Which points exist, not their numbers: not part of a point's key."""

    @property
    def name(self) -> str:
        target = getattr(self, "target", None)
        return self.label or f"{self.kind}-{target or 'untargeted'}"

    @property
    def passes(self) -> int:
        """Receiver passes per test image and budget (the evaluation's one included)."""
        return 1

    def perturb(self, threat: Any, z: torch.Tensor, clean: torch.Tensor, value: float,
                gen: torch.Generator) -> Perturbation:
        """The attack on the transmitted signal ``z [B, d]`` at the sweep value ``value`` (a budget on
        ``threat.budget_axis``); by default :meth:`perturb_within` at each sample's budget."""
        return self.perturb_within(threat, z, clean, threat.budget(value, z), gen)

    def perturb_within(self, threat: Any, z: torch.Tensor, clean: torch.Tensor, eps: torch.Tensor,
                       gen: torch.Generator) -> Perturbation:
        """The attack on ``z [B, d]`` under per-sample latent budgets ``eps [B]``, on ``threat``
        (a :class:`semcom.attacks.threats.Threat`: the link, placement, norm, reference and budget helpers)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `perturb_within`")


A = TypeVar("A", bound=type[AttackSettings])


def register_attack(kind: str):
    """Class decorator: register an :class:`AttackSettings` subclass as attack ``kind``.

    Registering another class under a taken kind is an error; re-registering the same class
    (a module imported twice) is not.
    """

    def decorate(cls: A) -> A:
        check_registration(ATTACKS, kind, cls, base=AttackSettings, what="attack kind", decorator="register_attack")
        ATTACKS[kind] = cls
        return cls

    return decorate


def attack_kinds() -> dict[str, type[AttackSettings]]:
    """Every registered attack by kind (the built-ins included)."""
    for name in _BUILTINS:
        importlib.import_module(f"semcom.attacks.{name}")
    return dict(ATTACKS)


def get_attack(kind: str) -> type[AttackSettings]:
    """The registered attack class of ``kind``; ValueError naming the valid kinds otherwise."""
    kinds = attack_kinds()
    if kind not in kinds:
        raise ValueError(f"must be one of {', '.join(repr(k) for k in sorted(kinds))}; got {kind!r}")
    return kinds[kind]


def make_attack(kind: str, **settings: Any) -> AttackSettings:
    """A validated attack of ``kind`` with ``settings`` (e.g. ``make_attack("pgd", steps=5)``)."""
    return get_attack(kind).model_validate({"kind": kind, **settings})
