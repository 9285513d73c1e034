"""Generate ``docs/scenario.md``, the scenario file reference, from the schema itself.

Every key of :class:`semcom.study.scenario.Scenario` and its nested entries, with
its type, range, default and meaning, comes from the pydantic field info
(types, ``Field`` constraints, defaults) and the attribute docstrings under
each field; the lists of valid names come from the registries (variants,
channels, data sets, metrics), and an entry chosen by ``kind`` (a channel)
gets one section per registered kind, from that kind's own settings class.
So the page cannot drift from the code: a test fails when the committed page
differs from what this module writes.

Regenerate after changing the schema or a registry::

    python -m semcom.report.docs_gen            # rewrite docs/scenario.md
    python -m semcom.report.docs_gen --check    # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from semcom.study import scenario as S

__all__ = ["render_scenario_reference", "DOC_PATH", "main"]

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "scenario.md"
"""Where the reference lives in the repository."""

_NO_MEANING = "*(no description yet)*"


def _registries() -> dict[tuple[type, str], Callable[[], Any]]:
    """Fields whose valid values are the keys of a registry."""
    from channels import CHANNELS
    from semcom.attacks.base import AttackSettings, attack_kinds, pgd_distances
    from semcom.attacks.pgd import PGDAttack
    from semcom.data import DATASETS
    from semcom.metrics.quality import METRICS
    from semcom.models import VARIANTS

    return {(S.ModelConfig, "variant"): lambda: VARIANTS,
            (S.ChannelConfig, "kind"): lambda: CHANNELS,
            (AttackSettings, "kind"): attack_kinds,
            (PGDAttack, "distance"): pgd_distances,
            (S.DataConfig, "name"): lambda: DATASETS,
            (S.Scenario, "metrics"): lambda: METRICS}


def _md(text: str) -> str:
    """A docstring as Markdown: reST roles and double backquotes become code, lines are joined."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", inspect.cleandoc(text))
    return " ".join(text.replace("``", "`").split())


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _strip_annotated(tp: Any) -> Any:
    return _args(tp)[0] if typing.get_origin(tp) is typing.Annotated else tp


