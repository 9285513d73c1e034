"""The latent statistics the sweep hands back (paper Eq. 7, clean/adversarial latents) and t-SNE."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from channels import make_channel
from semcom.attacks.base import make_attack
from semcom.attacks.threats import Engagement
from semcom.link import Link
from semcom.report.latent_report import tsne_2d
from semcom.study.sweep import sweep_attack

EPS = [0.0, 0.5, 1.5]


def _sweep(trained, images, spec, **kwargs):
    link = Link(trained.model, make_channel("ideal"), scale=2**0.5 * trained.sigma_z, snr_db=None)
    return link, sweep_attack(Engagement(link, spec, batch_size=16), images, EPS, metric_names=["mse"],
                              grid_samples=1, **kwargs)


@pytest.mark.parametrize("spec", [make_attack("gaussian", label="gaussian"),
                                  make_attack("pgd", label="pgd-black", target="black", steps=3)])
def test_eq7_mean_absolute_latent_difference(tiny_vae, mnist, spec):
    images = mnist[1].images[:40]
    link, result = _sweep(tiny_vae, images, spec)
    k = tiny_vae.model.latent_dim
    diff = np.asarray(result.latent_abs_diff)  # [len(EPS), k]
    assert diff.shape == (len(EPS), k)
    assert np.all(diff[0] == 0), "no perturbation at ε = 0"
    for eps, row in zip(EPS[1:], diff[1:], strict=True):
        l1 = row.sum()  # mean over images of ‖δ‖₁, and ‖δ‖₂ ≤ ε ⇒ ‖δ‖₁ ≤ √k·ε
        assert 0 < l1 <= np.sqrt(k) * eps * (1 + 1e-5)
        if spec.kind == "gaussian":  # exactly on the sphere: ‖δ‖₁ ≥ ‖δ‖₂ = ε
            assert l1 >= eps * (1 - 1e-5)
    # the kept latents: every test image here, clean and adversarial at the largest ε
    clean, adversarial = result.latents
    assert result.latents.shape == (2, 40, k)
    with torch.no_grad():
        expected = link.eval().transmitter(images).numpy()  # a new Link starts in train mode
    np.testing.assert_allclose(clean, expected, atol=1e-5)
    norms = np.linalg.norm(adversarial - clean, axis=1)
    assert norms.max() <= EPS[-1] * (1 + 1e-4) and norms.min() > 0
    np.testing.assert_allclose(np.abs(adversarial - clean).mean(0), diff[-1], rtol=1e-4, atol=1e-6)


def test_only_the_first_latent_samples_are_kept(tiny_vae, mnist):
    _, result = _sweep(tiny_vae, mnist[1].images[:40], make_attack("gaussian", label="gaussian"),
                       latent_samples=10)
    assert result.latents.shape == (2, 10, tiny_vae.model.latent_dim)


def test_tsne_keeps_separate_clusters_apart_and_is_seeded():
    rng = np.random.default_rng(0)
    blobs = np.concatenate([rng.normal(0, 1, (60, 10)), rng.normal(8, 1, (60, 10))])
    labels = np.repeat([0, 1], 60)
    emb = tsne_2d(blobs, seed=3)
    assert emb.shape == (120, 2) and np.isfinite(emb).all()
    dist = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    np.fill_diagonal(dist, np.inf)
    assert (labels[dist.argmin(1)] == labels).mean() >= 0.95  # nearest neighbour in its own blob
    np.testing.assert_array_equal(emb, tsne_2d(blobs, seed=3))
