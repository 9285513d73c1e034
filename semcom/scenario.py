"""Scenario files: a typed, frozen, validated description of one study.

A scenario is a YAML file read with ``yaml.safe_load`` and validated in full
before anything is computed. Unknown keys, wrong types and out-of-range
values raise :class:`ScenarioError` whose one-line message names the file and
the key path, e.g. ``scenarios/x.yaml: adversary.attacks[1].steps: must be
≥ 1; got 0``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = ["Scenario", "ScenarioError", "load_scenario", "parse_scenario", "LATENT_DIMS", "LIMITS"]

LIMITS = {"samples": 100_000, "eps_points": 200, "steps": 1_000, "epochs": 1_000}
"""Upper bounds that keep a scenario from exhausting a workstation."""

LATENT_DIMS = {"fashion-mnist": 30, "celeba": 128}
"""Latent size of a model entry without ``latent_dim``, per data set (paper §3.1.2); else 10."""


class ScenarioError(ValueError):
    """Bad scenario input; ``str(err)`` is the one line the CLI prints."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Frozen):
    """Which images: the embedded MNIST by default (works offline)."""

    name: str = "mnist-embedded"
    root: str | None = None
    download: bool = False
    train_samples: int | None = Field(None, ge=1, le=LIMITS["samples"])
    test_samples: int | None = Field(None, ge=1, le=LIMITS["samples"])

    @field_validator("name")
    @classmethod
    def _known_dataset(cls, v: str) -> str:
        from semcom.data import DATASETS

        return _one_of(v, DATASETS)


class AdversarialTrainingConfig(_Frozen):
    """Latent adversarial training while the model is trained (paper Algorithm 1, §3.2).

    After each regular minibatch step, ``k`` decoder-only steps on
    ``z + δ``, ``δ`` untargeted PGD at ``eps`` (``ε_train``, latent units) with
    ``steps`` iterations and distance ``1 − SSIM`` by default. ``kind`` picks
    the perturbation as for receiver hardening: ``adversarial`` (the paper),
    ``adversarial-multi-eps`` (``ε_train ~ U[0, eps]`` per batch) or ``noise``
    (Gaussian noise of the same budget: a control with the same extra decoder
    steps but no attacker).
    """

    kind: Literal["adversarial", "adversarial-multi-eps", "noise"] = "adversarial"
    eps: float = Field(gt=0, le=1e3)
    steps: int = Field(10, ge=1, le=LIMITS["steps"])
    k: int = Field(1, ge=1, le=20)
    lr: float = Field(1e-3, gt=0, le=1)
    distance: Literal["ssim", "mse"] = "ssim"


class ModelConfig(_Frozen):
    """One autoencoder to train (or load from the store) and attack."""

    label: str | None = None
    variant: str = "vae-kld"
    latent_dim: int = Field(10, ge=1, le=4096)
    weight: float | None = Field(None, ge=0)
    epochs: int = Field(20, ge=1, le=LIMITS["epochs"])
    batch_size: int = Field(64, ge=1, le=4096)
    lr: float = Field(1e-3, gt=0, le=1)
    adversarial: AdversarialTrainingConfig | None = None

    @field_validator("variant")
    @classmethod
    def _known_variant(cls, v: str) -> str:
        from semcom.models import VARIANTS

        return _one_of(v, VARIANTS)

    @property
    def name(self) -> str:
        return self.label or self.variant


class ChannelConfig(_Frozen):
    """A link: channel kind, SNRs [dB] (none for the ideal link), receiver equaliser."""

    kind: str = "ideal"
    label: str | None = None
    snr_db: list[float] = Field(default_factory=list)
    equalizer: Literal["lmmse", "zf", "none"] = "lmmse"
    block_length: int | None = Field(None, ge=1)

    @field_validator("kind")
    @classmethod
    def _known_channel(cls, v: str) -> str:
        from channels import CHANNELS

        return _one_of(v, CHANNELS)

    @field_validator("snr_db")
    @classmethod
    def _finite(cls, v: list[float]) -> list[float]:
        if not all(math.isfinite(s) and -50 <= s <= 100 for s in v):
            raise ValueError(f"must be finite values in [-50, 100] dB; got {v}")
        return v

    @model_validator(mode="after")
    def _snr_fits_kind(self) -> ChannelConfig:
        if self.kind == "ideal" and self.snr_db:
            raise ValueError("the ideal link has no noise: remove `snr_db`")
        if self.kind != "ideal" and not self.snr_db:
            raise ValueError(f"a {self.kind} link needs `snr_db` (a list of SNRs in dB)")
        return self

    @property
    def name(self) -> str:
        return self.label or self.kind