def _models_in(tp: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models an annotation refers to, in order."""
    tp = _strip_annotated(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        yield tp
        return
    for arg in _args(tp):
        yield from _models_in(arg)


def _kind_tag(model: type[BaseModel]) -> str | None:
    """The ``kind`` literal of one member of a discriminated union."""
    field = model.model_fields.get("kind")
    if field is not None and typing.get_origin(field.annotation) is typing.Literal:
        values = _args(field.annotation)
        return values[0] if len(values) == 1 else None
    return None


def _anchor(title: str) -> str:
    return "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c in "-_")


def _kind_settings() -> dict[type, Callable[[], dict[str, type[BaseModel]]]]:
    """Entries whose keys beside ``kind`` (``variant``, ``source``, a data set's ``name``) are the settings
    class of the registered kind, by tag (``"kind: awgn"``, ``"variant: tcvae"``, ``"name: mnist"``)."""
    from channels import CHANNELS
    from semcom.attacks.base import AttackSettings, attack_kinds
    from semcom.data import DATASETS
    from semcom.defenses import defense_kinds
    from semcom.models import VARIANTS

    def tagged(key: str, settings: dict[str, type[BaseModel]]) -> dict[str, type[BaseModel]]:
        return {f"{key}: {kind}": cls for kind, cls in settings.items()}

    from semcom.study.model_entry import PLUGIN_SOURCES, PluginSettings

    plugins = {f"source: {', '.join(PLUGIN_SOURCES)}": PluginSettings}
    return {S.ChannelConfig: lambda: tagged("kind", {kind: cls.Settings for kind, cls in CHANNELS.items()}),
            S.DefenseConfig: lambda: tagged("kind", {kind: cls.Settings for kind, cls in defense_kinds().items()}),
            AttackSettings: lambda: tagged("kind", attack_kinds()),
            S.ModelConfig: lambda: {**tagged("variant", {n: v.Settings for n, v in VARIANTS.items()}), **plugins},
            S.DataConfig: lambda: tagged("name", dict(DATASETS))}


_OWN = "own"
"""The field under which an entry holds its kind's settings (given beside ``kind`` in YAML)."""


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """The keys of a section (an entry chosen by ``kind`` lists its kind's settings apart)."""
    dispatched = any(issubclass(model, entry) for entry in _kind_settings())
    return {name: f for name, f in model.model_fields.items() if not (dispatched and name == _OWN)}


def _sections(root: type[BaseModel]) -> list[tuple[str, type[BaseModel]]]:
    """(key path, model) of every section, depth first, in field order; an entry chosen by
    ``kind`` is followed by one section per registered kind (its settings class)."""
    out: list[tuple[str, type[BaseModel]]] = [("(top level)", root)]

    def walk(path: str, model: type[BaseModel]) -> None:
        for name, field in _fields(model).items():
            tp = field.annotation
            is_list = typing.get_origin(_strip_annotated(tp)) is list
            for sub in _models_in(tp):
                key = f"{path}.{name}" if path else name
                key += "[]" if is_list else ""
                tag = _kind_tag(sub)
                if tag is not None and len(list(_models_in(tp))) > 1:
                    key += f" (kind: {tag})"
                elif not is_list and _is_union(_strip_annotated(tp)):
                    key += f" ({sub.__name__})"
                out.append((key, sub))
                walk(key.split(" ")[0].removesuffix("[]"), sub)
                kinds = _kind_settings().get(sub)
                for tag, settings in sorted(kinds().items()) if kinds else ():
                    if _fields(settings):  # a kind without settings of its own needs no section
                        out.append((f"{key} ({tag})", settings))

    walk("", root)
    return out


def _type_text(tp: Any, links: dict[type, str]) -> str:
    tp = _strip_annotated(tp)
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[mapping](#{_anchor(links[tp])})"
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in _args(tp))
    if _is_union(tp):
        parts = [_type_text(a, links) for a in _args(tp) if a is not type(None)]
        text = " or ".join(parts)
        return text + (" or `null`" if type(None) in _args(tp) else "")
    if origin is list:
        (item,) = _args(tp)
        members = list(_models_in(item))
        kinds = _kind_settings().get(members[0]) if len(members) == 1 else None
        if kinds:
            key = links[members[0]]
            return "list of " + " / ".join(f"[{tag.partition(': ')[2]}](#{_anchor(f'{key} ({tag})')})"
                                           for tag in sorted(kinds()))
        if len(members) > 1:
            kinds = (f"[{_kind_tag(m)}](#{_anchor(links[m])})" for m in members)
            return "list of " + " / ".join(kinds)
        return f"list of {_type_text(item, links)}"
    if origin is dict:
        key, value = _args(tp)
        return f"mapping of {_type_text(key, links)} to {_type_text(value, links)}"
    if tp is typing.Any:
        return "any YAML value"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(tp, str(tp))


_BOUNDS = {at.Ge: ("ge", "≥ {}"), at.Gt: ("gt", "> {}"),
           at.Le: ("le", "≤ {}"), at.Lt: ("lt", "< {}"),
           at.MinLen: ("min_length", "at least {} item(s)"),
           at.MaxLen: ("max_length", "at most {} item(s)")}


def _range_text(field: FieldInfo) -> str:
    parts = []
    for meta in field.metadata:
        for cls, (attr, form) in _BOUNDS.items():
            if isinstance(meta, cls):
                parts.append(form.format(_number(getattr(meta, attr))))
        pattern = getattr(meta, "pattern", None)
        if pattern:
            parts.append(f"matches `{pattern}`")
    return ", ".join(parts)


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return "all defaults"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        value = [{"kind": v.kind, **v.model_dump(mode="json", exclude_defaults=True)}
                 for v in value]
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _valid_names(model: type[BaseModel], name: str) -> str:
    registries = _registries()
    registry = registries.get((model, name)) or registries.get((model.__mro__[1], name))
    if registry is None:
        return ""
    return " Valid: " + ", ".join(f"`{k}`" for k in sorted(registry())) + "."


def render_scenario_reference() -> str:
    """The Markdown text of ``docs/scenario.md``."""
    sections = _sections(S.Scenario)
    links = {model: key for key, model in reversed(sections)}
    lines = [
        "# Scenario file reference",
        "",
        "<!-- Generated by `python -m semcom.report.docs_gen` from the schema in semcom/study/; do not edit. -->",
        "",
        _md(S.__doc__ or ""),
        "",
        "A scenario is one YAML file (`semcom run FILE`, `semcom validate FILE`); see "
        "`scenarios/` for complete examples and [api.md](api.md) for plug-in models. "
        "Keys not listed here are refused. *Range* is checked on load; unset optional "
        "keys (`null`) take the behaviour their meaning describes.",
        "",
        "Sections: " + ", ".join(f"[{key}](#{_anchor(key)})" for key, _ in sections) + ".",
        "",
    ]
    for key, model in sections:
        lines += [f"## {key}", ""]
        if model.__doc__ and not model.__doc__.startswith(f"{model.__name__}("):
            lines += [_md(model.__doc__), ""]
        lines += ["| key | type | range | default | meaning |", "|---|---|---|---|---|"]
        for name, field in _fields(model).items():
            meaning = _md(field.description) if field.description else _NO_MEANING
            meaning += _valid_names(model, name)
            cells = [f"`{name}`", _type_text(field.annotation, links), _range_text(field),
                     _default_text(field), meaning]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m semcom.report.docs_gen",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    parser.add_argument("--out", type=Path, default=DOC_PATH, help=f"default: {DOC_PATH}")
    args = parser.parse_args(argv)
    text = render_scenario_reference()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != text:
            print(f"{args.out} is stale: run `python -m semcom.report.docs_gen`", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
