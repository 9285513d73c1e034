"""semcom: attack, measure and harden learned communication links.

The public Python API (``docs/api.md``), importable from the package itself;
each name loads its module on first use, so ``import semcom`` stays cheap
(the command line starts without torch).

* the link — :class:`Link` (``Link.from_trained``), :class:`Transmitter`,
  :class:`Receiver`, :func:`transceiver` (for a link of your own), :func:`build_link`;
* models — :func:`plug_in` (your encoder/decoder), :func:`factory` (marks a scenario's
  model factory), :class:`PluginModel`,
  :class:`TrainedModel`, :class:`TrainConfig`, :func:`get_or_train`;
* measuring — :func:`dd_curve`, :class:`DDCurve`, :func:`aaddc`,
  :func:`get_metric`, :data:`METRICS`;
* hardening — :class:`HardeningConfig`, :func:`harden_receiver`,
  :func:`get_or_harden`;
* data, store and scenarios — :class:`DataSpec`, :func:`load_dataset`,
  :class:`ModelStore`, :func:`cache_dir`, :func:`load_scenario`,
  :func:`parse_scenario`, :func:`run_scenario`.

Channels and attacks live in the sibling packages ``channels`` and ``adversary``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Link": "semcom.link",
    "Receiver": "semcom.link",
    "Transmitter": "semcom.link",
    "build_link": "semcom.link",
    "transceiver": "semcom.link",
    "PluginModel": "semcom.models.plugins",
    "plug_in": "semcom.models.plugins",
    "factory": "semcom.models.plugins",
    "TrainConfig": "semcom.models.training",
    "TrainedModel": "semcom.models.training",
    "get_or_train": "semcom.models.training",
    "DDCurve": "semcom.metrics.curves",
    "dd_curve": "semcom.metrics.curves",
    "METRICS": "semcom.metrics.quality",
    "aaddc": "semcom.metrics.quality",
    "get_metric": "semcom.metrics.quality",
    "HardeningConfig": "semcom.defenses.hardening",
    "get_or_harden": "semcom.defenses.hardening",
    "harden_receiver": "semcom.defenses.hardening",
    "DataSpec": "semcom.data",
    "load_dataset": "semcom.data",
    "ModelStore": "semcom.study.store",
    "cache_dir": "semcom.paths",
    "load_scenario": "semcom.study.scenario",
    "parse_scenario": "semcom.study.scenario",
    "run_scenario": "semcom.study.runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'semcom' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