class DefenseConfig(_Frozen):
    """A receiver: as trained (``none``) or hardened by fine-tuning against perturbations.

    ``eps`` is ``ε_train`` (``ε_max`` for ``adversarial-multi-eps``), in the
    same latent units as the attack budget.
    """

    kind: Literal["none", "adversarial", "adversarial-multi-eps", "noise"]
    label: str | None = None
    eps: float | None = Field(None, gt=0, le=1e3)
    steps: int = Field(10, ge=1, le=LIMITS["steps"])
    k: int = Field(1, ge=1, le=20)
    epochs: int = Field(3, ge=1, le=LIMITS["epochs"])
    lr: float = Field(5e-4, gt=0, le=1)
    distance: Literal["ssim", "mse"] = "ssim"

    @model_validator(mode="after")
    def _eps_fits_kind(self) -> DefenseConfig:
        if self.kind == "none" and self.eps is not None:
            raise ValueError("the `none` defence takes no `eps`")
        if self.kind != "none" and self.eps is None:
            raise ValueError(f"the {self.kind} defence needs `eps` (its training budget)")
        return self

    @property
    def name(self) -> str:
        return self.label or self.kind


class PGDAttack(_Frozen):
    """Latent PGD (paper Eq. 4–6): untargeted when ``target`` is None."""

    kind: Literal["pgd"]
    label: str | None = None
    target: Literal["black", "white", "inverted", "prior"] | None = None
    distance: Literal["mse", "ssim", "lpips"] = "mse"
    steps: int = Field(10, ge=1, le=LIMITS["steps"])
    alpha_factor: float = Field(2.5, gt=0, le=100)
    random_start: bool = False

    @property
    def name(self) -> str:
        return self.label or f"pgd-{self.target or 'untargeted'}"


class GaussianAttack(_Frozen):
    """Equal-power Gaussian jamming: the no-intelligence reference."""

    kind: Literal["gaussian"]
    label: str | None = None

    @property
    def name(self) -> str:
        return self.label or "gaussian"


Attack = Annotated[PGDAttack | GaussianAttack, Field(discriminator="kind")]
_ATTACK_TAGS = {"pgd", "gaussian"}


class EpsRange(_Frozen):
    start: float = Field(0.0, ge=0)
    stop: float = Field(gt=0)
    num: int = Field(ge=2, le=LIMITS["eps_points"])

    def values(self) -> list[float]:
        step = (self.stop - self.start) / (self.num - 1)
        return [round(self.start + i * step, 12) for i in range(self.num)]


class AdversaryConfig(_Frozen):
    """Attacks and the budget sweep ``ε`` (latent units, L2 per sample by default)."""

    eps: list[float] | EpsRange
    norm: Literal["l2", "linf"] = "l2"
    attacks: list[Attack] = Field(min_length=1)

    @field_validator("eps")
    @classmethod
    def _increasing(cls, v: list[float] | EpsRange) -> list[float] | EpsRange:
        values = v.values() if isinstance(v, EpsRange) else v
        if len(values) < 2 or len(values) > LIMITS["eps_points"]:
            raise ValueError(f"must have 2 to {LIMITS['eps_points']} values; got {len(values)}")
        if any(not math.isfinite(e) or e < 0 for e in values):
            raise ValueError(f"must be finite and ≥ 0; got {values}")
        if any(b <= a for a, b in zip(values, values[1:], strict=False)):
            raise ValueError(f"must be strictly increasing; got {values}")
        return v

    @model_validator(mode="after")
    def _unique_labels(self) -> AdversaryConfig:
        names = [a.name for a in self.attacks]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"attack labels must be unique; {dup} repeats (set `label`)")
        return self

    @property
    def eps_values(self) -> list[float]:
        return self.eps.values() if isinstance(self.eps, EpsRange) else list(self.eps)


class ReportConfig(_Frozen):
    grid_samples: int = Field(6, ge=1, le=32)
    grid_eps: list[float] | None = None


def _known_metric(name: str) -> str:
    from semcom.metrics import METRICS

    return _one_of(name, METRICS)


