"""Components defined outside the semcom package register the same way and are configurable from YAML.

This module (outside ``semcom``) defines a toy attack, a toy channel, a toy model variant and a toy
data set, each with a setting of its own, registers them with the decorators semcom's own components
use, runs a tiny scenario that uses all four with non-default settings through the real CLI and runner,
and checks that the settings reached the components and that ``semcom list``, ``semcom validate`` and
the scenario reference show them.
"""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from click.testing import CliRunner
from pydantic import Field

from channels import CHANNELS, Channel, EqualizedSettings, register_channel
from semcom.attacks.base import ATTACKS, AttackSettings, Perturbation, register_attack
from semcom.cli import main
from semcom.data import DATASETS, DataSpec, ImageData, register_dataset
from semcom.data.embedded import EmbeddedMNIST
from semcom.models.variants import VARIANTS, Variant, VariantSettings, register_variant

BUILT: list[float] = []
"""The ``gain`` of every toy channel built."""
SHIFTS: list[float] = []
"""The ``shift_fraction`` of every toy attack run."""
DIMMED: list[tuple[float, str, int]] = []
"""``(brightness, split, images)`` of every toy data set loaded."""
PULLS: list[float] = []
"""The ``pull`` of every toy variant's regulariser call."""


class ToyGainSettings(EqualizedSettings):
    """Settings of the toy channel."""

    gain: float = Field(1.0, gt=0, le=10)
    """Amplitude gain of the toy channel."""


class ToyGainChannel(Channel):
    """Toy channel: scales the symbols by a fixed real gain, ``y = g·x`` (no noise)."""

    Settings = ToyGainSettings

    def __init__(self, gain: float = 1.0, equalizer: str = "lmmse") -> None:
        super().__init__(equalizer=equalizer)
        self.gain = gain
        BUILT.append(gain)

    def transmit(self, x, *, no, generator):
        h = torch.full_like(x, self.gain)
        return h * x, h


class ToyShiftAttack(AttackSettings):
    """Toy attack: the same shift of every latent value, a share of the budget."""

    description = "toy: a constant shift spending `shift_fraction` of the budget"

    shift_fraction: float = Field(0.5, gt=0, le=1)
    """Share of the budget the shift spends."""

    def perturb_within(self, threat, z, clean, eps, gen) -> Perturbation:
        SHIFTS.append(self.shift_fraction)
        direction = torch.ones_like(z) / z.shape[1] ** 0.5  # unit L2 norm per sample
        delta = direction * (self.shift_fraction * eps)[:, None]
        return Perturbation(threat.at_budget(delta, eps), eps)


class ToyDimDigits(EmbeddedMNIST):
    """Toy data set: the embedded digits, dimmed by a brightness factor."""

    brightness: float = Field(1.0, gt=0, le=1)
    """Factor the grey levels are multiplied by."""

    def load(self, spec: DataSpec, split: str) -> ImageData:
        data = super().load(spec, split)
        DIMMED.append((self.brightness, split, len(data)))
        return ImageData(data.images * self.brightness, data.labels, data.name, data.num_classes)


class ToyPullSettings(VariantSettings):
    """Settings of the toy variant."""

    pull: float = Field(0.5, gt=0, le=1)
    """Weight of the toy variant's pull of the latents towards 0."""


class ToyPullVariant(Variant):
    """Toy variant: a deterministic autoencoder whose regulariser is ``pull · mean(z²)``."""

    Settings = ToyPullSettings

    def regularizer(self, inp, settings: ToyPullSettings) -> torch.Tensor:
        PULLS.append(settings.pull)
        return settings.pull * inp.z.pow(2).mean()


@pytest.fixture
def toys():
    """Register the toys for one test (the registries are global: other tests must not see them)."""
    register_channel("toy-gain")(ToyGainChannel)
    register_attack("toy-shift")(ToyShiftAttack)
    register_dataset("toy-dim")(ToyDimDigits)
    register_variant("toy-pull", stochastic=False, description="toy: latents pulled towards 0")(ToyPullVariant)
    BUILT.clear()
    SHIFTS.clear()
    DIMMED.clear()
    PULLS.clear()
    yield
    del CHANNELS["toy-gain"], ATTACKS["toy-shift"], DATASETS["toy-dim"], VARIANTS["toy-pull"]


