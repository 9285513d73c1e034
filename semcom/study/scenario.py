"""Scenario files: a typed, frozen, validated description of one study.

A scenario is a YAML file read with ``yaml.safe_load`` and validated in full
before anything is computed. Unknown keys, wrong types and out-of-range
values raise :class:`ScenarioError` whose one-line message names the file and
the key path, e.g. ``scenarios/x.yaml: adversary.attacks[1].steps: must be
≥ 1; got 0``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from semcom.data import DataConfig  # the data entry: the named data set's settings (§8)
from semcom.study.adversary_entry import AdversaryConfig
from semcom.study.break_power_config import (
    BreakPowerConfig,
    bisection_rounds,
    check_defenses,
    check_thresholds,
    covers,
    receiver_selected,
    resolved_thresholds,
)
from semcom.study.entry_settings import LIMITS, ComponentSettingsError, Frozen, first_error, registered, short
from semcom.study.link_entries import ChannelConfig, DefenseConfig
from semcom.study.model_entry import ModelConfig

__all__ = ["Scenario", "ScenarioError", "load_scenario", "parse_scenario", "LATENT_DIMS", "LIMITS"]

NOMINAL_SPLIT = 10_000
"""Images assumed for a split whose size a scenario leaves open (MNIST's test split)."""

LATENT_DIMS = {"fashion-mnist": 30, "celeba": 128}
"""Latent size of a model entry without ``latent_dim``, per data set (paper §3.1.2); else 10."""


class ScenarioError(ValueError):
    """Bad scenario input; ``str(err)`` is the one line the CLI prints."""


def _metrics() -> dict[str, Any]:
    from semcom.metrics.quality import METRICS

    return METRICS


class ReportConfig(Frozen):
    """What ``report.md`` shows besides the tables."""

    grid_samples: int = Field(6, ge=1, le=32)
    """Test images per row of the image grids."""
    grid_eps: list[float] | None = Field(None, max_length=LIMITS["eps_points"])
    """Budgets shown in the image grids (the nearest swept ε); unset: up to three spread
    over the sweep."""
    tsne: bool = False
    """Draw a t-SNE of clean vs adversarial latents per link (paper Fig. 9); about 3 s per link
    on 2 cores, so off unless asked."""
    reference_budget: float | None = Field(None, ge=-1e3, le=1e3)
    """Budget of the trade-off figure's y axis (quality under attack there; the nearest swept
    value); unset: the middle of the sweep."""
    robustness_thresholds: dict[str, float] = Field(default_factory=dict)
    """Per metric, the level whose crossing gives the hardening table's threshold budget (the
    least budget at which the metric is no better than it), overriding the defaults (SSIM 0.5,
    PSNR 15 dB, accuracy 0.5, LPIPS 0.3)."""


MetricName = Annotated[str, registered(_metrics)]


class Scenario(Frozen):
    """One study: data × models × defences × channels × SNRs × attacks × ε."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    """Name of the study and of its run folder ``runs/<name>/``; default: the file's stem.
    Letters, digits, ``_``, ``.``, ``-``."""
    description: str = ""
    """Free text, shown at the top of the report."""
    seed: int = Field(0, ge=0, le=2**31 - 1)
    """Seeds data subsets, training, hardening, attacks and channel draws."""
    data: DataConfig = DataConfig()
    """The images."""
    models: list[ModelConfig] = Field(min_length=1)
    """The autoencoders to attack."""
    defenses: list[DefenseConfig] = Field(default_factory=lambda: [DefenseConfig(kind="none")], min_length=1)
    """Receivers to attack for each model: as trained and/or hardened."""
    channels: list[ChannelConfig] = Field(default_factory=lambda: [ChannelConfig()], min_length=1)
    """Links to run each model over."""
    adversary: AdversaryConfig
    """The attacks and the budget sweep."""
    metrics: list[MetricName] = Field(default_factory=lambda: ["ssim", "psnr", "mse"], min_length=1)
    """Metrics per grid point (``semcom list`` shows them)."""
    aaddc_baselines: dict[str, float] = Field(default_factory=dict)
    """AADDC baseline per metric, overriding its default (0 for SSIM/PSNR, 1 for MSE/LPIPS)."""
    eval_batch_size: int = Field(250, ge=1, le=10_000)
    """Test images attacked at once."""
    precision: Literal["fp32", "bf16"] = "fp32"
    """Arithmetic of the attacks' and evaluations' passes: ``bf16`` autocast pays on GPUs and
    CPUs with native bf16 (``benchmarks/attack_throughput.py`` measures it)."""
    report: ReportConfig = ReportConfig()
    """Figures of the report."""
    auto_control: bool = True
    """Add each hardening defence's control (``finetune`` with its epochs, ``k``, learning rate)
    and each Algorithm 1 model's control (the same extra decoder steps, unperturbed) unless
    listed (docs/design.md §3, "The control"); ``false`` runs only what is listed."""
    replicates: int = Field(1, ge=1, le=20)
    """Re-run the whole grid this many times with seeds derived from ``seed`` and the replicate
    index (training, hardening, attacks, channel draws; the data subsets stay): tables give the
    mean ± the sample standard deviation over replicates (docs/design.md §7). Replicate 0 uses
    ``seed`` itself, so ``1`` is a plain run."""
    break_power: BreakPowerConfig = BreakPowerConfig()
    """Per image, the least budget at which each attack breaks it (docs/design.md §7)."""

    @model_validator(mode="before")
    @classmethod
    def _default_latent_dims(cls, doc: Any) -> Any:
        """Built-in models without ``latent_dim`` get the paper's size for the data set."""
        if not isinstance(doc, dict) or not isinstance(doc.get("models"), list):
            return doc
        data = doc.get("data")
        name = data.get("name") if isinstance(data, dict) else None
        name = name if isinstance(name, str) else None  # a wrong type is reported by the schema
        dim = LATENT_DIMS.get(name, ModelConfig.model_fields["latent_dim"].default)
        models = [{"latent_dim": dim, **m} if isinstance(m, dict) and m.get("source", "builtin") == "builtin"
                  else m for m in doc["models"]]
        return {**doc, "models": models}

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        unknown = sorted(set(self.aaddc_baselines) - set(self.metrics))
        if unknown:
            raise ValueError(f"`aaddc_baselines` names metrics not in `metrics`: {unknown}")
        unknown = sorted(set(self.report.robustness_thresholds) - set(self.metrics))
        if unknown:
            raise ValueError(f"`report.robustness_thresholds` names metrics not in `metrics`: {unknown}")
        for what, items in (("model", self.models), ("channel", self.channels), ("defense", self.defenses)):
            labels = [item.name for item in items]
            if len(set(labels)) != len(labels):
                raise ValueError(f"{what} labels must be unique (set `label` on repeated ones)")
        return self

    @model_validator(mode="after")
    def _digital_frames(self) -> Scenario:
        """Each digital link can carry each built-in model's latent (5G LDPC's limits, docs/design.md §7)."""
        from semcom.study.scenario_digital import check_digital_frames

        check_digital_frames(self)
        return self

    @model_validator(mode="after")
    def _bounded_work(self) -> Scenario:
        passes = self.decoder_passes()
        if passes > LIMITS["decoder_passes"]:
            raise ValueError(
                f"the study needs about {passes:.1e} decoder passes; the limit is "
                f"{LIMITS['decoder_passes']:.0e}: use fewer `data.test_samples`, `adversary.eps` "
                "values, attack `steps`, epochs or grid points, or split it into several scenarios")
        return self

    def decoder_passes(self) -> int:
        """The study's work in decoder passes (one image through the receiver, with or without
        its gradient): the sweeps (grid points × test images × budgets × the attack's passes),
        training (images × epochs), hardening (images × epochs × (1 + k·(steps + 2))) and the
        break-power bisections.
        A split of unset size counts as :data:`NOMINAL_SPLIT` images."""
        n_test = self.data.test_samples or NOMINAL_SPLIT
        n_train = self.data.train_samples or NOMINAL_SPLIT
        links = sum(len(ch.snr_db) or 1 for ch in self.channels) * len(self.models)
        runs = sum(a.passes for d in self.defenses for a in self.adversary.attacks
                   if receiver_selected(a.defenses, d.kind))
        sweeps = links * runs * n_test * len(self.adversary.budget_values)
        training = n_train * sum(m.epochs for m in self.models)
        hardening = links * n_train * sum(d.epochs * (1 + d.k * (d.steps + 2))
                                          for d in self.defenses if d.kind != "none")
        return (sweeps + training + hardening + self._break_power_passes(links, n_test)) * self.replicates

    def _break_power_passes(self, links: int, n_test: int) -> int:
        """The break-power bisections: per grid point, images × thresholds × (rounds + 1) attack runs."""
        bp = self.break_power
        if not bp.enabled or self.adversary.norm != "l2":
            return 0
        states = min(bp.samples or n_test, n_test) * len(resolved_thresholds(bp, self.metrics))
        runs = bisection_rounds(*bp.range_db, bp.tolerance_db) + 1
        per_link = sum(a.passes for d in self.defenses if covers(bp, d.kind) for a in self.adversary.attacks
                       if a.per_sample and receiver_selected(a.defenses, d.kind))
        return links * per_link * states * runs


def _check_attack_defenses(sc: Scenario) -> str | None:
    """The first of ``break_power.defenses`` and the attacks' ``defenses`` naming an absent defence kind."""
    kinds = [d.kind for d in sc.defenses]
    problems = [check_defenses(sc.break_power.defenses, kinds)] + [
        check_defenses(at.defenses, kinds, f"adversary.attacks[{i}].defenses")
        for i, at in enumerate(sc.adversary.attacks)]
    return next((p for p in problems if p), None)


def _key_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        if part in ("list[float]", "EpsRange", "PsrRange") or str(part).startswith("function-"):
            continue
        if part == "[key]":  # pydantic's marker: the mapping key itself is wrong
            path += " (key)"
            continue
        name = part if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", str(part)) else repr(part)
        path += f".{name}" if path else name  # odd user keys quoted: one line, unambiguous
    return path or "(top level)"


def _describe(err: dict[str, Any]) -> str:
    kind, ctx, got = err["type"], err.get("ctx", {}), err.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "unknown_setting":
        return f"unknown key; {ctx['what']} settings are {ctx['takes']}"
    if kind == "missing":
        return "required key is missing"
    bounds = {"greater_than_equal": "≥ {ge}", "greater_than": "> {gt}", "less_than_equal": "≤ {le}",
              "less_than": "< {lt}", "too_short": "at least {min_length} item(s)",
              "too_long": "at most {max_length} item(s)"}
    if kind in bounds:
        return f"must be {bounds[kind].format(**ctx)}; got {short(got)}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if "; got" in msg or isinstance(got, dict):  # a whole entry: the message names the key
        return msg
    return f"{msg[:1].lower()}{msg[1:]}; got {short(got)}"


def parse_scenario(doc: Any, source: str, *, default_name: str | None = None) -> Scenario:
    """Validate a loaded YAML document; errors name ``source`` and the key path.

    Only the first error is reported, as one line (the CLI's contract).
    """
    if not isinstance(doc, dict):
        raise ScenarioError(f"{source}: the scenario must be a mapping of keys; got {type(doc).__name__}")
    from semcom.models.factory_trust import load_components

    load_components()  # installed packages' attacks, channels and defences (entry points)
    if default_name and "name" not in doc:
        doc = {"name": default_name, **doc}
    try:
        sc = Scenario.model_validate(doc)
    except ValidationError as exc:
        first = first_error(exc.errors())
        while isinstance(inner := first.get("ctx", {}).get("error"), ComponentSettingsError):
            first = {**inner.first, "loc": (*first["loc"], *inner.first["loc"])}
        # a whole-scenario check may name the key itself (an error with a `key_path`)
        where = getattr(first.get("ctx", {}).get("error"), "key_path", None) or _key_path(first["loc"])
        raise ScenarioError(f"{source}: {where}: {_describe(first)}") from None
    if problem := (check_thresholds(sc.break_power, sc.metrics)
                   or _check_attack_defenses(sc)):
        raise ScenarioError(f"{source}: {problem}")
    return sc


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (``yaml.safe_load`` only)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{path}: cannot read the file ({err.__class__.__name__})") from None
    from semcom.study.yaml_bounds import yaml_bound_problem

    if problem := yaml_bound_problem(text):  # alias bombs and deep nesting, before building anything
        raise ScenarioError(f"{path}: {problem}")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise ScenarioError(f"{path}: {where}YAML syntax error: {problem}") from None
    stem = "".join(c if c.isalnum() or c in "_.-" else "_" for c in path.stem) or "scenario"
    return parse_scenario(doc, str(path), default_name=stem)
