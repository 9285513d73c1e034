"""A scenario's links and receivers: ``channels`` entries (and a model's ``train_channel``),
and ``defenses`` entries, each validated by the settings class of its registered kind."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SerializeAsAny,
    field_validator,
    model_validator,
)

from channels import ChannelSettings
from semcom.study.entry_settings import LIMITS, FlatEntry, own_settings, registered

__all__ = ["ChannelConfig", "DefenseConfig", "TrainChannelConfig"]

def _channels() -> dict[str, Any]:
    from channels import CHANNELS

    return CHANNELS


_CHANNEL_KEYS_BEFORE = {"equalizer": "lmmse", **dict.fromkeys((
    "block_length", "k_factor_db", "los_phase", "model", "delay_spread", "carrier_frequency", "subcarrier_spacing",
    "fft_size", "speed", "bits", "code_rate", "qam_order", "bp_iterations", "clip", "fading"))}
"""The one flat list of every channel's settings the schema had before each channel owned its
settings (:func:`flat_settings`): a link's store key is the channel entry's dump."""


class ChannelConfig(FlatEntry):
    """A link: channel kind, SNRs [dB] (none for the ideal link), and the channel's own settings.

    The remaining keys are the settings of the channel kind (its ``Settings``
    class in :mod:`channels`, listed below per kind); unset, the channel's
    default is used.
    """

    KEYS_BEFORE = _CHANNEL_KEYS_BEFORE

    kind: Annotated[str, registered(_channels)] = "ideal"
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

        return own_settings(entry, set(cls.model_fields) - {"own"}, CHANNELS, "ideal")

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



_DEFENSE_KEYS_BEFORE = dict.fromkeys(("beta", "restarts", "draw", "sigma", "draws"))
"""The flat defence settings of the schema before each defence owned its settings (:func:`flat_settings`)."""


def _receivers() -> dict[str, Any]:
    """``none`` (the receiver as trained: no settings, no budget) and every registered defence
    (:mod:`semcom.defenses`) by kind."""
    from semcom.defenses import NoSettings, defense_kinds

    return {"none": SimpleNamespace(Settings=NoSettings, needs_eps=False), **defense_kinds()}


class DefenseConfig(FlatEntry):
    """A receiver: as trained (``none``) or hardened by fine-tuning (a defence of :mod:`semcom.defenses`).

    ``eps`` is ``ε_train`` (``ε_max`` for ``adversarial-multi-eps`` and
    ``pgd-matched``), in the same latent units as the attack budget. The keys
    after ``distance`` are the settings of the kind (its ``Settings`` class,
    listed below per kind; docs/design.md §7, "Defences").
    """

    KEYS_BEFORE = _DEFENSE_KEYS_BEFORE

    kind: Annotated[str, registered(_receivers)]
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
        return own_settings(entry, set(cls.model_fields) - {"own"}, _receivers(), None)

    def dump_order(self, data: dict[str, Any]) -> dict[str, Any]:
        """``certify_draws``, added after the defences owned their settings, comes last."""
        certify = {"certify_draws": data.pop("certify_draws")} if "certify_draws" in data else {}
        return {**data, **certify}

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
