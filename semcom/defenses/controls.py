"""The control of every hardened receiver, added to a scenario automatically (docs/design.md §3).

A defence's gain is only what it adds over the same fine-tuning with no
perturbation (``kind: finetune``): same data, epochs, optimizer steps,
learning rate and channel in the loop. :func:`with_controls` adds one
``finetune`` defence per distinct fine-tuning setting (:data:`SETTINGS`) of the
scenario's hardening defences, unless the scenario lists a ``finetune`` with
that setting; a model entry trained with paper Algorithm 1 (``adversarial:``)
gets the same model trained with the same extra decoder steps, unperturbed
(``adversarial.kind: finetune``). ``auto_control: false`` turns this off.

:func:`comparisons` pairs every hardened receiver of a (resolved) scenario with
its control and its unhardened baseline by *kind and settings*, never by label,
so a defence registered later (``semcom.defenses.hardening.DEFENSES``) is paired the same way.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

__all__ = ["CONTROL", "UNHARDENED", "SETTINGS", "ALGORITHM1_SETTINGS", "with_controls", "comparisons"]

CONTROL = "finetune"
"""The control's defence kind."""
UNHARDENED = "none"
"""The receiver as trained."""
SETTINGS = ("epochs", "k", "lr", "batch_size")
"""The fine-tuning settings that fix a defence's optimizer steps (those its schema has)."""
ALGORITHM1_SETTINGS = ("k", "lr")
"""The settings of paper Algorithm 1's extra decoder steps that its control shares."""
_NOT_HARDENED = (UNHARDENED, CONTROL)


def _setting(d: dict[str, Any]) -> tuple:
    return tuple(d.get(name) for name in SETTINGS)


def _algorithm1_base(m: dict[str, Any]) -> dict[str, Any]:
    """A model entry without its label and Algorithm 1's perturbation: what its control shares."""
    adv = m.get("adversarial")
    rest = {k: v for k, v in m.items() if k not in ("label", "adversarial")}
    return {**rest, "adversarial": None if adv is None else {k: adv.get(k) for k in ALGORITHM1_SETTINGS}}


def _free_label(wanted: str, taken: set[str]) -> str:
    label, i = wanted, 2
    while label in taken:
        label, i = f"{wanted}-{i}", i + 1
    return label


def _control_label(setting: tuple, many: bool) -> str:
    if not many:
        return "control"
    return "control-" + "-".join(f"{name}{value:g}" if isinstance(value, float) else f"{name}{value}"
                                 for name, value in zip(SETTINGS, setting, strict=True) if value is not None)