MetricName = Annotated[str, AfterValidator(_known_metric)]


class Scenario(_Frozen):
    """One study: data × models × defences × channels × SNRs × attacks × ε."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    description: str = ""
    seed: int = Field(0, ge=0, le=2**31 - 1)
    data: DataConfig = DataConfig()
    models: list[ModelConfig] = Field(min_length=1)
    defenses: list[DefenseConfig] = Field(default_factory=lambda: [DefenseConfig(kind="none")], min_length=1)
    channels: list[ChannelConfig] = Field(default_factory=lambda: [ChannelConfig()], min_length=1)
    adversary: AdversaryConfig
    metrics: list[MetricName] = Field(default_factory=lambda: ["ssim", "psnr", "mse"], min_length=1)
    aaddc_baselines: dict[str, float] = Field(default_factory=dict)
    eval_batch_size: int = Field(250, ge=1, le=10_000)
    report: ReportConfig = ReportConfig()

    @model_validator(mode="before")
    @classmethod
    def _default_latent_dims(cls, doc: Any) -> Any:
        """Models without ``latent_dim`` get the paper's size for the data set."""
        if not isinstance(doc, dict) or not isinstance(doc.get("models"), list):
            return doc
        data = doc.get("data")
        name = data.get("name") if isinstance(data, dict) else None
        dim = LATENT_DIMS.get(name, ModelConfig.model_fields["latent_dim"].default)
        models = [{"latent_dim": dim, **m} if isinstance(m, dict) else m for m in doc["models"]]
        return {**doc, "models": models}

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        unknown = sorted(set(self.aaddc_baselines) - set(self.metrics))
        if unknown:
            raise ValueError(f"`aaddc_baselines` names metrics not in `metrics`: {unknown}")
        for what, items in (("model", self.models), ("channel", self.channels), ("defense", self.defenses)):
            labels = [item.name for item in items]
            if len(set(labels)) != len(labels):
                raise ValueError(f"{what} labels must be unique (set `label` on repeated ones)")
        return self


def _one_of(value: str, registry: dict) -> str:
    if value not in registry:
        valid = ", ".join(repr(k) for k in sorted(registry))
        raise ValueError(f"must be one of {valid}; got {value!r}")
    return value


def _key_path(loc: tuple[Any, ...]) -> str:
    path = ""
    prev_index = False
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            prev_index = True
            continue
        if prev_index and part in _ATTACK_TAGS:  # pydantic's discriminated-union tag
            prev_index = False
            continue
        if part in ("list[float]", "EpsRange") or str(part).startswith("function-"):
            continue
        path += f".{part}" if path else str(part)
        prev_index = False
    return path or "(top level)"


def _describe(err: dict[str, Any]) -> str:
    kind, ctx, got = err["type"], err.get("ctx", {}), err.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        return f"`kind` must be one of {ctx.get('expected_tags')}; got {ctx.get('tag')!r}"
    if kind == "union_tag_not_found":
        return "`kind` is required"
    bounds = {"greater_than_equal": "≥ {ge}", "greater_than": "> {gt}", "less_than_equal": "≤ {le}",
              "less_than": "< {lt}", "too_short": "at least {min_length} item(s)",
              "too_long": "at most {max_length} item(s)"}
    if kind in bounds:
        return f"must be {bounds[kind].format(**ctx)}; got {_short(got)}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return msg if "; got" in msg else f"{msg[:1].lower()}{msg[1:]}; got {_short(got)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_scenario(doc: Any, source: str, *, default_name: str | None = None) -> Scenario:
    """Validate a loaded YAML document; errors name ``source`` and the key path.

    Only the first error is reported, as one line (the CLI's contract).
    """
    if not isinstance(doc, dict):
        raise ScenarioError(f"{source}: the scenario must be a mapping of keys; got {type(doc).__name__}")
    if default_name and "name" not in doc:
        doc = {"name": default_name, **doc}
    try:
        return Scenario.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ScenarioError(f"{source}: {_key_path(first['loc'])}: {_describe(first)}") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (``yaml.safe_load`` only)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{path}: cannot read the file ({err.__class__.__name__})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise ScenarioError(f"{path}: {where}YAML syntax error: {problem}") from None
    stem = "".join(c if c.isalnum() or c in "_.-" else "_" for c in path.stem) or "scenario"
    return parse_scenario(doc, str(path), default_name=stem)
