"""Threat models on a real learned link: PSR budgets, universal, black-box, EOT, over the air,
class targets and semantic accuracy (the acceptance of issue 5)."""

import math

import pytest
import torch

from adversary import psr_db
from channels import make_channel
from semcom.attacks.base import make_attack
from semcom.attacks.threats import PLACEMENTS, Engagement, Threat
from semcom.link import Link
from semcom.study.sweep import sweep_attack

PSRS = [-20.0, -10.0, 0.0]
SPECS = [
    make_attack("pgd", label="pgd", steps=5),
    make_attack("pgd", label="pgd-options", steps=5, restarts=2, momentum=0.9, eot=2, random_start=True),
    make_attack("pgd", label="pgd-to-3", steps=5, target="class:3"),
    make_attack("pgd", label="pgd-black", steps=5, target="black"),
    make_attack("blackbox", label="blackbox", steps=3, samples=2),
    make_attack("gaussian", label="gaussian"),
]


def _link(trained, kind="ideal", snr_db=None):
    return Link(trained.model, make_channel(kind), scale=2**0.5 * trained.sigma_z, snr_db=snr_db)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def train_split(mnist):
    """A quarter of the training digits: enough for universal δ and class prototypes."""
    train, _ = mnist
    return train.images[:1000], train.labels[:1000]


def _sweep(link, mnist, spec, budgets, *, axis="psr_db", placement="in_transit", n=200,
           metrics=("ssim", "mse"), train=None, classifier=None, seed=0):
    _, test = mnist
    engagement = Engagement(link, spec, batch_size=100, seed=seed, budget_axis=axis, placement=placement,
                            labels=test.labels[:n], train=train, classifier=classifier)
    return sweep_attack(engagement, test.images[:n], budgets, metric_names=list(metrics), grid_samples=2)


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_every_perturbation_has_exactly_its_psr_budget(tiny_vae, mnist, train_split, spec,
                                                      placement):
    link = _link(tiny_vae, "rayleigh", 10.0)
    threat = Threat(spec, link, norm="l2", placement=placement, budget_axis="psr_db",
                    train=train_split)
    with torch.no_grad():
        z = link.transmitter(mnist[1].images[:40])
        clean = link.receiver.decoder(z)
    for psr in PSRS:
        delta = threat.perturb(z, clean, psr, _gen()).delta
        error = psr_db(delta, z) - psr  # per sample, on the latent = on the symbols
        assert error.abs().max() < 0.01, (psr, error)


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_the_universal_perturbation_is_one_tensor_at_the_mean_power_budget(tiny_vae, mnist,
                                                                           train_split, placement):
    link = _link(tiny_vae, "rayleigh", 10.0)
    spec = make_attack("universal", label="universal", epochs=1, batch_size=100)
    threat = Threat(spec, link, norm="l2", placement=placement, budget_axis="psr_db",
                    train=train_split)
    with torch.no_grad():
        z_train = link.transmitter(train_split[0])
        z = link.transmitter(mnist[1].images[:30])
        clean = link.receiver.decoder(z)
    first = threat.perturb(z[:20], clean[:20], -10.0, _gen(0)).delta
    second = threat.perturb(z[20:], clean[20:], -10.0, _gen(1)).delta  # another batch, same δ_u
    assert first.shape == (20, z.shape[1]) and first.stride(0) == 0  # one row, broadcast
    assert first.data_ptr() == second.data_ptr()  # the very same tensor for every batch
    power = 10 * math.log10(first[0].pow(2).sum() / z_train.pow(2).sum(1).mean())
    assert abs(power - (-10.0)) < 0.01


def _beats(attack, other, budgets, ratio):
    """At every budget, ``ratio`` times the damage of ``other`` in the attacks' objective: the
    MSE of the received image to the clean link output."""
    for a, o, psr in zip(attack.metrics_vs_clean, other.metrics_vs_clean, budgets, strict=True):
        assert a["mse"] > ratio * o["mse"], (psr, a, o)


def test_universal_beats_gaussian_jamming_on_the_test_split(tiny_vae, mnist, train_split):
    """δ_u is learnt on training digits and judged on the test digits."""
    link = _link(tiny_vae, "awgn", 20.0)
    budgets = [-5.0, 0.0]
    universal = _sweep(link, mnist, make_attack("universal", label="universal", epochs=3, batch_size=50),
                       budgets, train=train_split)
    jam = _sweep(link, mnist, make_attack("gaussian", label="gaussian"), budgets)
    # One δ for every digit against fresh noise per digit: on the tiny test model it wins in what it
    # optimises (MSE to the clean output) at every budget ...
    _beats(universal, jam, budgets, ratio=1.05)
    # ... and, optimised for SSIM, in SSIM against the input at 0 dB (0.24 vs 0.31 when written); at
    # -5 dB its SSIM damage is only on par with jamming's on this small model.
    on_ssim = _sweep(link, mnist, make_attack("universal", label="universal-ssim", epochs=3, batch_size=50,
                                             distance="ssim"), [0.0], train=train_split)
    # (0.270 vs 0.300 on another CPU: the margin is 0.02)
    assert on_ssim.metrics[0]["ssim"] < jam.metrics[1]["ssim"] - 0.02, (on_ssim.metrics, jam.metrics)


