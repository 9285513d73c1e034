"""Receiver hardening: it must help at its training budget and must not touch the transmitter."""

import copy

import torch

from adversary import pgd
from channels import make_channel
from semcom.defenses.hardening import HardeningConfig, harden_receiver
from semcom.link import Link
from semcom.metrics.quality import get_metric

EPS_TRAIN = 1.5


def _link(model, sigma_z):
    return Link(model, make_channel("ideal"), scale=2**0.5 * sigma_z, snr_db=None)


def _ssim_under_pgd(link, x, eps):
    with torch.no_grad():
        z = link.transmitter(x)
        clean = link.receiver.decoder(z)
    delta = pgd(lambda d: link.deliver(z + d), z, eps=eps, reference=clean).delta
    with torch.no_grad():
        return get_metric("ssim").fn(link.deliver(z + delta), x).mean().item()


def test_hardening_raises_ssim_at_eps_train_and_leaves_encoder_alone(tiny_vae, mnist):
    train, test = mnist
    model = copy.deepcopy(tiny_vae.model)
    encoder_before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    link = _link(model, tiny_vae.sigma_z)
    x = test.images[:100]
    before = _ssim_under_pgd(_link(tiny_vae.model, tiny_vae.sigma_z), x, EPS_TRAIN)
    cfg = HardeningConfig(kind="adversarial", eps=EPS_TRAIN, steps=5, epochs=1, seed=0)
    harden_receiver(link, train.images[:1500], cfg, progress=False)
    after = _ssim_under_pgd(link, x, EPS_TRAIN)
    assert after > before + 0.02, (before, after)
    for k, v in model.encoder.state_dict().items():
        assert torch.equal(v, encoder_before[k]), f"encoder tensor {k} changed"
    changed = [k for k, v in model.decoder.state_dict().items()
               if not torch.equal(v, tiny_vae.model.decoder.state_dict()[k])]
    assert changed, "the receiver must have been fine-tuned"
