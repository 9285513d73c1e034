"""Each component owns its typed settings: the scenario validates an entry against the settings
class of its registered ``kind``, and the entries' dumps (store keys, journals, results.json) keep
the form they had when the schema listed every setting in one flat class."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from semcom.models.channel_training import TrainChannel
from semcom.study.link_entries import ChannelConfig, TrainChannelConfig
from semcom.study.store import config_key

LINK_KEYS = [  # config_key of {channel entry's dump, snr_db: 1.0}, computed with main at 9485564
    ({"kind": "ideal"}, "ed4bb3d6031ffefc"),
    ({"kind": "awgn", "snr_db": [10.0], "equalizer": "zf"}, "148fc22430c7eb9f"),
    ({"kind": "rayleigh", "snr_db": [0.0, 20.0], "block_length": 4, "label": "ray"}, "c9396b4e3b223b2e"),
    ({"kind": "rician", "snr_db": [10.0], "k_factor_db": 3, "los_phase": 0.5}, "6c92eebb34a6ed25"),
    ({"kind": "tdl", "snr_db": [10.0], "model": "C", "delay_spread": 3e-7, "fft_size": 12, "speed": 3.0},
     "29d83aea27a60cbb"),
    ({"kind": "digital", "snr_db": [12.0], "bits": 6, "qam_order": 64, "fading": "rayleigh", "block_length": 8},
     "6477f58e82d5e9b2"),
]
TRAIN_KEYS = [  # (TrainChannel's key in the training spec, results.json's train_channel), main at 9485564
    ({"kind": "awgn", "snr_db": 10.0}, "048909ce0021b6ce", "20aafe6da085d0f7"),
    ({"kind": "rician", "snr_range": [0.0, 20.0], "k_factor_db": 6.0}, "036de643222ecdf0", "61ff63869a4567c3"),
    ({"kind": "ideal"}, "b51275848e6809dc", "3e27dfe222e0ba71"),
]


@pytest.mark.parametrize(("entry", "key"), LINK_KEYS, ids=[e["kind"] for e, _ in LINK_KEYS])
def test_link_part_of_hardened_receiver_keys_is_unchanged(entry, key):
    """A hardened receiver's store key holds its link's channel entry dump (semcom.study.jobs.HardenJob)."""
    assert config_key({**ChannelConfig(**entry).model_dump(mode="json"), "snr_db": 1.0}) == key


@pytest.mark.parametrize(("entry", "key", "shown"), TRAIN_KEYS, ids=[e["kind"] for e, *_ in TRAIN_KEYS])
def test_training_channel_keys_and_results_are_unchanged(entry, key, shown):
    cfg = TrainChannelConfig(**entry)
    assert config_key(asdict(TrainChannel.from_entry(cfg))) == key
    assert config_key(cfg.model_dump(mode="json", exclude_none=True)) == shown


def test_channel_entry_holds_its_kinds_settings_class_with_its_defaults():
    from channels import RicianBlockChannel

    cfg = ChannelConfig(kind="rician", snr_db=[10.0], k_factor_db=3)
    assert type(cfg.own) is RicianBlockChannel.Settings
    assert (cfg.own.k_factor_db, cfg.own.los_phase, cfg.own.equalizer) == (3.0, None, "lmmse")
    assert cfg.settings() == {"k_factor_db": 3.0}  # what the entry sets, passed to the constructor
    again = ChannelConfig.model_validate(cfg.model_dump(exclude_unset=True))  # the controls' round trip
    assert again == cfg


DEFENSE_DUMPS = [  # config_key of (the dump, the dump without unset keys), main at 9485564
    ({"kind": "none"}, "238cf0e100e6efda", "2ff9cdff091aef6f"),
    ({"kind": "adversarial", "eps": 2.0, "epochs": 2}, "c4c7d60aab923ceb", "695bd78881eab617"),
    ({"kind": "consistency", "eps": 1.0, "beta": 3}, "5fc4304896120a0f", "1d8ed543bbf0204b"),
    ({"kind": "pgd-matched", "eps": 1.0, "restarts": 2, "draw": "fixed"}, "86c72fb4ea9d4aff", "162796ede44be00f"),
    ({"kind": "smoothing", "sigma": 0.5, "draws": 4, "certify_draws": 100, "label": "s"},
     "ae9a117994942134", "32d299a8ec5136b7"),
]


@pytest.mark.parametrize(("entry", "full", "unset"), DEFENSE_DUMPS, ids=[e["kind"] for e, *_ in DEFENSE_DUMPS])
def test_defence_entry_dumps_are_unchanged(entry, full, unset):
    """A point's journal fingerprint and results.json hold the defence entry's dump; the controls
    re-read its dump without unset keys."""
    from semcom.study.scenario import DefenseConfig

    cfg = DefenseConfig(**entry)
    assert config_key(cfg.model_dump(mode="json")) == full
    assert config_key(cfg.model_dump(mode="json", exclude_unset=True)) == unset
    assert DefenseConfig.model_validate(cfg.model_dump(exclude_unset=True)) == cfg


def test_defence_entry_holds_its_kinds_settings_class():
    from semcom.defenses import get_defense
    from semcom.study.scenario import DefenseConfig

    cfg = DefenseConfig(kind="consistency", eps=1.0, beta=3)
    assert type(cfg.own) is get_defense("consistency").Settings and cfg.own.beta == 3.0
    assert cfg.settings() == {"beta": 3.0}
    assert DefenseConfig(kind="consistency", eps=1.0).own.beta == 1.0  # the defence's own default


@pytest.mark.parametrize(("entry", "expected"), [
    ({"kind": "laser"}, "defenses[0].kind: must be one of 'adversarial'"),
    ({"kind": "smoothing", "beta": 2}, "defenses[0].beta: unknown key; this kind's settings are `sigma`, `draws`"),
    ({"kind": "consistency", "eps": 1.0, "beta": 0}, "defenses[0].beta: must be > 0"),
    ({"kind": "adversarial", "eps": 1.0, "certify_draws": 100}, "defenses[0]: the `adversarial` defence takes no "
                                                                 "`certify_draws`"),
])
def test_bad_defence_entries_name_the_key(entry, expected):
    from semcom.study.scenario import ScenarioError, parse_scenario

    doc = {"name": "s", "models": [{"variant": "ae"}], "defenses": [entry], "adversary": {"eps": [0, 1], "attacks": [
        {"kind": "gaussian"}]}}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(doc, "s.yaml")
    assert str(err.value).startswith(f"s.yaml: {expected}"), str(err.value)
    assert "\n" not in str(err.value)


def test_algorithm1_kinds_come_from_the_defences_usable_in_training():
    from semcom.defenses import defense_kinds
    from semcom.study.model_entry import AdversarialTrainingConfig

    usable = sorted(k for k, d in defense_kinds().items() if d.in_training)
    assert usable == ["adversarial", "adversarial-multi-eps", "finetune", "noise"]  # the schema's list before
    with pytest.raises(ValueError, match="must be one of 'adversarial', 'adversarial-multi-eps', 'finetune', 'noise'"):
        AdversarialTrainingConfig(kind="smoothing", eps=1.0)


def test_lpips_is_a_pgd_distance_whatever_was_imported_first():
    """In a fresh process that imports only the attacks' base, ``lpips`` is a PGD distance (the
    registry loads semcom's perceptual module) and a PGD entry may name it."""
    import subprocess
    import sys

    code = ("from semcom.attacks.base import make_attack, pgd_distances\n"
            "assert 'lpips' in pgd_distances(), sorted(pgd_distances())\n"
            "from adversary import DISTANCES\n"
            "assert 'lpips' in DISTANCES\n"
            "print(make_attack('pgd', distance='lpips').distance)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "lpips"


def test_attack_entries_are_the_registered_classes_with_their_behaviour():
    from semcom.attacks.base import attack_kinds
    from semcom.study.scenario import AdversaryConfig

    adv = AdversaryConfig(eps=[0, 1], attacks=[{"kind": k} for k in sorted(attack_kinds())])
    for entry in adv.attacks:
        cls = attack_kinds()[entry.kind]
        assert type(entry) is cls and cls.description
        assert cls.perturb_within is not attack_kinds()["pgd"].__mro__[1].perturb_within  # each has its own
    assert [a.name for a in adv.attacks] == ["blackbox-untargeted", "gaussian", "pgd-untargeted",
                                             "universal-untargeted"]  # the labels users see, as before


HARDENING_KEYS = [  # config_key(asdict(entry.hardening(seed))), computed with main at 03959c5
    ({"kind": "finetune"}, "8a2a6c324c465097"),
    ({"kind": "adversarial", "eps": 1.0}, "ee030e13a234eb95"),
    ({"kind": "smoothing", "sigma": 0.5, "draws": 4}, "f5de58eb83a319ba"),
    ({"kind": "consistency", "eps": 1.0, "beta": 2.0, "epochs": 2, "lr": 1e-3}, "c38e89d3ed4d89ff"),
    ({"kind": "pgd-matched", "eps": 2.0, "restarts": 2, "steps": 5, "k": 2, "distance": "mse"}, "a631bd9910515291"),
    ({"kind": "noise", "eps": 2.0}, "4c7f2def20cbc3b4"),
]
ALGORITHM1_KEYS = [  # the same for a model entry's `adversarial` (paper Algorithm 1), seed 7
    ({"kind": "adversarial", "eps": 0.5, "k": 2}, "539547dfb4802839"),
    ({"kind": "finetune"}, "37c0de6912fab77e"),
    ({"kind": "noise", "eps": 1.0, "lr": 1e-4}, "04ac565300402d94"),
]


@pytest.mark.parametrize(("entry", "key"), HARDENING_KEYS, ids=[e["kind"] for e, _ in HARDENING_KEYS])
def test_hardened_receiver_keys_are_unchanged(entry, key):
    """The defence part of a hardened receiver's store key (semcom.defenses.hardening.get_or_harden)."""
    from semcom.study.scenario import DefenseConfig

    assert config_key(asdict(DefenseConfig(**entry).hardening(3))) == key


@pytest.mark.parametrize(("entry", "key"), ALGORITHM1_KEYS, ids=[e["kind"] for e, _ in ALGORITHM1_KEYS])
def test_algorithm1_keys_are_unchanged(entry, key):
    from semcom.study.model_entry import AdversarialTrainingConfig

    assert config_key(asdict(AdversarialTrainingConfig(**entry).hardening(7))) == key


def _variant_doc(tmp_path, entry):
    import yaml

    path = tmp_path / "v.yaml"
    doc = {"models": [entry], "adversary": {"eps": [0, 1], "attacks": [{"kind": "gaussian"}]}}
    path.write_text(yaml.safe_dump(doc))
    return path


def _validate(path):
    from click.testing import CliRunner

    from semcom.cli import main

    result = CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)
    return result.exit_code, result.output.strip()


