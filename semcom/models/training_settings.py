"""A scenario model entry's training settings as :class:`semcom.models.training.TrainConfig` fields.

The settings that came with training through the channel (docs/design.md §7):
the power normalisation, the training channel, DeepJSCC's bandwidth ratio and
early stopping. Kept apart from :mod:`semcom.study.runner` so built-in and plug-in
training read them the same way.
"""

from __future__ import annotations

from typing import Any

from semcom.models.channel_training import TrainChannel
from semcom.models.training import EarlyStopping

__all__ = ["training_settings", "train_channel"]


def train_channel(cfg) -> TrainChannel | None:
    """The :class:`TrainChannel` of a scenario's ``train_channel`` entry (``None`` for none)."""
    if cfg is None:
        return None
    snr_range = None if cfg.snr_range is None else (float(cfg.snr_range[0]), float(cfg.snr_range[1]))
    return TrainChannel(cfg.kind, cfg.snr_db, snr_range, tuple(sorted(cfg.settings().items())))


def training_settings(m) -> dict[str, Any]:
    """``power``, ``train_channel``, ``bandwidth_ratio``, ``early_stopping`` and the variant's other
    ``settings`` of model entry ``m`` (a setting it does not give is ``None``)."""
    stop = m.early_stopping
    given = m.settings()
    return {
        "power": given.pop("power", None),
        "train_channel": train_channel(m.train_channel),
        "bandwidth_ratio": given.pop("bandwidth_ratio", None),
        "early_stopping": None if stop is None else EarlyStopping(stop.patience, stop.val_fraction, stop.min_delta),
        "settings": tuple(sorted((k, v) for k, v in given.items() if k != "weight")),
    }


def trained_models(sc) -> list[dict[str, Any]]:
    """How each model of scenario ``sc`` is trained, for ``results.json`` and the report.

    ``power`` is resolved (the variant's own for DeepJSCC); ``trained`` says whether semcom
    trains the model (built-ins, and plug-ins with training settings) or uses it as given.
    """
    rows = []
    for m in sc.models:
        builtin = m.source == "builtin"
        channel = None if m.train_channel is None else m.train_channel.model_dump(mode="json", exclude_none=True)
        trained = m.trained
        rows.append({"model": m.name, "source": m.source, "variant": m.variant if builtin else None,
                     "power": m.own.power, "train_channel": channel, "trained": trained,
                     "epochs": m.epochs if trained else None,
                     "early_stopping": None if m.early_stopping is None else m.early_stopping.model_dump()})
    return rows


def check_model_shapes(sc, image_shape: tuple[int, ...]) -> None:
    """Built-in models whose nets depend on the data (DeepJSCC) must fit its images.

    Raises :class:`semcom.study.scenario.ScenarioError` naming ``models[i].bandwidth_ratio`` (or the
    variant) when the image size or the bandwidth ratio gives no whole DeepJSCC code.
    """
    from semcom.models import VARIANTS
    from semcom.study.scenario import ScenarioError

    for i, m in enumerate(sc.models):
        variant = VARIANTS.get(m.variant)
        if m.source != "builtin" or variant is None or variant.nets is None:
            continue
        try:
            variant.nets(tuple(image_shape), m.own)
        except ValueError as err:
            key = "bandwidth_ratio" if "bandwidth_ratio" in str(err) else "variant"
            raise ScenarioError(f"models[{i}].{key}: {err}") from None
