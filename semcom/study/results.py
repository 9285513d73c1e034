"""A run's results as one typed object: results.json's points grouped once, by link, defence and attack.

results.json (schema 1, unchanged) lists every grid point flat, naming its link
(``model``, ``defense``, ``channel``, ``snr_db``) and its ``attack`` by the
scenario entries' names (a label, else a name made from the kind). :class:`Results`
groups those points once — ``{link: {attack: curve}}``, in the run's order — and
ties each defence and attack name to its scenario entry, so the report, its
figures and the gap tables ask for *kinds* ("the Gaussian jamming attack", "the
unhardened receiver", "the untargeted PGD attack"), never for label strings
(docs/design.md §6). Records of results.json that name a link (``aaddc``,
``equal_damage_gaps``, ``break_power``, ``latent_difference``) are grouped the
same way by :meth:`Results.by_link`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["LINK_KEYS", "Component", "Curve", "LinkKey", "LinkResults", "Results", "budget_of", "scenario_attacks",
           "scenario_defenses"]

LINK_KEYS = ("model", "defense", "channel", "snr_db")
"""The fields of a results.json point that name its link."""

UNHARDENED = "none"
"""The defence kind of the receiver as trained."""
JAMMING = "gaussian"
"""The attack kind of equal-energy Gaussian jamming, the no-intelligence reference."""
PGD = "pgd"
"""The attack kind of white-box latent PGD (untargeted without a ``target``)."""


class LinkKey(NamedTuple):
    """One link of a run: the receiver (``model``, ``defense``) over ``channel`` at ``snr_db``."""

    model: str
    defense: str
    channel: str
    snr_db: float | None

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> LinkKey:
        """The link a results.json point or record names."""
        return cls(*(record[k] for k in LINK_KEYS))


@dataclass(frozen=True)
class Component:
    """A scenario entry (an attack or a defence): its name in results.json, kind and settings."""

    name: str
    kind: str | None
    """None for a name the scenario does not list (a results.json edited by hand)."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """The entry's other keys as the resolved scenario gives them (``label`` and ``kind`` left out)."""


def budget_of(point: Mapping[str, Any]) -> float:
    """A point's value on the budget axis (``eps`` for runs written before ``budget`` existed)."""
    return point.get("budget", point["eps"])


@dataclass(frozen=True)
class Curve:
    """One attack's points on one link, in budget order."""

    attack: Component
    points: tuple[dict[str, Any], ...]

    @property
    def budgets(self) -> list[float]:
        return [budget_of(p) for p in self.points]

    def values(self, metric: str, against: str = "metrics") -> list[float]:
        """The metric per budget, against the input (``metrics``) or the clean output (``metrics_vs_clean``)."""
        return [p[against][metric] for p in self.points]


@dataclass(frozen=True)
class LinkResults:
    """A link's curves, by attack name in the run's order."""

    key: LinkKey
    defense: Component
    curves: dict[str, Curve]


@dataclass(frozen=True)
class Results:
    """results.json read once: the document itself (``doc``) and its points grouped by link and attack."""

    doc: Mapping[str, Any]
    links: dict[LinkKey, LinkResults]
    attacks: dict[str, Component]
    """Every attack of the scenario by name, in the scenario's order."""
    defenses: dict[str, Component]
    """Every defence of the resolved scenario (its controls included) by name."""

    @classmethod
    def from_points(cls, points: Sequence[Mapping[str, Any]], scenario: Mapping[str, Any],
                    budget_axis: str = "eps") -> Results:
        """The grouping of ``points`` of the resolved ``scenario`` (while results.json is being built)."""
        return cls.from_doc({"scenario": scenario, "points": list(points), "budget_axis": budget_axis})

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Results:
        """The grouping of a results.json document (as ``json.load`` gives it)."""
        attacks = {c.name: c for c in scenario_attacks(doc["scenario"])}
        defenses = {c.name: c for c in scenario_defenses(doc["scenario"])}
        grouped: dict[LinkKey, dict[str, list[dict[str, Any]]]] = {}
        for p in doc["points"]:
            grouped.setdefault(LinkKey.of(p), {}).setdefault(p["attack"], []).append(p)
        links = {
            key: LinkResults(key, defenses.get(key.defense, Component(key.defense, None)),
                             {name: Curve(attacks.get(name, Component(name, None)), tuple(pts))
                              for name, pts in by_attack.items()})
            for key, by_attack in grouped.items()
        }
        return cls(doc, links, attacks, defenses)

    @property
    def points(self) -> list[dict[str, Any]]:
        """Every point, link by link and attack by attack (each point once)."""
        return [p for link in self.links.values() for curve in link.curves.values() for p in curve.points]

    @property
    def budget_axis(self) -> str:
        """``"eps"`` or ``"psr_db"`` (runs written before the PSR axis: ``"eps"``)."""
        return self.doc.get("budget_axis", "eps")

    def attacks_of_kind(self, kind: str) -> list[str]:
        """The names of the scenario's attacks of ``kind``, in its order."""
        return [a.name for a in self.attacks.values() if a.kind == kind]

    @property
    def jamming(self) -> str | None:
        """The name of the first Gaussian-jamming attack (the reference), None without one."""
        return next(iter(self.attacks_of_kind(JAMMING)), None)

    @property
    def untargeted_pgd(self) -> str | None:
        """The name of the first untargeted PGD attack, None without one."""
        return next((a.name for a in self.attacks.values()
                     if a.kind == PGD and a.settings.get("target") is None), None)

    def is_unhardened(self, defense: str) -> bool:
        """Whether the defence named ``defense`` is the receiver as trained (kind ``none``)."""
        return self.defenses.get(defense, Component(defense, None)).kind == UNHARDENED

    def unhardened(self) -> list[str]:
        """The names of the unhardened defences (kind ``none``)."""
        return [d.name for d in self.defenses.values() if d.kind == UNHARDENED]

    @staticmethod
    def by_link(records: Iterable[Mapping[str, Any]]) -> dict[LinkKey, list[Mapping[str, Any]]]:
        """Records that name a link (``aaddc``, ``break_power``, …) grouped by it, in their order."""
        out: dict[LinkKey, list[Mapping[str, Any]]] = {}
        for r in records:
            out.setdefault(LinkKey.of(r), []).append(r)
        return out


def _components(entries: Iterable[Mapping[str, Any]], names: Iterable[str]) -> list[Component]:
    return [Component(name, e.get("kind"), {k: v for k, v in e.items() if k not in ("kind", "label")})
            for e, name in zip(entries, names, strict=True)]


def scenario_attacks(scenario: Mapping[str, Any]) -> list[Component]:
    """The scenario's attacks, named as the runner names them (the schema's ``name``)."""
    from pydantic import TypeAdapter

    from semcom.study.adversary_entry import Attack

    entries = scenario["adversary"]["attacks"]
    adapter = TypeAdapter(Attack)
    return _components(entries, [adapter.validate_python(e).name for e in entries])


def scenario_defenses(scenario: Mapping[str, Any]) -> list[Component]:
    """The resolved scenario's defences (controls included), named ``label`` or ``kind``."""
    entries = scenario["defenses"]
    return _components(entries, [e.get("label") or e["kind"] for e in entries])
