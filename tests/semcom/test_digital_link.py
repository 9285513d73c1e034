"""The digital link inside semcom: its signal is the QAM symbols, attacks there, bad settings exit 2."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from channels import make_channel
from semcom.attacks.base import make_attack
from semcom.attacks.threats import Engagement
from semcom.cli import main
from semcom.digital_link import DigitalLink
from semcom.link import Link, build_link
from semcom.speed import inference_copy
from semcom.study.scenario import ChannelConfig, load_scenario
from semcom.study.sweep import sweep_attack


def _digital(trained, snr_db: float = 12.0, **settings) -> DigitalLink:
    settings = {"bits": 4, "code_rate": 0.5, "qam_order": 16, "bp_iterations": 10, **settings}
    return build_link(trained, ChannelConfig(kind="digital", snr_db=[snr_db], **settings), snr_db)


def test_build_link_makes_a_digital_link_whose_signal_is_unit_power_qam(tiny_vae, mnist):
    link = _digital(tiny_vae)
    assert isinstance(link, DigitalLink)
    _, test = mnist
    with torch.no_grad():
        z = link.transmitter(test.images[:32])
        s = link.signal(z)
    # latent 8 × 4 bits = 32 information bits → n = 64 coded bits → 16 16-QAM symbols per image
    assert s.shape == (32, 32)
    used = link.resources(z)
    assert used["channel_uses"] == 16 and abs(used["avg_power"] - 1.0) < 0.1
    learned = build_link(tiny_vae, ChannelConfig(kind="awgn", snr_db=[12.0]), 12.0)
    assert type(learned) is Link and torch.equal(learned.signal(z), z)
    assert learned.resources(z)["channel_uses"] == 4


def test_high_snr_digital_link_decodes_the_quantised_latent_exactly(tiny_vae, mnist):
    link = inference_copy(_digital(tiny_vae, snr_db=40.0))  # a copy: the session's model stays as it is
    _, test = mnist
    with torch.no_grad():
        z = link.transmitter(test.images[:32])
        out = link.deliver(z, generator=torch.Generator().manual_seed(0))
        u = z / link.mapper.scale
        quantised = link.channel.level(link.channel.quantize(u)) * link.mapper.scale
        expected = link.receiver.decoder(quantised)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


def test_gradients_flow_through_the_soft_path_only(tiny_vae, mnist):
    link = inference_copy(_digital(tiny_vae, snr_db=6.0))
    _, test = mnist
    with torch.no_grad():
        s = link.signal(link.transmitter(test.images[:16]))
    delta = torch.zeros_like(s, requires_grad=True)
    with link.attack_path():
        out = link.deliver_signal(s + delta, generator=torch.Generator().manual_seed(1))
    out.square().sum().backward()
    assert torch.isfinite(delta.grad).all() and delta.grad.abs().sum() > 0
    assert not link.soft
    hard = link.deliver_signal(s + delta, generator=torch.Generator().manual_seed(1))
    assert not hard.requires_grad  # hard decisions: no gradient


@pytest.mark.slow
def test_attacks_on_the_digital_link_spend_their_psr_in_qam_symbol_space(tiny_vae, mnist):
    link = _digital(tiny_vae, snr_db=12.0)
    _, test = mnist
    images = test.images[:24]
    for attack in (make_attack("gaussian", label="gaussian"), make_attack("pgd", label="pgd", steps=2),
                   make_attack("blackbox", label="bb", steps=1, samples=2)):
        result = sweep_attack(Engagement(link, attack, batch_size=24, budget_axis="psr_db"), images, [-10.0, 0.0],
                              metric_names=["mse"])
        assert result.psr_db == pytest.approx([-10.0, 0.0], abs=1e-3), attack.name
        assert result.channel_uses == 16 and abs(result.avg_power - 1.0) < 0.1
        assert len(result.latent_abs_diff[0]) == 32  # δ lives on the 16 QAM symbols' real view
        assert result.metrics[1]["mse"] > result.metrics[0]["mse"] - 1e-4, attack.name


def _validate(tmp_path, channel: dict) -> tuple[int, str]:
    doc = {"name": "d", "models": [{"variant": "ae", "latent_dim": 10, "epochs": 1}],
           "channels": [{"kind": "awgn", "snr_db": [10]}, {"kind": "digital", "snr_db": [10], **channel}],
           "adversary": {"psr_db": [-20, -10], "attacks": [{"kind": "gaussian"}]}}
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize(("channel", "key"), [
    ({"bits": 1}, "channels[1].bits: 10 latent values × 1 `bits` = 10 information bits"),
    ({"bits": 3, "code_rate": 0.2, "qam_order": 256}, "channels[1].code_rate:"),
    ({"code_rate": 0.99}, "channels[1].code_rate: must be ≤ 0.95"),
    ({"qam_order": 32}, "channels[1]: `qam_order` must be one of"),
    ({"equalizer": "zf"}, "channels[1].equalizer: unknown key; this kind's settings are `bits`"),
])
def test_settings_5g_ldpc_cannot_build_are_one_line_naming_the_key(tmp_path, channel, key):
    code, output = _validate(tmp_path, channel)
    assert code == 2, output
    assert len(output.strip().splitlines()) == 1 and key in output, output
    assert "Traceback" not in output


def test_hardening_a_digital_receiver_is_refused_naming_the_defense(tmp_path):
    doc = {"name": "d", "models": [{"variant": "ae", "latent_dim": 10, "epochs": 1}],
           "defenses": [{"kind": "none"}, {"kind": "finetune"}],
           "channels": [{"kind": "digital", "snr_db": [10]}],
           "adversary": {"psr_db": [-20, -10], "attacks": [{"kind": "gaussian"}]}}
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 2 and "defenses[1].kind: receiver hardening is not supported" in result.output


def test_a_buildable_digital_entry_validates_and_list_shows_its_settings(tmp_path):
    code, output = _validate(tmp_path, {"bits": 2, "code_rate": 0.5, "qam_order": 256})
    assert code == 0, output
    listing = CliRunner().invoke(main, ["list"]).output
    line = next(row for row in listing.splitlines() if row.strip().startswith("digital"))
    for setting in ("bits=4", "code_rate=0.5", "qam_order=16", "bp_iterations=20", "fading='awgn'"):
        assert setting in line, line


def test_learned_vs_digital_scenario_is_at_stated_equal_channel_uses():
    sc = load_scenario("scenarios/learned_vs_digital.yaml")
    latent = sc.models[0].latent_dim
    uses = {ch.name: make_channel(ch.kind, **ch.settings()).channel_uses(latent)
            for ch in sc.channels if ch.kind == "digital"}
    assert uses and all(u == math.ceil(latent / 2) for u in uses.values()), uses


def test_break_power_on_a_digital_link_perturbs_its_qam_symbols(tiny_vae, mnist):
    """The bisection attacks what is in transit (the QAM symbols), as the sweep does: at 40 dB SNR
    a jammer far below the signal (-30 dB PSR) flips no bit, so no image breaks there, and the
    median break power lies well above the bottom of the search range."""
    from semcom.attacks.base import make_attack
    from semcom.attacks.break_power import BreakSpec, bisect_break_power

    link = _digital(tiny_vae, snr_db=40.0)
    _, test = mnist
    spec = BreakSpec(thresholds=(("ssim", 0.5),), low_db=-40.0, high_db=10.0, tolerance_db=2.0)
    jamming = Engagement(link, make_attack("gaussian", label="gaussian"), batch_size=16, budget_axis="psr_db")
    result = bisect_break_power(jamming, test.images[:16], spec)
    psr = result.psr_db[:, 0]
    intact = psr[~np.isnan(psr)]
    assert intact.size > 0 and float(np.median(intact)) > -30.0, psr