class _NoBackward(torch.autograd.Function):
    """Identity whose backward raises: a receiver that only answers queries."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        raise AssertionError("backward was called on the receiver")


class _QueryOnly(torch.nn.Module):
    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, z):
        return self.decoder(_NoBackward.apply(z))


def test_blackbox_never_backpropagates_through_the_receiver_and_beats_jamming(tiny_vae, mnist):
    link = _link(tiny_vae, "awgn", 20.0)
    link.receiver.decoder = _QueryOnly(link.receiver.decoder)
    budgets = [-5.0, 0.0]
    with pytest.raises(AssertionError, match="backward was called"):  # the guard works
        _sweep(link, mnist, make_attack("pgd", label="pgd", steps=2), budgets[:1], n=10)
    spec = make_attack("blackbox", label="blackbox", steps=10, samples=8, estimator="nes")
    blackbox = _sweep(link, mnist, spec, budgets)
    jam = _sweep(link, mnist, make_attack("gaussian", label="gaussian"), budgets)
    assert blackbox.queries == [1 + 10 * (2 * 8 + 1)] * 2 and jam.queries == [None] * 2
    _beats(blackbox, jam, budgets, ratio=1.1)
    assert all(b["ssim"] < j["ssim"] for b, j in zip(blackbox.metrics, jam.metrics, strict=True))


def test_eot_on_fresh_channel_draws_beats_single_draw_pgd_on_rayleigh(tiny_vae, mnist):
    """Both attacks are judged on channel draws neither of them saw."""
    link = _link(tiny_vae, "rayleigh", 10.0)
    budgets = [-10.0, -5.0, 0.0]
    plain = _sweep(link, mnist, make_attack("pgd", label="pgd"), budgets)
    eot = _sweep(link, mnist, make_attack("pgd", label="pgd-eot", eot=8), budgets)
    for e, p, psr in zip(eot.metrics, plain.metrics, budgets, strict=True):
        assert e["ssim"] < p["ssim"] - 0.005, (psr, e, p)
    _beats(eot, plain, budgets, ratio=1.03)


def test_over_the_air_on_an_ideal_link_is_the_perturbation_in_transit(tiny_vae, mnist):
    link = _link(tiny_vae)
    spec = make_attack("pgd", label="pgd", steps=3)
    in_transit = _sweep(link, mnist, spec, [0.0, 1.0], axis="eps", n=50)
    over_the_air = _sweep(link, mnist, spec, [0.0, 1.0], axis="eps", placement="over_the_air",
                          n=50)
    for a, b in zip(in_transit.metrics, over_the_air.metrics, strict=True):
        assert a == pytest.approx(b, rel=1e-5)
    faded = _sweep(_link(tiny_vae, "rayleigh", 10.0), mnist, spec, [0.0, 1.0], axis="eps",
                   placement="over_the_air", n=50)
    clean = _sweep(_link(tiny_vae, "rayleigh", 10.0), mnist, spec, [0.0, 1.0], axis="eps", n=50)
    assert faded.metrics[0] == clean.metrics[0]  # ε = 0: the clean link, whatever the placement
    assert faded.metrics[1] != clean.metrics[1]  # the jammer's own fading changes the damage


def test_clean_reconstructions_keep_their_class(semantic_vae, mnist, reference_classifier):
    result = _sweep(_link(semantic_vae), mnist, make_attack("gaussian", label="gaussian"), [0.0, 2.0],
                    axis="eps", metrics=("accuracy", "fid"), classifier=reference_classifier)
    assert result.metrics[0]["accuracy"] >= 0.85, result.metrics[0]  # 0.895–0.9+ by CPU
    assert result.metrics_vs_clean[0] == pytest.approx({"accuracy": 1.0, "fid": 0.0}, abs=1e-6)
    assert result.metrics[1]["accuracy"] < result.metrics[0]["accuracy"]
    assert result.metrics_vs_clean[1]["fid"] > 1.0  # jamming moves the reconstructions away


def test_a_class_target_turns_the_digits_into_that_class(tiny_vae, mnist, train_split,
                                                         reference_classifier):
    link = _link(tiny_vae)
    _, test = mnist
    images, labels = test.images[:100], test.labels[:100]
    keep = labels != 3
    with torch.no_grad():
        z = link.transmitter(images[keep])
        clean = link.receiver.decoder(z)
    threat = Threat(make_attack("pgd", label="pgd-to-3", target="class:3"), link, norm="l2",
                    placement="in_transit", budget_axis="psr_db", train=train_split)
    delta = threat.perturb(z, clean, 0.0, _gen()).delta
    with torch.no_grad():
        attacked = link.deliver(z + delta)
    before = (reference_classifier.predict(clean) == 3).float().mean().item()
    after = (reference_classifier.predict(attacked) == 3).float().mean().item()
    assert before < 0.2 and after > 0.6, (before, after)
