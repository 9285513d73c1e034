"""Scenario files: a typed, frozen, validated description of one study.

A scenario is a YAML file read with ``yaml.safe_load`` and validated in full
before anything is computed. Unknown keys, wrong types and out-of-range
values raise :class:`ScenarioError` whose one-line message names the file and
the key path, e.g. ``scenarios/x.yaml: adversary.attacks[1].steps: must be
≥ 1; got 0``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializeAsAny,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from channels import ChannelSettings
from semcom.attacks.base import ATTACK_LIMITS, AttackSettings
from semcom.data import MAX_SAMPLES, DataConfig  # the data entry: the named data set's settings (§8)
from semcom.study.break_power_config import (
    PSR_DB_RANGE,
    BreakPowerConfig,
    bisection_rounds,
    check_defenses,
    check_thresholds,
    covers,
    receiver_selected,
    resolved_thresholds,
)

__all__ = ["Scenario", "ScenarioError", "load_scenario", "parse_scenario", "LATENT_DIMS", "LIMITS"]

LIMITS = {"samples": MAX_SAMPLES, "eps_points": 200, **ATTACK_LIMITS, "decoder_passes": 10**10}
"""Upper bounds that keep a scenario from exhausting a workstation (``decoder_passes``: the
whole study's work, see :meth:`Scenario.decoder_passes`)."""

NOMINAL_SPLIT = 10_000
"""Images assumed for a split whose size a scenario leaves open (MNIST's test split)."""

LATENT_DIMS = {"fashion-mnist": 30, "celeba": 128}
"""Latent size of a model entry without ``latent_dim``, per data set (paper §3.1.2); else 10."""


class ScenarioError(ValueError):
    """Bad scenario input; ``str(err)`` is the one line the CLI prints."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)


def _registered(registry: Callable[[], dict[str, Any]]) -> AfterValidator:
    """A field check: the value is a key of ``registry()``, read when validating (so components
    registered after this module was imported count)."""
    return AfterValidator(lambda v: _one_of(v, registry()))


def _variants() -> dict[str, Any]:
    from semcom.models import VARIANTS

    return VARIANTS


def _channels() -> dict[str, Any]:
    from channels import CHANNELS

    return CHANNELS


def _training_defenses() -> dict[str, Any]:
    """The defences a model's ``adversarial`` (paper Algorithm 1, during training) may use."""
    from semcom.defenses import defense_kinds

    return {k: d for k, d in defense_kinds().items() if d.in_training}


def _metrics() -> dict[str, Any]:
    from semcom.metrics.quality import METRICS

    return METRICS


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

    kind: Annotated[str, _registered(_training_defenses)] = "adversarial"
    """The perturbation: a defence usable during training (``semcom list`` shows the defences)."""
    eps: float | None = Field(None, gt=0, le=1e3)
    """Training budget ``ε_train``; required unless ``kind`` is ``finetune`` (the control:
    the same extra decoder steps, unperturbed), which takes none."""
    steps: int = Field(10, ge=1, le=LIMITS["steps"])
    """PGD steps per perturbation."""
    k: int = Field(1, ge=1, le=20)
    """Decoder-only steps on perturbed latents after each regular minibatch step."""
    lr: float = Field(1e-3, gt=0, le=1)
    """Adam learning rate of the decoder-only steps."""
    distance: Literal["ssim", "mse"] = "ssim"
    """Distance the training attack maximises (``ssim`` means ``1 − SSIM``)."""

    def hardening(self, seed: int):
        """The :class:`semcom.defenses.hardening.HardeningConfig` of Algorithm 1's decoder steps
        (its fields are the model's store key: docs/design.md §7)."""
        from semcom.defenses.hardening import hardening_of_entry

        return hardening_of_entry(self, seed)

    @model_validator(mode="after")
    def _eps_fits_kind(self) -> AdversarialTrainingConfig:
        if self.kind == "finetune" and self.eps is not None:
            raise ValueError("the `finetune` control takes no `eps`")
        if self.kind != "finetune" and self.eps is None:
            raise ValueError(f"`adversarial` of kind {self.kind} needs `eps` (its training budget)")
        return self


class PluginSettings(_Frozen):
    """The settings a plug-in model entry (``source`` python, exported or torchscript) gives beside its source."""

    weight: float | None = Field(None, ge=0)
    """Trained plug-ins: weight of the ``regularizer`` (default 1 for ``kld``, 100 for ``mmd``/``swt``)."""
    power: Literal["sigma_z", "per_image"] = "sigma_z"
    """The transmitter's power normalisation (docs/design.md §7): ``sigma_z``, the fixed ``√2·σ_z`` of the
    latents, or ``per_image`` (each image's symbols have average power 1). Recorded with the model and
    shown in the report."""


class ModelConfig(_Frozen):
    """One autoencoder to attack: a built-in variant, or a plug-in model of yours.

    Built-in models (``source: builtin``) are trained by semcom, or loaded from
    the model store when the same config was trained before. Plug-in models
    (``source: python``, ``exported`` or ``torchscript``) are used as given,
    unless their entry gives training settings (``epochs``, ``batch_size``,
    ``lr``, ``loss``, ``regularizer``, ``weight``, ``train_channel``,
    ``early_stopping``): then semcom trains (a factory's fresh modules) or
    fine-tunes them like a built-in model and stores the result. ``variant`` and
    ``adversarial`` are for built-in models only. Their receivers can be hardened
    (``defenses``). See ``docs/api.md``. The remaining keys are the settings of the
    variant (its ``Settings`` class in :mod:`semcom.models.variants`, listed below per
    variant), or a plug-in's (``weight``, ``power``).
    """

    label: str | None = None
    """Name in reports (default: the variant, the factory or the encoder file's stem)."""
    source: Literal["builtin", "python", "exported", "torchscript"] = "builtin"
    """Where the model comes from: ``builtin`` trains ``variant``; ``python`` calls
    ``factory``; ``exported`` loads ``encoder``/``decoder`` saved with
    ``torch.export.save`` (``.pt2``); ``torchscript`` loads them with ``torch.jit.load``."""
    variant: Annotated[str, _registered(_variants)] = "vae-kld"
    """Built-in model family (``semcom list`` shows them)."""
    latent_dim: int = Field(10, ge=1, le=4096)
    """Latent size ``k``. Plug-ins: inferred from the encoder's output, checked when given."""
    epochs: int = Field(20, ge=1, le=LIMITS["epochs"])
    """Training epochs (a plug-in is trained only when a training setting is given)."""
    batch_size: int = Field(64, ge=1, le=4096)
    """Training minibatch size."""
    lr: float = Field(1e-3, gt=0, le=1)
    """Adam learning rate."""
    factory: str | None = None
    """``python`` source: ``"package.module:function"`` returning ``(encoder, decoder)``
    torch modules, optionally plus a metadata dict (``latent_dim``, ``image_shape``,
    ``encoder_output``). The module must be importable (the working folder is searched too) and
    the function marked ``@semcom.factory`` (or registered as a ``semcom.factories`` entry point):
    anything else is refused before its module is imported. Naming a factory runs that package's code."""
    factory_kwargs: dict[str, Any] = Field(default_factory=dict)
    """``python`` source: keyword arguments passed to the factory (plain YAML values)."""
    encoder: str | None = None
    """``exported``/``torchscript`` source: path of the encoder file (relative to the
    working folder)."""
    decoder: str | None = None
    """``exported``/``torchscript`` source: path of the decoder file (the receiver; hardenable)."""
    encoder_output: Literal["latent", "posterior"] | None = None
    """Plug-ins: what the encoder returns: ``latent`` (``z [B, k]``) or ``posterior``
    (a VAE's ``(mean, logvar)`` pair, or one ``[B, 2k]`` tensor with the mean first;
    the mean is transmitted). Default: the factory's metadata, else ``latent``."""
    adversarial: AdversarialTrainingConfig | None = None
    """Built-in only: latent adversarial training during training (paper Algorithm 1)."""
    train_channel: TrainChannelConfig | None = None
    """Train through this channel, end to end (docs/design.md §7); unset: no channel in training."""
    early_stopping: EarlyStoppingConfig | None = None
    """Hold out a validation share, show its loss per epoch and stop training when it stops
    improving (the best epoch's weights are kept); unset: train all ``epochs``."""
    loss: Literal["sse", "mse", "l1"] | None = None
    """Trained ``python`` plug-ins: reconstruction loss, ``sse`` (squared error summed over
    pixels, the built-in models' loss; default), ``mse`` (mean) or ``l1`` (mean absolute)."""
    regularizer: Literal["none", "kld", "mmd", "swt"] | None = None
    """Trained ``python`` plug-ins: latent regulariser with weight ``weight`` (default 1 for
    ``kld``, 100 for ``mmd``/``swt``): KL to N(0, I) needs a ``posterior`` encoder; MMD and
    Shapiro–Wilk act on the (sampled) latent. Default ``none``."""
    own: SerializeAsAny[BaseModel]
    """The variant's own settings (its registered ``Settings`` class), or a plug-in's
    (:class:`PluginSettings`), given beside ``variant``."""

    @model_validator(mode="before")
    @classmethod
    def _variant_settings(cls, entry: Any) -> Any:
        if not isinstance(entry, dict) or isinstance(entry.get("own"), BaseModel):
            return entry
        settings, what = _model_settings(entry)
        return _split_settings(entry, set(cls.model_fields) - {"own"}, settings, what)

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, Any]:
        data = handler(self)
        data.pop("own", None)
        data.update(flat_settings(self.own, info, _MODEL_KEYS_BEFORE))
        order = _model_key_order()  # each flat key where the one flat schema had it; new settings last
        return dict(sorted(data.items(), key=lambda item: order.get(item[0], len(order))))

    @field_validator("factory")
    @classmethod
    def _factory_path(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", v):
            raise ValueError(f"must be \"package.module:function\"; got {v!r}")
        return v

    @field_validator("encoder", "decoder")
    @classmethod
    def _file_exists(cls, v: str | None) -> str | None:
        if v is not None and not Path(v).is_file():
            raise ValueError(f"no such file {v!r} (relative paths start at {Path.cwd()})")
        return v

    @model_validator(mode="after")
    def _keys_fit_source(self) -> ModelConfig:
        given = self.given
        plugin_keys = {"python": {"factory", "factory_kwargs"}, "files": {"encoder", "decoder"}}
        if self.source == "builtin":
            wrong = sorted(given & {*plugin_keys["python"], *plugin_keys["files"],
                                    "encoder_output", "loss", "regularizer"})
            if wrong:
                raise ValueError(f"`{wrong[0]}` is for plug-in models; set `source` to python, "
                                 "exported or torchscript")
            return self
        builtin_only = sorted(given & set(_BUILTIN_ONLY_KEYS))
        if builtin_only:
            raise ValueError(f"`{builtin_only[0]}` applies to built-in models only")
        own, other = ("python", "files") if self.source == "python" else ("files", "python")
        wrong = sorted(given & plugin_keys[other])
        if wrong:
            raise ValueError(f"`{wrong[0]}` does not apply to a {self.source} model")
        missing = [k for k in sorted(plugin_keys[own]) if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.source} model needs `{missing[0]}`")
        return self

    @property
    def given(self) -> set[str]:
        """The keys this entry gives, its variant's (or plug-in's) settings among them."""
        return (self.model_fields_set - {"own"}) | self.own.model_fields_set

    def settings(self) -> dict[str, Any]:
        """The variant's (or plug-in's) settings this entry gives, e.g. ``{"weight": 50.0}``."""
        return self.own.model_dump(include=self.own.model_fields_set)

    @property
    def trained(self) -> bool:
        """Whether semcom trains this model: a built-in, or a plug-in with training settings."""
        return self.source == "builtin" or bool(self.given & set(PLUGIN_TRAINING_KEYS))

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if self.source == "builtin":
            return self.variant
        return self.factory if self.source == "python" else Path(self.encoder).stem


_BUILTIN_ONLY_KEYS = ("variant", "adversarial")
PLUGIN_TRAINING_KEYS = ("weight", "epochs", "batch_size", "lr", "loss", "regularizer", "train_channel",
                        "early_stopping")
"""Keys that make semcom train (or fine-tune) a plug-in model; without any it is used as given."""

PLUGIN_SOURCES = ("python", "exported", "torchscript")
"""The ``source`` of a plug-in model (its settings: :class:`PluginSettings`)."""

_MODEL_KEYS_BEFORE = {"weight": None, "power": None, "bandwidth_ratio": None}
"""The flat variant settings of the schema before each variant owned its settings (:func:`flat_settings`):
a model entry's dump (a point's journal fingerprint, results.json) shows them, ``None`` when unset."""
_MODEL_KEYS_AFTER = {"latent_dim": "weight", "adversarial": "power", "train_channel": "bandwidth_ratio"}
"""Where the flat schema had them (after which key), so a dump's key order stays as it was."""


@functools.cache
def _model_key_order() -> dict[str, int]:
    """A model entry dump's keys in the flat schema's order (:data:`_MODEL_KEYS_AFTER`) by rank."""
    names = []
    for name in ModelConfig.model_fields:
        names += [name] + ([_MODEL_KEYS_AFTER[name]] if name in _MODEL_KEYS_AFTER else [])
    return {name: i for i, name in enumerate(names)}


def _model_settings(entry: dict[str, Any]) -> tuple[type[BaseModel] | None, str]:
    """The settings class of a model entry (its variant's, or :class:`PluginSettings`) and what it is
    called in an error; ``None`` for an unknown variant (left to the ``variant`` field's check)."""
    if entry.get("source", "builtin") in PLUGIN_SOURCES:
        return PluginSettings, "a plug-in model's"
    from semcom.models import VARIANTS

    variant = VARIANTS.get(entry.get("variant", "vae-kld")) if isinstance(entry.get("variant", ""), str) else None
    return (None, "") if variant is None else (variant.Settings, f"the {variant.name} variant's")


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
        first = _first_error(err.errors())
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


_CHANNEL_KEYS_BEFORE = {"equalizer": "lmmse", **dict.fromkeys((
    "block_length", "k_factor_db", "los_phase", "model", "delay_spread", "carrier_frequency", "subcarrier_spacing",
    "fft_size", "speed", "bits", "code_rate", "qam_order", "bp_iterations", "clip", "fading"))}
"""The one flat list of every channel's settings the schema had before each channel owned its
settings (:func:`flat_settings`): a link's store key is the channel entry's dump."""


def _own_settings(entry: Any, common: set[str], registry: dict[str, Any], default_kind: str | None) -> Any:
    """A scenario entry ``{kind, <common keys>, <the kind's settings>}`` with its settings validated by
    the settings model of the registered ``kind`` (``registry[kind].Settings``) under ``own``.

    An unknown kind is left to the ``kind`` field's own check (which names the valid kinds).
    """
    if not isinstance(entry, dict) or isinstance(entry.get("own"), BaseModel):
        return entry
    kind = entry.get("kind", default_kind)
    component = registry.get(kind) if isinstance(kind, str) else None
    return _split_settings(entry, common, None if component is None else component.Settings)


def _split_settings(entry: dict[str, Any], common: set[str], settings: type[BaseModel] | None,
                    what: str = "this kind's") -> dict[str, Any]:
    """``entry``'s ``common`` keys, and its other keys validated by ``settings`` under ``own``
    (only the common keys when ``settings`` is None: the entry's own check reports why)."""
    shared = {k: v for k, v in entry.items() if k in common}
    if settings is None:
        return shared
    own = {k: v for k, v in entry.items() if k not in common}
    return {**shared, "own": validated_settings(settings, own, what)}


class ChannelConfig(_Frozen):
    """A link: channel kind, SNRs [dB] (none for the ideal link), and the channel's own settings.

    The remaining keys are the settings of the channel kind (its ``Settings``
    class in :mod:`channels`, listed below per kind); unset, the channel's
    default is used.
    """

    kind: Annotated[str, _registered(_channels)] = "ideal"
    """Channel model (``semcom list`` shows them)."""
    label: str | None = None
    """Name in reports (default: ``kind``)."""
    snr_db: list[float] = Field(default_factory=list)
    """SNRs ``Es/N0`` [dB], one grid point each; required for every kind but ``ideal``."""
    own: SerializeAsAny[ChannelSettings]
    """The kind's own settings, validated by its registered ``Settings`` class (given beside ``kind``)."""

    @model_validator(mode="before")
    @classmethod
    def _kind_settings(cls, entry: Any) -> Any:
        from channels import CHANNELS

        return _own_settings(entry, set(cls.model_fields) - {"own"}, CHANNELS, "ideal")

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, Any]:
        data = handler(self)
        data.pop("own", None)
        return {**data, **flat_settings(self.own, info, _CHANNEL_KEYS_BEFORE)}

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

    @model_validator(mode="after")
    def _settings_fit_kind(self) -> ChannelConfig:
        from channels import make_channel

        try:  # the channel's own checks: a setting it does not take, a bad value
            make_channel(self.kind, **self.settings())
        except (TypeError, ValueError) as err:
            raise ValueError(str(err)) from None
        return self

    def settings(self) -> dict[str, Any]:
        """The channel constructor's keyword arguments this entry sets explicitly."""
        return self.own.model_dump(include=self.own.model_fields_set)

    @property
    def name(self) -> str:
        return self.label or self.kind


