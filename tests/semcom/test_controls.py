"""The automatic control: one ``finetune`` per fine-tuning setting, the same optimizer steps as its defence."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import asdict

import pytest
import torch

from semcom.defenses.controls import comparisons, with_controls
from semcom.defenses.hardening import harden_receiver
from semcom.link import build_link
from semcom.models.training import TrainConfig, train_autoencoder
from semcom.study.runner import _plan, grid
from semcom.study.scenario import parse_scenario
from semcom.study.store import config_key

ADVERSARY = {"eps": [0, 1.0], "attacks": [{"kind": "pgd", "steps": 2}]}


def _scenario(**doc):
    return parse_scenario({"name": "s", "models": [{"latent_dim": 4, "epochs": 1}], "adversary": ADVERSARY,
                           **doc}, "test.yaml")


def test_one_control_per_distinct_setting_unless_listed_or_turned_off():
    sc = _scenario(defenses=[{"kind": "none"}, {"kind": "adversarial", "eps": 1.0, "epochs": 2},
                             {"kind": "noise", "eps": 2.0, "epochs": 2},
                             {"kind": "noise", "eps": 1.0, "epochs": 1, "label": "noise1"},
                             {"kind": "adversarial-multi-eps", "eps": 2.0, "epochs": 2, "lr": 1e-3}])
    full = with_controls(sc)
    added = [d for d in full.defenses if d.kind == "finetune"]
    settings = sorted((d.epochs, d.k, d.lr) for d in added)
    assert settings == [(1, 1, 5e-4), (2, 1, 5e-4), (2, 1, 1e-3)]
    assert full.defenses[: len(sc.defenses)] == sc.defenses  # the listed ones first, unchanged
    pairs = {c["hardened"]["defense"]: c["control"]["defense"] for c in comparisons(full.model_dump(mode="json"))}
    by_label = {d.name: d for d in full.defenses}
    for defense, control in pairs.items():
        d, c = by_label[defense], by_label[control]
        assert c.kind == "finetune" and (c.epochs, c.k, c.lr) == (d.epochs, d.k, d.lr)
    # a listed finetune with the setting is the control; nothing added for it
    listed = _scenario(defenses=[{"kind": "none"}, {"kind": "noise", "eps": 1.0}, {"kind": "finetune", "label": "ft"}])
    assert with_controls(listed) is listed
    assert comparisons(listed.model_dump(mode="json"))[0]["control"] == {"model": "vae-kld", "defense": "ft"}
    off = _scenario(defenses=[{"kind": "none"}, {"kind": "noise", "eps": 1.0}], auto_control=False)
    assert with_controls(off) is off
    plain = _scenario()
    assert with_controls(plain) is plain  # no defence: the scenario as it was


def test_algorithm1_model_gets_the_same_model_with_unperturbed_decoder_steps():
    sc = _scenario(models=[{"label": "regular", "latent_dim": 4, "epochs": 1},
                           {"label": "alg1", "latent_dim": 4, "epochs": 1,
                            "adversarial": {"eps": 1.0, "k": 2, "lr": 3e-4}}])
    full = with_controls(sc)
    control = full.models[-1]
    assert [m.name for m in full.models] == ["regular", "alg1", "alg1-control"]
    assert control.adversarial.kind == "finetune" and control.adversarial.eps is None
    assert (control.adversarial.k, control.adversarial.lr) == (2, 3e-4)
    assert control.model_dump(exclude={"label", "adversarial"}) == sc.models[1].model_dump(
        exclude={"label", "adversarial"})
    (pair,) = comparisons(full.model_dump(mode="json"))
    assert pair["kind"] == "algorithm1:adversarial"
    assert pair["control"]["model"] == "alg1-control" and pair["baseline"]["model"] == "regular"
    assert with_controls(full) is full  # idempotent: the control is now listed


def test_existing_scenarios_plan_the_same_store_keys():
    """The training and hardening jobs main planned before the control existed keep their keys; the
    control and the replicates only add jobs."""
    import yaml

    from semcom.study.scenario import parse_scenario

    for name, trains, hardens in KEYS:
        doc = yaml.safe_load(open(f"scenarios/{name}.yaml", encoding="utf-8"))
        doc["defenses"] = OLD_DEFENSES.get(name, doc.get("defenses", [{"kind": "none"}]))
        sc = with_controls(parse_scenario(doc, name))
        plan = _plan(sc, list(grid(sc)), {}, {}, ["ssim"])
        assert set(trains) <= set(plan.train), name
        keys = {k: config_key(asdict(j.cfg)) for k, j in plan.harden.items()}
        assert hardens.items() <= keys.items(), name


OLD_DEFENSES = {"jammed_mnist": [  # its defences at f15ee58 (it now hardens by smoothing)
    {"kind": "none"}, {"kind": "adversarial-multi-eps", "eps": 2.0, "epochs": 2, "steps": 5}]}
KEYS = [  # computed with main at f15ee58
    ("jammed_mnist", ["train:cda35360ef79233c"],
     {"receiver:vae-kld/adversarial-multi-eps/awgn/20.0": "444bd7ffd0266a6e",
      "receiver:vae-kld/adversarial-multi-eps/ideal/None": "444bd7ffd0266a6e"}),
    ("paper_adversarial_training", ["train:7bf2647b722abcdf", "train:8711e5667796f50f", "train:90210289d6b0601a"],
     {}),
]


class _CountSteps:
    """Counts ``torch.optim.Adam.step`` calls (every optimizer of hardening and Algorithm 1)."""

    def __init__(self, monkeypatch):
        self.n = 0
        step = torch.optim.Adam.step

        def counted(opt, *args, **kwargs):
            self.n += 1
            return step(opt, *args, **kwargs)

        monkeypatch.setattr(torch.optim.Adam, "step", counted)


@pytest.mark.slow
def test_control_runs_exactly_the_optimizer_steps_of_its_defence(tiny_vae, mnist, monkeypatch):
    train, _ = mnist
    images = train.images[:150]  # 3 minibatches of 64, 64, 22
    sc = with_controls(_scenario(defenses=[{"kind": "none"}, {"kind": "adversarial", "eps": 1.0, "epochs": 2,
                                                                 "k": 2, "steps": 2}]))
    plan = _plan(sc, list(grid(sc)), {}, {"vae-kld": tiny_vae}, ["ssim"])
    jobs = {job.cfg.kind: job for job in plan.harden.values()}
    assert set(jobs) == {"adversarial", "finetune"}
    counter = _CountSteps(monkeypatch)
    steps = {}
    for kind, job in jobs.items():
        counter.n = 0
        own = dataclasses.replace(tiny_vae, model=copy.deepcopy(tiny_vae.model))  # the fixture stays as trained
        harden_receiver(build_link(own, job.channel, job.snr_db), images, job.cfg, progress=False)
        steps[kind] = counter.n
    assert steps["finetune"] == steps["adversarial"] == 2 * 3 * (1 + 2)  # epochs × batches × (clean + k)

    alg1 = with_controls(_scenario(models=[{"latent_dim": 4, "epochs": 1, "adversarial": {"eps": 1.0, "steps": 2}}]))
    for m in alg1.models:
        counter.n = 0
        train_autoencoder(TrainConfig.from_entry(m, 0), images, progress=False)
        steps[m.adversarial.kind] = counter.n
    assert steps["finetune"] == steps["adversarial"] == 3 * (1 + 1)  # batches × (regular + k)