BAD_VALUES = {"weight": (-1, "must be ≥ 0"), "bandwidth_ratio": (2, "must be ≤ 1"),
              "power": ("loud", "input should be")}
"""A value out of range per variant setting, and what the error says."""


def _variant_names():
    from semcom.models import VARIANTS

    return sorted(VARIANTS)


@pytest.mark.parametrize("variant", _variant_names())
def test_a_setting_a_variant_does_not_take_is_one_line_naming_it_and_what_it_takes(variant, tmp_path):
    from semcom.models import VARIANTS

    fields = VARIANTS[variant].Settings.model_fields
    key = "bandwidth_ratio" if "bandwidth_ratio" not in fields else "weight"
    code, output = _validate(_variant_doc(tmp_path, {"variant": variant, key: 0.5}))
    takes = ", ".join(f"`{name}`" for name in fields)
    assert code == 2 and "\n" not in output, output
    assert output.endswith(f"models[0].{key}: unknown key; the {variant} variant's settings are {takes}"), output


@pytest.mark.parametrize("variant", _variant_names())
def test_each_variant_setting_is_range_checked_naming_the_key(variant, tmp_path):
    from semcom.models import VARIANTS

    for key in VARIANTS[variant].Settings.model_fields:
        value, says = BAD_VALUES[key]
        code, output = _validate(_variant_doc(tmp_path, {"variant": variant, key: value}))
        assert code == 2 and "\n" not in output, output
        assert f"models[0].{key}: {says}" in output, output


