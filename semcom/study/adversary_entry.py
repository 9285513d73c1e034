"""A scenario's ``adversary`` section: the attacks (each the settings class of its registered
``kind``), the budget sweep on one axis, the norm and the placement."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SerializeAsAny, field_validator, model_validator

from semcom.attacks.base import AttackSettings
from semcom.study.break_power_config import PSR_DB_RANGE
from semcom.study.entry_settings import LIMITS, ComponentSettingsError, Frozen, short, validated_settings

__all__ = ["AdversaryConfig", "Attack", "EpsRange", "PsrRange"]

def _registered_attack(entry: Any) -> Any:
    """An ``adversary.attacks`` entry validated by the settings class of its registered ``kind``."""
    from semcom.attacks.base import attack_kinds

    if not isinstance(entry, dict):
        return entry
    kinds = attack_kinds()
    kind = entry.get("kind")
    if kind is None:
        raise ComponentSettingsError.at("kind", "missing", "required key is missing")
    if not isinstance(kind, str) or kind not in kinds:
        valid = ", ".join(repr(k) for k in sorted(kinds))
        raise ComponentSettingsError.at("kind", "value_error", f"must be one of {valid}; got {short(kind)}")
    return validated_settings(kinds[kind], entry)


Attack = Annotated[SerializeAsAny[AttackSettings], BeforeValidator(_registered_attack)]
"""One attack entry: the settings class of its registered ``kind`` (:mod:`semcom.attacks`)."""


class EpsRange(Frozen):
    """Evenly spaced budgets from ``start`` to ``stop``."""

    start: float = Field(0.0, ge=0)
    """First value of the sweep."""
    stop: float = Field(gt=0)
    """Last value of the sweep."""
    num: int = Field(ge=2, le=LIMITS["eps_points"])
    """Values in the sweep, ``start`` and ``stop`` included."""

    def values(self) -> list[float]:
        step = (self.stop - self.start) / (self.num - 1)
        return [round(self.start + i * step, 12) for i in range(self.num)]


class PsrRange(EpsRange):
    """Evenly spaced PSRs [dB] from ``start`` to ``stop``."""

    start: float = Field(ge=PSR_DB_RANGE[0], le=PSR_DB_RANGE[1])
    """First PSR of the sweep [dB]."""
    stop: float = Field(ge=PSR_DB_RANGE[0], le=PSR_DB_RANGE[1])
    """Last PSR of the sweep [dB]."""


def _check_sweep(values: list[float], low: float, high: float, unit: str = "") -> None:
    if len(values) < 2 or len(values) > LIMITS["eps_points"]:
        raise ValueError(f"must have 2 to {LIMITS['eps_points']} values; got {len(values)}")
    if any(not math.isfinite(e) or not low <= e <= high for e in values):
        bounds = "≥ 0" if high == math.inf else f"in [{low:g}, {high:g}]{unit}"
        raise ValueError(f"must be finite and {bounds}; got {values}")
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise ValueError(f"must be strictly increasing; got {values}")


class AdversaryConfig(Frozen):
    """Attacks, their placement and the budget sweep, on exactly one axis.

    ``eps``: latent units, L2 per sample by default (``norm: linf`` as an
    option); ``psr_db``: the perturbation-to-signal power ratio per sample in
    dB (L2). ``placement``: ``in_transit`` (added to the latent before the
    channel) or ``over_the_air`` (a jammer with its own fading channel).
    """

    eps: list[float] | EpsRange | None = None
    """Budget sweep ``ε`` in latent units (a strictly increasing list, or a range); give this or ``psr_db``."""
    psr_db: list[float] | PsrRange | None = None
    """Budget sweep as perturbation-to-signal power ratios [dB] per sample (L2); give this or ``eps``."""
    norm: Literal["l2", "linf"] = "l2"
    """Norm of the budget ``‖δ‖ ≤ ε`` per sample."""
    placement: Literal["in_transit", "over_the_air"] = "in_transit"
    """``in_transit``: added to the latent before the channel; ``over_the_air``: a jammer through its own
    fading channel (docs/design.md §3, "Placement")."""
    attacks: list[Attack] = Field(min_length=1)
    """The attacks, each run at every budget; ``kind`` picks one (``semcom list`` shows them) and the
    entry's other keys are that attack's settings (below, per kind)."""

    @field_validator("eps")
    @classmethod
    def _increasing(cls, v: list[float] | EpsRange | None) -> list[float] | EpsRange | None:
        if v is not None:
            _check_sweep(v.values() if isinstance(v, EpsRange) else v, 0.0, math.inf)
        return v

    @field_validator("psr_db")
    @classmethod
    def _increasing_db(cls, v: list[float] | PsrRange | None) -> list[float] | PsrRange | None:
        if v is not None:
            _check_sweep(v.values() if isinstance(v, PsrRange) else v, *PSR_DB_RANGE, " dB")
        return v

    @model_validator(mode="after")
    def _one_axis(self) -> AdversaryConfig:
        if (self.eps is None) == (self.psr_db is None):
            got = "both" if self.eps is not None else "neither"
            raise ValueError(f"give exactly one budget sweep, `eps` or `psr_db`; got {got}")
        if self.psr_db is not None and self.norm != "l2":
            raise ValueError(
                f"`psr_db` budgets are L2 power ratios: use `norm: l2`; got {self.norm!r}"
            )
        return self

    @model_validator(mode="after")
    def _unique_labels(self) -> AdversaryConfig:
        names = [a.name for a in self.attacks]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"attack labels must be unique; {dup} repeats (set `label`)")
        return self

    @property
    def budget_axis(self) -> str:
        """``"eps"`` or ``"psr_db"``: the axis the budget sweep runs on."""
        return "eps" if self.eps is not None else "psr_db"

    @property
    def budget_values(self) -> list[float]:
        """The sweep: ε in latent units, or PSRs in dB (see :attr:`budget_axis`)."""
        sweep = self.eps if self.eps is not None else self.psr_db
        return sweep.values() if isinstance(sweep, EpsRange) else list(sweep)
