"""A scenario's ``models`` entry: a built-in variant with its own settings, or a plug-in model;
and what training may add: paper Algorithm 1 (``adversarial``) and early stopping."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SerializeAsAny,
    field_validator,
    model_validator,
)

from semcom.study.entry_settings import LIMITS, FlatEntry, Frozen, registered, split_settings
from semcom.study.link_entries import TrainChannelConfig

__all__ = ["PLUGIN_SOURCES", "PLUGIN_TRAINING_KEYS", "AdversarialTrainingConfig", "EarlyStoppingConfig",
           "ModelConfig", "PluginSettings"]

def _variants() -> dict[str, Any]:
    from semcom.models import VARIANTS

    return VARIANTS


def _training_defenses() -> dict[str, Any]:
    """The defences a model's ``adversarial`` (paper Algorithm 1, during training) may use."""
    from semcom.defenses import defense_kinds

    return {k: d for k, d in defense_kinds().items() if d.in_training}


class AdversarialTrainingConfig(Frozen):
    """Latent adversarial training while the model is trained (paper Algorithm 1, §3.2).

    After each regular minibatch step, ``k`` decoder-only steps on
    ``z + δ``, ``δ`` untargeted PGD at ``eps`` (``ε_train``, latent units) with
    ``steps`` iterations and distance ``1 − SSIM`` by default. ``kind`` picks
    the perturbation as for receiver hardening: ``adversarial`` (the paper),
    ``adversarial-multi-eps`` (``ε_train ~ U[0, eps]`` per batch) or ``noise``
    (Gaussian noise of the same budget: a control with the same extra decoder
    steps but no attacker).
    """

    kind: Annotated[str, registered(_training_defenses)] = "adversarial"
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


class EarlyStoppingConfig(Frozen):
    """Stop training when the validation loss has not improved for ``patience`` epochs."""

    patience: int = Field(3, ge=1, le=LIMITS["epochs"])
    """Epochs without improvement before training stops (the best epoch's weights are kept)."""
    val_fraction: float = Field(0.1, gt=0, lt=1)
    """Share of the training images held out (a seeded draw) for the validation loss."""
    min_delta: float = Field(0.0, ge=0)
    """An improvement smaller than this does not count."""


class PluginSettings(Frozen):
    """The settings a plug-in model entry (``source`` python, exported or torchscript) gives beside its source."""

    weight: float | None = Field(None, ge=0)
    """Trained plug-ins: weight of the ``regularizer`` (default 1 for ``kld``, 100 for ``mmd``/``swt``)."""
    power: Literal["sigma_z", "per_image"] = "sigma_z"
    """The transmitter's power normalisation (docs/design.md §7): ``sigma_z``, the fixed ``√2·σ_z`` of the
    latents, or ``per_image`` (each image's symbols have average power 1). Recorded with the model and
    shown in the report."""


_MODEL_KEYS_BEFORE = {"weight": None, "power": None, "bandwidth_ratio": None}
"""The flat variant settings of the schema before each variant owned its settings (:func:`flat_settings`):
a model entry's dump (a point's journal fingerprint, results.json) shows them, ``None`` when unset."""

class ModelConfig(FlatEntry):
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

    KEYS_BEFORE = _MODEL_KEYS_BEFORE

    label: str | None = None
    """Name in reports (default: the variant, the factory or the encoder file's stem)."""
    source: Literal["builtin", "python", "exported", "torchscript"] = "builtin"
    """Where the model comes from: ``builtin`` trains ``variant``; ``python`` calls
    ``factory``; ``exported`` loads ``encoder``/``decoder`` saved with
    ``torch.export.save`` (``.pt2``); ``torchscript`` loads them with ``torch.jit.load``."""
    variant: Annotated[str, registered(_variants)] = "vae-kld"
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
        return split_settings(entry, set(cls.model_fields) - {"own"}, settings, what)

    def dump_order(self, data: dict[str, Any]) -> dict[str, Any]:
        """Each flat key where the one flat schema had it (:data:`_MODEL_KEYS_AFTER`); new settings last."""
        order = _model_key_order()
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