class TrainChannelConfig(ChannelConfig):
    """The channel a model is trained through (docs/design.md §7): any registered kind with its
    settings (as in ``channels``), at one SNR ``snr_db`` or at an SNR drawn uniformly per
    minibatch from ``snr_range`` ``[low, high]`` [dB]."""

    snr_db: float | None = Field(None, ge=-50, le=100)
    """Training SNR ``Es/N0`` [dB]; required for every kind but ``ideal`` unless ``snr_range``."""
    snr_range: list[float] | None = Field(None, min_length=2, max_length=2)
    """``[low, high]`` [dB]: the SNR of each training minibatch is drawn uniformly from it."""

    @field_validator("snr_db")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:  # replaces ChannelConfig's list check
        return v

    @field_validator("snr_range")
    @classmethod
    def _ordered(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and not (-50 <= v[0] <= v[1] <= 100):
            raise ValueError(f"must be [low, high] with -50 ≤ low ≤ high ≤ 100 dB; got {v}")
        return v

    @model_validator(mode="after")
    def _snr_fits_kind(self) -> TrainChannelConfig:
        given = self.snr_db is not None or self.snr_range is not None
        if self.snr_db is not None and self.snr_range is not None:
            raise ValueError("give `snr_db` or `snr_range`, not both")
        if self.kind == "ideal" and given:
            raise ValueError("the ideal link has no noise: remove `snr_db` / `snr_range`")
        if self.kind != "ideal" and not given:
            raise ValueError(f"training through a {self.kind} channel needs `snr_db` or `snr_range` [dB]")
        return self



class EarlyStoppingConfig(_Frozen):
    """Stop training when the validation loss has not improved for ``patience`` epochs."""

    patience: int = Field(3, ge=1, le=LIMITS["epochs"])
    """Epochs without improvement before training stops (the best epoch's weights are kept)."""
    val_fraction: float = Field(0.1, gt=0, lt=1)
    """Share of the training images held out (a seeded draw) for the validation loss."""
    min_delta: float = Field(0.0, ge=0)
    """An improvement smaller than this does not count."""


ModelConfig.model_rebuild()


_DEFENSE_KEYS_BEFORE = dict.fromkeys(("beta", "restarts", "draw", "sigma", "draws"))
"""The flat defence settings of the schema before each defence owned its settings (:func:`flat_settings`)."""


def _receivers() -> dict[str, Any]:
    """``none`` (the receiver as trained: no settings, no budget) and every registered defence
    (:mod:`semcom.defenses`) by kind."""
    from semcom.defenses import NoSettings, defense_kinds

    return {"none": SimpleNamespace(Settings=NoSettings, needs_eps=False), **defense_kinds()}


class DefenseConfig(_Frozen):
    """A receiver: as trained (``none``) or hardened by fine-tuning (a defence of :mod:`semcom.defenses`).

    ``eps`` is ``ε_train`` (``ε_max`` for ``adversarial-multi-eps`` and
    ``pgd-matched``), in the same latent units as the attack budget. The keys
    after ``distance`` are the settings of the kind (its ``Settings`` class,
    listed below per kind; docs/design.md §7, "Defences").
    """

    kind: Annotated[str, _registered(_receivers)]
    """``none``: the receiver as trained; else a defence (``semcom list`` shows them): ``finetune``:
    the control, the same fine-tuning with no perturbation; ``adversarial``: fine-tuned on PGD
    latents at ``eps``; ``adversarial-multi-eps``: at ε drawn from [0, ``eps``] per batch; ``noise``:
    on Gaussian noise of budget ``eps``; ``consistency``: TRADES-style, ``MSE(G'(z), x) +
    β·MSE(G'(z+δ), G'(z))``; ``pgd-matched``: on the evaluated threat's PGD (distance ``mse``,
    random start, ``restarts``); ``smoothing``: a randomised-smoothing receiver (``draws``
    decodings of the latent plus noise of std ``sigma``, averaged)."""
    label: str | None = None
    """Name in reports (default: ``kind``)."""
    eps: float | None = Field(None, gt=0, le=1e3)
    """Training budget ``ε_train`` (``ε_max`` for ``adversarial-multi-eps``); required
    unless ``kind`` is ``none``, ``finetune`` or ``smoothing``."""
    steps: int = Field(10, ge=1, le=LIMITS["steps"])
    """PGD steps per perturbation during fine-tuning."""
    k: int = Field(1, ge=1, le=20)
    """Perturbed receiver updates per minibatch (after one clean update)."""
    epochs: int = Field(3, ge=1, le=LIMITS["epochs"])
    """Fine-tuning epochs over the training images."""
    lr: float = Field(5e-4, gt=0, le=1)
    """Adam learning rate of the fine-tuning."""
    distance: Literal["ssim", "mse"] = "ssim"
    """Distance the training attack maximises (``ssim`` means ``1 − SSIM``)."""
    certify_draws: int | None = Field(None, ge=10, le=100_000)
    """Defences with a certificate (``smoothing``): Monte-Carlo draws of the certificate (certified
    vs empirical worst case per ε, on ideal links under untargeted L2 PGD); unset: no certificate."""
    own: SerializeAsAny[BaseModel]
    """The kind's own settings, validated by its registered ``Settings`` class (given beside ``kind``)."""

    @model_validator(mode="before")
    @classmethod
    def _kind_settings(cls, entry: Any) -> Any:
        return _own_settings(entry, set(cls.model_fields) - {"own"}, _receivers(), None)

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, Any]:
        data = handler(self)
        data.pop("own", None)
        certify = {"certify_draws": data.pop("certify_draws")} if "certify_draws" in data else {}
        return {**data, **flat_settings(self.own, info, _DEFENSE_KEYS_BEFORE), **certify}

    @model_validator(mode="after")
    def _eps_fits_kind(self) -> DefenseConfig:
        receiver = _receivers()[self.kind]
        needs_eps = self.kind != "none" and receiver.needs_eps
        if not needs_eps and self.eps is not None:
            raise ValueError(f"the `{self.kind}` defence takes no `eps`")
        if needs_eps and self.eps is None:
            raise ValueError(f"the {self.kind} defence needs `eps` (its training budget)")
        if self.certify_draws and not getattr(receiver, "certifiable", False):
            raise ValueError(f"the `{self.kind}` defence takes no `certify_draws`")
        return self

    def settings(self) -> dict[str, Any]:
        """The defence's own settings this entry sets (the keys after ``distance``)."""
        return self.own.model_dump(include=self.own.model_fields_set)

    def hardening(self, seed: int):
        """The :class:`semcom.defenses.hardening.HardeningConfig` of this receiver's fine-tuning (its
        fields are the hardened receiver's store key; the defence's settings filled in)."""
        from semcom.defenses.hardening import hardening_of_entry

        return hardening_of_entry(self, seed, self.settings())

    @property
    def name(self) -> str:
        return self.label or self.kind


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
        raise ComponentSettingsError.at("kind", "value_error", f"must be one of {valid}; got {_short(kind)}")
    return validated_settings(kinds[kind], entry)


