"""How a scenario's models are trained, for ``results.json`` and the report, and whether their nets fit the data.

The entry's training settings become a :class:`semcom.models.training.TrainConfig` in one place,
:meth:`~semcom.models.training.TrainConfig.from_entry` (docs/design.md §7, §8).
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_model_shapes", "trained_models"]


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