def _defense_controls(defenses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``finetune`` defence entries the listed ones lack, one per distinct setting."""
    fields = [n for n in SETTINGS if any(n in d for d in defenses)]
    have = {_setting(d) for d in defenses if d["kind"] == CONTROL}
    needed = list(dict.fromkeys(_setting(d) for d in defenses if d["kind"] not in _NOT_HARDENED))
    missing = [s for s in needed if s not in have]
    taken = {d.get("label") or d["kind"] for d in defenses}
    added = []
    for setting in missing:
        label = _free_label(_control_label(setting, len(needed) > 1), taken)
        taken.add(label)
        entry = {"kind": CONTROL, "label": label}
        entry.update({n: v for n, v in zip(SETTINGS, setting, strict=True) if n in fields})
        added.append(entry)
    return added


def _model_name(m: dict[str, Any]) -> str:
    """A model entry's report name, as :attr:`semcom.study.model_entry.ModelConfig.name` gives it."""
    if m.get("label"):
        return m["label"]
    source = m.get("source", "builtin")
    if source == "builtin":
        return m.get("variant", "vae-kld")
    return m["factory"] if source == "python" else PurePath(m["encoder"]).stem


def _model_controls(full: list[dict[str, Any]], given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Algorithm 1 control model entries the listed ones lack (``full``: the entries with
    defaults, for matching; ``given``: the same entries as written, to copy)."""
    have = [_algorithm1_base(m) for m in full if (m.get("adversarial") or {}).get("kind") == CONTROL]
    taken = {_model_name(m) for m in full}
    added = []
    for m, written in zip(full, given, strict=True):
        adv = m.get("adversarial")
        if adv is None or adv["kind"] == CONTROL or _algorithm1_base(m) in have:
            continue
        label = _free_label(f"{_model_name(m)}-control", taken)
        taken.add(label)
        control = {**written, "label": label,
                   "adversarial": {**{k: adv[k] for k in ALGORITHM1_SETTINGS}, "kind": CONTROL}}
        have.append(_algorithm1_base({**m, **control}))
        added.append(control)
    return added


def with_controls(sc):
    """``sc`` (a :class:`semcom.study.scenario.Scenario`) with the controls it lacks appended.

    Returns ``sc`` itself when nothing is missing or ``auto_control`` is off, so a scenario
    without hardening runs exactly as before. The added entries are validated like any other.
    """
    if not getattr(sc, "auto_control", True):
        return sc
    more_defenses = _defense_controls([d.model_dump(mode="json") for d in sc.defenses])
    more_models = _model_controls([m.model_dump(mode="json") for m in sc.models],
                                  [m.model_dump(mode="json", exclude_unset=True) for m in sc.models])
    if not more_defenses and not more_models:
        return sc
    doc = sc.model_dump(mode="json", exclude_unset=True)
    doc["defenses"] = [d.model_dump(mode="json", exclude_unset=True) for d in sc.defenses] + more_defenses
    doc["models"] = [m.model_dump(mode="json", exclude_unset=True) for m in sc.models] + more_models
    from semcom.study.scenario import parse_scenario

    return parse_scenario(doc, f"{sc.name} (with its added controls)")


def comparisons(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    """Every hardened receiver of a resolved scenario (``results.json``'s ``scenario``) with its
    control and its unhardened baseline.

    Each record: ``hardened``, ``control`` and ``baseline`` as ``{"model", "defense"}`` labels
    (``control``/``baseline`` None when the scenario has none), ``kind`` (the defence kind, or
    ``algorithm1:<kind>`` for a model trained with paper Algorithm 1) and ``config`` (the
    defence's or Algorithm 1's settings).
    """
    defenses = scenario["defenses"]
    models = scenario["models"]
    out = []
    plain = [d for d in defenses if d["kind"] == UNHARDENED]
    for m in models:
        name = _model_name(m)
        for d in defenses:
            if d["kind"] in _NOT_HARDENED:
                continue
            ctrl = next((c for c in defenses if c["kind"] == CONTROL and _setting(c) == _setting(d)), None)
            out.append({"hardened": {"model": name, "defense": _label(d)}, "kind": d["kind"], "config": d,
                        "control": None if ctrl is None else {"model": name, "defense": _label(ctrl)},
                        "baseline": {"model": name, "defense": _label(plain[0])} if plain else None})
    for m in models:
        adv = m.get("adversarial")
        if adv is None or adv["kind"] == CONTROL:
            continue
        base = _algorithm1_base(m)
        ctrl = next((c for c in models if (c.get("adversarial") or {}).get("kind") == CONTROL
                     and _algorithm1_base(c) == base), None)
        regular = next((r for r in models if r.get("adversarial") is None
                        and _algorithm1_base(r) == {**base, "adversarial": None}), None)
        for d in plain:
            out.append({"hardened": {"model": _model_name(m), "defense": _label(d)},
                        "kind": f"algorithm1:{adv['kind']}", "config": adv,
                        "control": None if ctrl is None else {"model": _model_name(ctrl), "defense": _label(d)},
                        "baseline": None if regular is None else {"model": _model_name(regular), "defense": _label(d)}})
    return out


def _label(d: dict[str, Any]) -> str:
    return d.get("label") or d["kind"]
