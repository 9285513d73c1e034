"""Every key of the scenario reference (docs/scenario.md, generated from the schema) has a description."""

from __future__ import annotations

from semcom.report.docs_gen import _NO_MEANING, render_scenario_reference


def _undescribed(text: str) -> list[tuple[str, str]]:
    """``(section, key)`` of every row of the reference whose meaning is missing."""
    out, section = [], ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:]
        elif line.startswith("| `") and _NO_MEANING in line:
            out.append((section, line.split("|")[1].strip().strip("`")))
    return out


def test_every_scenario_key_has_a_description():
    undescribed = _undescribed(render_scenario_reference())
    missing = [f"{section}: {key}" for section, key in undescribed]
    assert not missing, "scenario keys without a description (a Field description or a docstring under it): " + (
        ", ".join(missing))


def test_the_check_sees_an_undescribed_key():
    text = (f"## data (DataConfig)\n\n| key | type | meaning |\n|---|---|---|\n| `name` | text | {_NO_MEANING} |\n"
            "| `seed` | int | The seed. |")
    assert _undescribed(text) == [("data (DataConfig)", "name")]
