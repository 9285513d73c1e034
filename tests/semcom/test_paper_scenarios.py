"""The shipped paper scenarios encode the paper's experiments; per-data-set latent defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from semcom.study.scenario import LATENT_DIMS, load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _load(name):
    return load_scenario(SCENARIOS / f"{name}.yaml")


def _black_pgd(sc):
    return [a for a in sc.adversary.attacks if a.kind == "pgd" and a.target == "black"]


@pytest.mark.parametrize(("name", "variants"), [
    ("paper_vae_variants", {"vae-kld", "vae-mmd", "vae-swt"}),
    ("paper_vae_variants_fashion", {"vae-kld", "vae-mmd", "vae-swt"}),
    ("paper_vae_vs_dae", {"vae-mmd", "dae-mmd", "vae-swt", "dae-swt"}),
])
def test_tables_1_and_2(name, variants):
    sc = _load(name)
    assert {m.variant for m in sc.models} == variants
    assert len(_black_pgd(sc)) == 1 and {"ssim", "lpips"} <= set(sc.metrics)
    same_training = {(m.latent_dim, m.epochs, m.batch_size, m.lr, m.adversarial) for m in sc.models}
    assert len(same_training) == 1


def test_fashion_uses_its_data_and_latent_size():
    sc = _load("paper_vae_variants_fashion")
    assert sc.data.name == "fashion-mnist" and not sc.data.own.download
    assert {m.latent_dim for m in sc.models} == {LATENT_DIMS["fashion-mnist"]} == {30}


def test_table_3_betas():
    sc = _load("paper_tcvae_beta")
    assert {m.variant for m in sc.models} == {"tcvae"}
    assert sorted(m.own.weight for m in sc.models) == [1, 5, 10, 30, 50]
    assert len(_black_pgd(sc)) == 1 and {"ssim", "lpips", "psnr"} <= set(sc.metrics)


def test_figure_10_compares_the_same_model_with_and_without_algorithm_1():
    sc = _load("paper_adversarial_training")
    by_label = {m.name: m for m in sc.models}
    regular, adversarial = by_label["regular"], by_label["adversarial"]
    assert regular.adversarial is None and adversarial.adversarial.kind == "adversarial"
    assert adversarial.adversarial.distance == "ssim"  # paper §3.2
    assert regular.model_dump(exclude={"label", "adversarial"}) == adversarial.model_dump(
        exclude={"label", "adversarial"})
    assert adversarial.adversarial.eps in sc.adversary.budget_values  # its ε_train is on the curve
    assert any(a.kind == "pgd" and a.target is None for a in sc.adversary.attacks)


@pytest.mark.parametrize(("data", "expected"), [
    (None, 10), ({"name": "mnist-embedded"}, 10), ({"name": "fashion-mnist"}, 30),
    ({"name": "celeba"}, 128),
])
def test_latent_size_defaults_per_data_set(data, expected):
    doc = {"models": [{"variant": "ae"}, {"variant": "ae", "label": "own", "latent_dim": 3}],
           "adversary": {"eps": [0, 1], "attacks": [{"kind": "gaussian"}]}}
    if data is not None:
        doc["data"] = data
    sc = parse_scenario(doc, "x.yaml", default_name="x")
    assert [m.latent_dim for m in sc.models] == [expected, 3]


def test_the_latent_scale_study_attacks_the_tables_models_on_the_psr_axis():
    sc = _load("paper_latent_scale")
    assert sc.adversary.budget_axis == "psr_db"
    assert len(_black_pgd(sc)) == 1 and any(a.kind == "gaussian" for a in sc.adversary.attacks)
    tables = [m for name in ("paper_vae_variants", "paper_vae_vs_dae") for m in _load(name).models]
    # the same settings as the tables' models, so the model store reuses them
    assert all(m.model_dump() in [t.model_dump() for t in tables] for m in sc.models)
