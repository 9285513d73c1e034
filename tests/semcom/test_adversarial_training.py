"""Latent adversarial training (paper Algorithm 1) from a scenario's model entry.

Two models are trained identically on the same real digits, one with
``adversarial: {eps: ε_train}``; under untargeted latent PGD at ε_train the
adversarially trained decoder must reconstruct better (paper Fig. 10).
"""

from __future__ import annotations

import torch

from adversary import pgd
from semcom.metrics.quality import get_metric
from semcom.models.training import TrainConfig, get_or_train
from semcom.study.scenario import ModelConfig
from semcom.study.store import ModelStore

EPS_TRAIN = 1.5
BASE = {"variant": "vae-kld", "latent_dim": 8, "epochs": 2, "batch_size": 16}


def _ssim_under_pgd(model, x, eps):
    with torch.no_grad():
        z = model.encode(x)
        clean = model.decode(z)
    delta = pgd(lambda d: model.decode(z + d), z, eps=eps, reference=clean).delta
    with torch.no_grad():
        return get_metric("ssim").fn(model.decode(z + delta), x).mean().item()


def test_algorithm1_from_the_scenario_trains_and_helps_at_eps_train(mnist, tmp_path):
    train, test = mnist
    images, x = train.images[:1000], test.images[:100]
    store = ModelStore(tmp_path)
    data_key = {"name": "mnist-embedded", "subset": 1000}
    plain_cfg = ModelConfig(**BASE)
    adv_cfg = ModelConfig(**BASE, adversarial={"eps": EPS_TRAIN, "steps": 2})
    assert adv_cfg.adversarial.distance == "ssim" and adv_cfg.adversarial.k == 1  # paper defaults

    cfg = TrainConfig.from_entry(adv_cfg, seed=0)
    assert cfg.adversarial.kind == "adversarial" and cfg.adversarial.eps == EPS_TRAIN
    assert TrainConfig.from_entry(plain_cfg, seed=0).adversarial is None
    plain = get_or_train(TrainConfig.from_entry(plain_cfg, seed=0), images, data_key, store, progress=False)
    adv = get_or_train(cfg, images, data_key, store, progress=False)
    assert adv.key != plain.key, "Algorithm 1 is part of the store key"

    before = _ssim_under_pgd(plain.model, x, EPS_TRAIN)
    after = _ssim_under_pgd(adv.model, x, EPS_TRAIN)
    assert after > before + 0.03, (before, after)