SCENARIO = {
    "name": "toys",
    "seed": 1,
    "data": {"train_samples": 200, "test_samples": 12},
    "models": [{"variant": "toy-pull", "latent_dim": 4, "epochs": 1, "pull": 0.25}],
    "channels": [{"kind": "toy-gain", "snr_db": [20], "gain": 2.5}],
    "adversary": {"eps": [0, 1.0], "attacks": [{"kind": "toy-shift", "shift_fraction": 0.25}]},
    "metrics": ["mse"],
    "eval_batch_size": 12,
    "break_power": {"enabled": False},
}


TOY_DATA = {"name": "toy-dim", "train_samples": 200, "test_samples": 12, "brightness": 0.5}


def _invoke(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _write(tmp_path, doc):
    path = tmp_path / f"{doc['name']}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_outside_components_run_from_yaml_with_their_settings(toys, tmp_path):
    scenario = _write(tmp_path, {**SCENARIO, "data": TOY_DATA})
    code, output = _invoke("run", str(scenario), "--out", str(tmp_path / "run"))
    assert code == 0, output
    assert BUILT and set(BUILT) == {2.5}  # the YAML's gain, not the default 1.0
    assert SHIFTS and set(SHIFTS) == {0.25}
    assert DIMMED == [(0.5, "train", 200), (0.5, "test", 12)]  # the YAML's brightness, once per split
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["scenario"]["data"] == {"name": "toy-dim", "root": None, "download": False,
                                           "train_samples": 200, "test_samples": 12, "brightness": 0.5}
    assert PULLS and set(PULLS) == {0.25}  # the model was trained with the YAML's pull
    assert results["scenario"]["models"][0]["pull"] == 0.25
    points = results["points"]
    assert {p["attack"] for p in points} == {"toy-shift-untargeted"}
    assert {p["channel"] for p in points} == {"toy-gain"}


def test_outside_components_validate_and_refuse_bad_settings(toys, tmp_path):
    code, output = _invoke("validate", str(_write(tmp_path, SCENARIO)))
    assert code == 0 and "ok" in output, output
    bad = {**SCENARIO, "channels": [{"kind": "toy-gain", "snr_db": [20], "gain": 99}]}
    code, output = _invoke("validate", str(_write(tmp_path, bad)))
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    assert "channels[0].gain: must be ≤ 10" in output
    bad = {**SCENARIO, "adversary": {"eps": [0, 1.0], "attacks": [{"kind": "toy-shift", "shift": 0.1}]}}
    code, output = _invoke("validate", str(_write(tmp_path, bad)))
    assert code == 2 and "adversary.attacks[0].shift: unknown key; this kind's settings are `label`, " \
                          "`defenses`, `shift_fraction`" in output, output
    code, output = _invoke("validate", str(_write(tmp_path, {**SCENARIO, "data": TOY_DATA})))
    assert code == 0 and "ok" in output, output
    bad = {**SCENARIO, "data": {**TOY_DATA, "brightness": 2}}
    code, output = _invoke("validate", str(_write(tmp_path, bad)))
    assert code == 2 and len(output.strip().splitlines()) == 1 and "data.brightness: must be ≤ 1" in output, output
    bad = {**SCENARIO, "models": [{"variant": "toy-pull", "pull": 2}]}
    code, output = _invoke("validate", str(_write(tmp_path, bad)))
    assert code == 2 and len(output.strip().splitlines()) == 1 and "models[0].pull: must be ≤ 1" in output, output
    bad = {**SCENARIO, "models": [{"variant": "toy-pull", "weight": 2}]}
    code, output = _invoke("validate", str(_write(tmp_path, bad)))
    assert code == 2 and "models[0].weight: unknown key; the toy-pull variant's settings are `power`, `pull`" \
        in output, output


def test_outside_components_are_listed_and_documented_with_their_settings(toys):
    from semcom.report.docs_gen import render_scenario_reference

    code, output = _invoke("list")
    assert code == 0
    lines = output.splitlines()
    (channel,) = [line for line in lines if line.split()[:1] == ["toy-gain"]]
    assert "gain=1.0" in channel and "Toy channel" in channel
    (attack,) = [line for line in lines if line.split()[:1] == ["toy-shift"]]
    assert "shift_fraction=0.5" in attack and "constant shift" in attack
    (data,) = [line for line in lines if line.split()[:1] == ["toy-dim"]]
    assert "brightness=1.0" in data and "image_size=None" in data and "dimmed" in data
    text = render_scenario_reference()
    assert "## data (name: toy-dim)" in text and "Factor the grey levels are multiplied by." in text
    (variant,) = [line for line in lines if line.split()[:1] == ["toy-pull"]]
    assert "pull=0.5" in variant and "pulled towards 0" in variant
    text = render_scenario_reference()
    assert "## models[] (variant: toy-pull)" in text and "pull of the latents towards 0." in text
    assert "## channels[] (kind: toy-gain)" in text and "Amplitude gain of the toy channel." in text
    assert "## adversary.attacks[] (kind: toy-shift)" in text and "| `shift_fraction` |" in text


ENTRY_POINT_MODULE = '''
from pydantic import Field

from channels import AWGNChannel, EqualizedSettings, register_channel


class LoudSettings(EqualizedSettings):
    loudness: float = Field(1.0, gt=0)
    """How loud the toy channel is."""


@register_channel("toy-entry-point")
class Loud(AWGNChannel):
    """Toy channel from an installed package's entry point."""

    Settings = LoudSettings

    def __init__(self, loudness: float = 1.0, equalizer: str = "lmmse") -> None:
        super().__init__(equalizer=equalizer)
        self.loudness = loudness
'''


def test_installed_packages_register_components_by_entry_point(tmp_path, monkeypatch):
    """A package lists a module under the ``semcom.components`` entry points: it is imported before a
    scenario is validated and before ``semcom list``, and its components are configurable from YAML."""
    import importlib.metadata
    import sys

    from semcom.models.factory_trust import COMPONENTS_GROUP, load_components

    (tmp_path / "toy_semcom_package.py").write_text(ENTRY_POINT_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    point = importlib.metadata.EntryPoint("toys", "toy_semcom_package", COMPONENTS_GROUP)
    real = importlib.metadata.entry_points
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda **kw: [point] if kw.get("group") == COMPONENTS_GROUP else real(**kw))
    load_components.cache_clear()  # loaded once per process: look again with the package installed
    try:
        doc = {**SCENARIO, "models": [{"variant": "ae"}],
               "channels": [{"kind": "toy-entry-point", "snr_db": [20], "loudness": 3.0}],
               "adversary": {"eps": [0, 1.0], "attacks": [{"kind": "gaussian"}]}}
        code, output = _invoke("validate", str(_write(tmp_path, doc)))
        assert code == 0, output
        code, output = _invoke("list")
        assert "toy-entry-point" in output and "loudness=1.0" in output
    finally:
        load_components.cache_clear()
        CHANNELS.pop("toy-entry-point", None)
        sys.modules.pop("toy_semcom_package", None)


def test_outside_variant_settings_reach_the_train_config_and_its_store_key(toys):
    from semcom.models.training import TrainConfig, new_autoencoder, train_spec
    from semcom.study.scenario import ModelConfig
    from semcom.study.store import config_key

    cfg = TrainConfig.from_entry(ModelConfig(variant="toy-pull", latent_dim=4, pull=0.25), 0)
    assert cfg.settings == (("pull", 0.25),) and new_autoencoder(cfg, (1, 28, 28)).settings.pull == 0.25
    default = TrainConfig.from_entry(ModelConfig(variant="toy-pull", latent_dim=4), 0)
    assert default.settings == () and "settings" not in train_spec(default)  # unset: keys as before
    assert config_key(train_spec(cfg)) != config_key(train_spec(default))


def test_readme_attack_example_registers_and_takes_its_setting_from_yaml():
    """The README's one-file attack: registered from its code block, configurable from a scenario,
    and its perturbation spends the share of the budget it says."""
    import re
    from pathlib import Path
    from types import SimpleNamespace

    from semcom.study.scenario import parse_scenario

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(# mypackage/shift\.py\n.*?)```", readme, re.S).group(1)
    exec(compile(block, "README.md", "exec"), {"__name__": "mypackage.shift"})  # noqa: S102 - our own README
    try:
        doc = {"name": "readme", "models": [{"variant": "ae", "latent_dim": 4, "epochs": 1}],
               "adversary": {"eps": [0, 1], "attacks": [{"kind": "shift", "fraction": 0.3}]}}
        (attack,) = parse_scenario(doc, "readme.yaml").adversary.attacks
        assert attack.kind == "shift" and attack.fraction == 0.3
        eps = torch.tensor([1.0, 2.0])
        out = attack.perturb_within(SimpleNamespace(at_budget=lambda d, e: d), torch.zeros(2, 4), None, eps, None)
        assert torch.allclose(out.delta.norm(dim=1), 0.3 * eps)
    finally:
        ATTACKS.pop("shift", None)
