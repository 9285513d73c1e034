"""DeepJSCC (Bourtsoulatze et al. 2019) and training through the channel (docs/design.md §7)."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio

from channels import PerImagePower, make_channel
from semcom.link import Link
from semcom.models import Autoencoder
from semcom.models.channel_training import TrainChannel, make_deliver
from semcom.models.training import TrainConfig, get_or_train, train_autoencoder
from semcom.study.store import ModelStore


def _deepjscc_link(shape, ratio, snr_db=10.0, kind="awgn"):
    torch.manual_seed(0)
    model = Autoencoder("deepjscc", 1, shape, bandwidth_ratio=ratio).eval()
    return model, Link(model, make_channel(kind), scale=2**0.5, snr_db=snr_db)


@pytest.mark.parametrize(("shape", "ratio"), [((1, 28, 28), 1 / 16), ((1, 28, 28), 1 / 8),
                                               ((3, 32, 32), 1 / 12), ((3, 32, 32), 1 / 6), ((3, 16, 24), 1 / 6)])
def test_channel_uses_per_image_are_bandwidth_ratio_times_source_values(shape, ratio):
    model, link = _deepjscc_link(shape, ratio)
    x = torch.rand(2, *shape)
    with torch.no_grad():
        symbols = link.mapper.to_symbols(link.transmitter(x))
        out = link(x, generator=torch.Generator().manual_seed(0))
    pixels = shape[0] * shape[1] * shape[2]
    assert symbols.shape == (2, Fraction(ratio).limit_denominator(100) * pixels)  # k/n × n complex uses
    assert out.shape == x.shape and bool(((out >= 0) & (out <= 1)).all())  # sigmoid output


def test_bandwidth_ratio_and_size_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="divisible by 4"):
        Autoencoder("deepjscc", 1, (1, 30, 30))
    with pytest.raises(ValueError, match="bandwidth_ratio"):
        Autoencoder("deepjscc", 1, (1, 28, 28), bandwidth_ratio=1 / 6)
    with pytest.raises(ValueError, match="per_image"):
        Autoencoder("deepjscc", 1, (1, 28, 28), power="sigma_z")


@pytest.mark.parametrize("k", [7, 98])
def test_per_image_power_constraint_holds_for_every_image(k):
    """Every image's symbols have average power 1 (odd k too: the pad carries no energy)."""
    from channels import PER_IMAGE_SCALE, SymbolMapper

    z = torch.randn(16, k, dtype=torch.float64) * torch.logspace(-3, 3, 16, dtype=torch.float64)[:, None]
    c = SymbolMapper(k, PER_IMAGE_SCALE).to_symbols(PerImagePower(k)(z))
    power = c.abs().square().mean(1)  # [16]; the mapper keeps its scale in float32, hence 1e-6
    assert torch.allclose(power, torch.ones(16, dtype=torch.float64), atol=1e-6, rtol=0)


def test_deepjscc_link_and_per_image_vae_transmit_unit_power_per_image(mnist):
    x = mnist[1].images[:10]
    _, link = _deepjscc_link((1, 28, 28), 1 / 16)
    torch.manual_seed(0)
    vae = Autoencoder("vae-kld", 9, (1, 28, 28), power="per_image").eval()
    for lk in (link, Link(vae, make_channel("awgn"), scale=2**0.5, snr_db=10.0)):
        with torch.no_grad():
            power = lk.mapper.to_symbols(lk.transmitter(x)).abs().square().mean(1)
        assert (power - 1).abs().max() < 1e-5


def test_channel_gradients_reach_the_encoder(mnist):
    """Through the AWGN channel the encoder gets a gradient, and the channel's noise changes it."""
    x = mnist[0].images[:8]
    grads = []
    for channel in (None, TrainChannel("awgn", 0.0)):
        torch.manual_seed(0)
        model = Autoencoder("deepjscc", 1, (1, 28, 28))
        deliver = make_deliver(model.latent_dim, model.power, channel, seed=0)
        model(x, deliver=deliver).loss.backward()
        grads.append(model.encoder.body[0].weight.grad.clone())
    assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)
    assert not torch.allclose(grads[0], grads[1])


@pytest.mark.slow
def test_training_through_a_channel_is_reproducible_from_the_seed(mnist, tmp_path):
    images = mnist[0].images[:64]
    channel = TrainChannel("rayleigh", snr_range=(0.0, 20.0))
    runs = [train_autoencoder(TrainConfig("deepjscc", epochs=1, batch_size=32, seed=s, train_channel=channel),
                              images, progress=False).state_dict() for s in (3, 3, 4)]
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert any(not torch.equal(runs[0][k], runs[2][k]) for k in runs[0])


@pytest.mark.slow
def test_trained_through_awgn_beats_trained_without_a_channel_at_low_snr(mnist, tmp_path):
    """The reason DeepJSCC trains through the channel: at 0–5 dB the AWGN-10 dB model wins."""
    train, test = mnist[0].images[:1000], mnist[1].images[:200]
    store = ModelStore(tmp_path)
    psnr = {}
    for name, channel in (("none", None), ("awgn", TrainChannel("awgn", 10.0))):
        cfg = TrainConfig("deepjscc", epochs=6, batch_size=32, lr=1e-3, train_channel=channel)
        trained = get_or_train(cfg, train, {"name": "mnist-embedded", "subset": 1000}, store, progress=False)
        assert trained.meta["power"] == "per_image" and trained.sigma_z == 1.0
        assert (trained.meta["train_channel"] or {}).get("kind") == (channel and "awgn")
        link = Link.from_trained(trained, make_channel("awgn"))
        for snr in (0.0, 5.0):
            link.snr_db = snr
            with torch.no_grad():
                out = link(test, generator=torch.Generator().manual_seed(9))
            psnr[name, snr] = float(peak_signal_noise_ratio(out, test, data_range=1.0))
    for snr in (0.0, 5.0):
        assert psnr["awgn", snr] > psnr["none", snr] + 0.5, psnr


def test_a_bandwidth_ratio_that_does_not_fit_the_data_is_one_line_exit_2(tmp_path, monkeypatch):
    import yaml
    from click.testing import CliRunner

    from semcom.cli import main

    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path / "store"))
    doc = {"name": "bad", "data": {"test_samples": 10},
           "models": [{"variant": "deepjscc", "bandwidth_ratio": 0.1, "epochs": 1}],
           "channels": [{"kind": "awgn", "snr_db": [10]}],
           "adversary": {"psr_db": [-10, 0], "attacks": [{"kind": "gaussian"}]}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "run")], catch_exceptions=False)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    expected = f"error: {path}: models[0].bandwidth_ratio: `bandwidth_ratio` 0.1 gives 3.2 code channels"
    assert lines[0].startswith(expected), lines[0]
    assert not (tmp_path / "run").exists()