Attack = Annotated[SerializeAsAny[AttackSettings], BeforeValidator(_registered_attack)]
"""One attack entry: the settings class of its registered ``kind`` (:mod:`semcom.attacks`)."""


class EpsRange(_Frozen):
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


class AdversaryConfig(_Frozen):
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


class ReportConfig(_Frozen):
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


MetricName = Annotated[str, _registered(_metrics)]


class Scenario(_Frozen):
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


def _one_of(value: str, registry: dict) -> str:
    if value not in registry:
        valid = ", ".join(repr(k) for k in sorted(registry))
        raise ValueError(f"must be one of {valid}; got {value!r}")
    return value


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
        return f"must be {bounds[kind].format(**ctx)}; got {_short(got)}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if "; got" in msg or isinstance(got, dict):  # a whole entry: the message names the key
        return msg
    return f"{msg[:1].lower()}{msg[1:]}; got {_short(got)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
        first = _first_error(exc.errors())
        while isinstance(inner := first.get("ctx", {}).get("error"), ComponentSettingsError):
            first = {**inner.first, "loc": (*first["loc"], *inner.first["loc"])}
        # a whole-scenario check may name the key itself (an error with a `key_path`)
        where = getattr(first.get("ctx", {}).get("error"), "key_path", None) or _key_path(first["loc"])
        raise ScenarioError(f"{source}: {where}: {_describe(first)}") from None
    if problem := (check_thresholds(sc.break_power, sc.metrics)
                   or _check_attack_defenses(sc)):
        raise ScenarioError(f"{source}: {problem}")
    return sc


_OTHER_FORM = ("list_type", "none_required", "model_type")
"""Errors saying that an input is not of one form of a union (a list, None, a range)."""


def _first_error(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The first error; for a key that may be a list or a range (``eps``, ``psr_db``), the
    error of the form the input has (a bad ``start`` of a range, not "should be a list")."""
    first = errors[0]
    if first["type"] in _OTHER_FORM:
        key = first["loc"][:-1]
        for err in errors[1:]:
            if err["loc"][: len(key)] == key and err["type"] not in _OTHER_FORM:
                return err
    return first


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
