"""What every scenario entry is built from (docs/design.md §8).

Sections are frozen pydantic models that refuse unknown keys (:class:`Frozen`); a name that
must be registered is checked against its registry when validated (:func:`registered`), so
components registered after import count. A channel, defence, attack, model or data entry
names a registered component; the keys beside the name are that component's own settings,
validated by its settings class and held under ``own`` (:func:`own_settings`), and dumped
back as the flat keys the schema had before (:func:`flat_settings`), so store keys, journals
and ``results.json`` keep their form. :class:`ComponentSettingsError` carries a settings
class's first error so the scenario's message names the key below the entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from semcom.attacks.base import ATTACK_LIMITS
from semcom.data import MAX_SAMPLES
from semcom.registry import SETTINGS_CONFIG, one_of

__all__ = ["LIMITS", "ComponentSettingsError", "FlatEntry", "Frozen", "first_error", "flat_settings",
           "own_settings", "registered", "short", "split_settings", "validated_settings"]

LIMITS = {"samples": MAX_SAMPLES, "eps_points": 200, **ATTACK_LIMITS, "decoder_passes": 10**10}
"""Upper bounds that keep a scenario from exhausting a workstation (``decoder_passes``: the
whole study's work, see :meth:`Scenario.decoder_passes`)."""

class Frozen(BaseModel):
    model_config = SETTINGS_CONFIG


def registered(registry: Callable[[], dict[str, Any]]) -> AfterValidator:
    """A field check: the value is a key of ``registry()``, read when validating (so components
    registered after this module was imported count)."""
    return AfterValidator(lambda v: one_of(v, registry()))


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_OTHER_FORM = ("list_type", "none_required", "model_type")
"""Errors saying that an input is not of one form of a union (a list, None, a range)."""


def first_error(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The first error; for a key that may be a list or a range (``eps``, ``psr_db``), the
    error of the form the input has (a bad ``start`` of a range, not "should be a list")."""
    first = errors[0]
    if first["type"] in _OTHER_FORM:
        key = first["loc"][:-1]
        for err in errors[1:]:
            if err["loc"][: len(key)] == key and err["type"] not in _OTHER_FORM:
                return err
    return first


class ComponentSettingsError(ValueError):
    """A component's own settings (a channel's, an attack's, a defence's) failed validation.

    Raised inside a schema validator that dispatches on ``kind``; it keeps the
    settings model's errors so that :func:`parse_scenario` names the key below
    the entry (``channels[1].k_factor_db``), not the entry.
    """

    def __init__(self, err: ValidationError | None, model: type[BaseModel] | None = None,
                 what: str = "this kind's") -> None:
        if err is None:
            return
        first = first_error(err.errors())
        if first["type"] == "extra_forbidden" and model is not None:  # say which settings this kind takes
            takes = ", ".join(f"`{name}`" for name in model.model_fields if name != "kind") or "none"
            first = {**first, "type": "unknown_setting", "ctx": {"takes": takes, "what": what}}
        self.first = first
        super().__init__(str(first["msg"]))

    @classmethod
    def at(cls, key: str, kind: str, message: str) -> ComponentSettingsError:
        """An error about one key of the entry (e.g. an unknown ``kind``)."""
        err = cls(None)
        err.first = {"type": kind, "loc": (key,), "msg": message, "input": None, "ctx": {}}
        ValueError.__init__(err, message)
        return err


def validated_settings(model: type[BaseModel], values: Any, what: str = "this kind's") -> BaseModel:
    """``values`` validated by a component's settings ``model``; :class:`ComponentSettingsError` if bad
    (``what``: how its message names the component, e.g. ``"the tcvae variant's"``)."""
    if isinstance(values, model):
        return values
    try:
        return model.model_validate(values)
    except ValidationError as err:
        raise ComponentSettingsError(err, model, what) from None


def flat_settings(own: BaseModel, info: SerializationInfo, before: dict[str, Any]) -> dict[str, Any]:
    """A component's settings as the flat keys of its scenario entry, as a dump shows them.

    The keys of ``before`` (the flat settings of the schema before each component owned
    its settings, with their defaults there) keep the form they had: unset, they show that
    default (``None``), so store keys, journals and ``results.json`` stay identical. The
    component's other settings show their values. ``exclude_unset``, ``exclude_none`` and
    ``exclude_defaults`` apply as to any field.
    """
    values = own.model_dump(mode=info.mode)
    given = own.model_fields_set
    flat = {name: values[name] if name in given else default for name, default in before.items()}
    flat.update((name, value) for name, value in values.items() if name not in before)
    if info.exclude_unset:
        flat = {k: v for k, v in flat.items() if k in given}
    if info.exclude_none:
        flat = {k: v for k, v in flat.items() if v is not None}
    if info.exclude_defaults:
        fields = type(own).model_fields
        flat = {k: v for k, v in flat.items() if v != (before[k] if k in before else fields[k].default)}
    return flat


def own_settings(entry: Any, common: set[str], registry: dict[str, Any], default_kind: str | None) -> Any:
    """A scenario entry ``{kind, <common keys>, <the kind's settings>}`` with its settings validated by
    the settings model of the registered ``kind`` (``registry[kind].Settings``) under ``own``.

    An unknown kind is left to the ``kind`` field's own check (which names the valid kinds).
    """
    if not isinstance(entry, dict) or isinstance(entry.get("own"), BaseModel):
        return entry
    kind = entry.get("kind", default_kind)
    component = registry.get(kind) if isinstance(kind, str) else None
    return split_settings(entry, common, None if component is None else component.Settings)


def split_settings(entry: dict[str, Any], common: set[str], settings: type[BaseModel] | None,
                    what: str = "this kind's") -> dict[str, Any]:
    """``entry``'s ``common`` keys, and its other keys validated by ``settings`` under ``own``
    (only the common keys when ``settings`` is None: the entry's own check reports why)."""
    shared = {k: v for k, v in entry.items() if k in common}
    if settings is None:
        return shared
    own = {k: v for k, v in entry.items() if k not in common}
    return {**shared, "own": validated_settings(settings, own, what)}


class FlatEntry(Frozen):
    """An entry whose component's settings sit under ``own``, dumped as flat keys beside the entry's
    own keys (:func:`flat_settings`, with the subclass's :attr:`KEYS_BEFORE`), in the order
    :meth:`dump_order` gives; a subclass declares ``own`` with its settings' base class."""

    KEYS_BEFORE: ClassVar[dict[str, Any]] = {}
    """The flat settings the schema had for this entry before each component owned its settings."""

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, Any]:
        data = handler(self)
        data.pop("own", None)
        return self.dump_order({**data, **flat_settings(self.own, info, self.KEYS_BEFORE)})

    def dump_order(self, data: dict[str, Any]) -> dict[str, Any]:
        """The dump's keys in the order they have always had (default: the entry's, then its settings)."""
        return data