def test_deepjscc_takes_per_image_power_only(tmp_path):
    code, output = _validate(_variant_doc(tmp_path, {"variant": "deepjscc", "power": "sigma_z"}))
    assert code == 2 and "models[0].power: input should be 'per_image'; got 'sigma_z'" in output, output
    assert _validate(_variant_doc(tmp_path, {"variant": "deepjscc", "power": "per_image"}))[0] == 0


def test_model_entry_holds_its_variants_settings_class_with_its_defaults():
    from semcom.models.variants.mmd import MMDSettings
    from semcom.study.model_entry import ModelConfig, PluginSettings

    m = ModelConfig(variant="vae-mmd", latent_dim=4)
    assert type(m.own) is MMDSettings and (m.own.weight, m.own.power) == (100.0, "sigma_z")
    assert m.settings() == {} and m.model_dump()["weight"] is None  # unset: the flat form's None, as before
    given = ModelConfig(variant="vae-mmd", weight=5)
    assert given.settings() == {"weight": 5.0} and "weight" in given.given and given.model_dump()["weight"] == 5.0
    plugin = ModelConfig(source="python", factory="pkg.mod:make", weight=2)
    assert type(plugin.own) is PluginSettings and plugin.trained and plugin.model_dump()["bandwidth_ratio"] is None
    assert not ModelConfig(source="python", factory="pkg.mod:make", power="per_image").trained


def test_list_shows_each_variants_settings_with_their_defaults():
    from click.testing import CliRunner

    from semcom.cli import main

    lines = CliRunner().invoke(main, ["list"]).output.splitlines()
    rows = {line.split()[0]: line for line in lines[1:lines.index("datasets:")]}
    assert sorted(rows) == _variant_names()
    assert "weight=100.0" in rows["vae-mmd"] and "weight=6.0" in rows["tcvae"] and "weight=1.0" in rows["vae-kld"]
    assert "bandwidth_ratio=0.0625" in rows["deepjscc"] and "power='per_image'" in rows["deepjscc"]
    assert "weight" not in rows["ae"] and "power='sigma_z'" in rows["ae"]
