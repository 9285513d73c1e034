"""The smoothed receiver's certificate: its statistics against scipy, and PGD + EOT never beats it."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from adversary import pgd
from semcom.defenses.certificate import (
    certificate_record,
    certificate_table,
    certified_interval,
    certify,
    confidence_interval,
    trivial_mse,
)
from semcom.defenses.smoothing import SmoothedDecoder


def test_clopper_pearson_matches_scipy():
    n, alpha = 50, 0.01
    k = torch.tensor([0, 1, 7, 25, 49, 50])
    lo, hi = confidence_interval(k, k / n, n, alpha)
    for i, ki in enumerate(k.tolist()):
        ci = stats.binomtest(ki, n).proportion_ci(confidence_level=1 - alpha, method="exact")
        assert lo[i].item() == pytest.approx(ci.low, rel=1e-6, abs=1e-9)
        assert hi[i].item() == pytest.approx(ci.high, rel=1e-6)


def test_hoeffding_radius_and_gaussian_lipschitz_interval_match_scipy():
    mean = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    lo, hi = confidence_interval(None, mean, 200, 0.05, "hoeffding")
    t = math.sqrt(math.log(2 / 0.05) / 400)
    torch.testing.assert_close(hi - mean, torch.full_like(mean, t))
    L, U = certified_interval(lo, hi, eps=0.3, sigma=0.5)
    np.testing.assert_allclose(L.numpy(), stats.norm.cdf(stats.norm.ppf(lo.numpy()) - 0.6), rtol=1e-10)
    np.testing.assert_allclose(U.numpy(), stats.norm.cdf(stats.norm.ppf(hi.numpy()) + 0.6), rtol=1e-10)
    L0, U0 = certified_interval(lo, hi, eps=0.0, sigma=0.5)
    torch.testing.assert_close(L0, lo)
    torch.testing.assert_close(U0, hi)


@pytest.mark.slow
def test_pgd_with_eot_never_exceeds_the_certified_bound(mnist, tmp_path):
    """On a small trained VAE's smoothed decoder, the strongest PGD + EOT we run stays inside the
    certified per-pixel intervals, and so below the certified worst-case MSE.

    The attacked output ``ĝ(z + δ)`` is estimated from ``N`` fresh draws; its own Monte-Carlo error
    is accounted for by widening the certified interval by the Hoeffding radius at level
    ``1e-3 / (images · pixels)`` (all pixels of all images at once). The certificate is at
    α = 1e-3 per image, so a violation would be a bug, not bad luck.
    """
    from semcom.models.training import TrainConfig, get_or_train
    from semcom.study.store import ModelStore

    train, test = mnist
    trained = get_or_train(TrainConfig(variant="vae-kld", latent_dim=4, epochs=2, seed=0), train.images[:400],
                           {"name": "mnist-embedded", "subset": 400}, ModelStore(tmp_path), progress=False)
    model = trained.model.eval()
    smoothed = SmoothedDecoder(model.decoder, sigma=0.5, draws=16)
    x = test.images[:12]
    with torch.no_grad():
        z = model.encoder(x)[:, : model.latent_dim]
    gen = torch.Generator().manual_seed(0)
    cert = certify(smoothed, z, n=400, alpha=1e-3, generator=gen)
    n_eval, pixels = 1500, x[0].numel()
    margin = math.sqrt(math.log(2 * x.shape[0] * pixels / 1e-3) / (2 * n_eval))
    trivial = trivial_mse(x)
    for eps in (0.25, 1.0):
        attack_gen = torch.Generator().manual_seed(1)
        with torch.no_grad():
            clean = smoothed(z, generator=attack_gen)
        delta = pgd(lambda d, g=attack_gen: smoothed(z + d, generator=g), z, eps=eps, reference=x, distance="mse",
                    steps=10, restarts=2, generator=attack_gen).delta  # maximise the error to the input
        with torch.no_grad():
            attacked = smoothed.noisy(z + delta, n_eval, torch.Generator().manual_seed(2)).clamp(0, 1).mean(0)
        lo, hi = cert.interval(eps)
        assert (attacked >= lo - margin).all() and (attacked <= hi + margin).all()
        widened_lo, widened_hi = (lo - margin).clamp(0, 1), (hi + margin).clamp(0, 1)
        bound = torch.maximum((widened_hi - x).abs(), (x - widened_lo).abs()).pow(2).flatten(1).mean(1)
        empirical = (attacked - x).pow(2).flatten(1).mean(1)
        assert (empirical <= bound).all()
        assert (empirical > (clean - x).pow(2).flatten(1).mean(1)).any()  # the attack did damage
    # not vacuous: at the smallest budget the certified MSE is below the trivial bound, for every image
    assert (cert.worst_mse(0.25, x) < trivial).all()
    assert cert.worst_mse(0.25, x).mean() < 0.5 * trivial.mean()


def test_record_and_table_are_monotone_in_eps():
    from semcom.models import Autoencoder

    torch.manual_seed(0)
    model = Autoencoder("vae-kld", 4, (1, 28, 28)).eval()
    smoothed = SmoothedDecoder(model.decoder, sigma=0.5, draws=4)
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    z = torch.randn(4, 4, generator=torch.Generator().manual_seed(1))
    record = certificate_record(smoothed, z, x, [0.0, 0.5, 1.0], [{"mse": 0.01, "psnr": 20.0}] * 3, n=100)
    mses = [r["certified_mse"] for r in record["per_eps"]]
    assert mses == sorted(mses) and mses[-1] <= record["per_eps"][0]["trivial_mse"]
    table = certificate_table(record)
    assert table.count("\n| ") == 1 + 3 and "empirical" in table  # header and one row per ε


@pytest.mark.slow
def test_a_smoothing_run_records_certified_beside_empirical_per_eps(tmp_path):
    """The runner's hook: a smoothing defence with ``certify_draws`` on the ideal link gets a
    certificate record in results.json (not on the AWGN link, not for other defences)."""
    import json

    import yaml
    from click.testing import CliRunner

    from semcom.cli import main

    doc = {"name": "cert", "data": {"train_samples": 200, "test_samples": 8},
           "models": [{"variant": "vae-kld", "latent_dim": 4, "epochs": 1}],
           "defenses": [{"kind": "finetune", "epochs": 1},
                        {"kind": "smoothing", "sigma": 0.5, "draws": 2, "epochs": 1, "certify_draws": 50}],
           "channels": [{"kind": "ideal"}, {"kind": "awgn", "snr_db": [10]}],
           "adversary": {"eps": [0, 0.5], "attacks": [{"kind": "pgd", "steps": 2}]},
           "eval_batch_size": 8, "report": {"grid_samples": 2}}
    path = tmp_path / "cert.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "run")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    certs = json.loads((tmp_path / "run" / "results.json").read_text())["certificates"]
    assert [(c["defense"], c["channel"]) for c in certs] == [("smoothing", "ideal")]
    rows = certs[0]["per_eps"]
    assert [r["eps"] for r in rows] == [0.0, 0.5] and certs[0]["n"] == 50 and certs[0]["images"] == 8
    for r in rows:  # the M = 2 estimate's Monte-Carlo error is not bounded here: see the test above
        assert 0 < r["empirical_mse"] and r["certified_mse"] <= r["trivial_mse"] + 1e-9
    assert rows[0]["certified_mse"] < rows[1]["certified_mse"]
