"""The defence interface (semcom.defenses): registered classes, typed settings, stable keys, smoothing."""

import copy
from dataclasses import asdict

import pytest
import torch
import yaml
from click.testing import CliRunner

from channels import make_channel
from semcom.cli import main
from semcom.defenses import defense_kinds
from semcom.defenses.hardening import HardeningConfig, SettingsHardeningConfig, get_or_harden, hardening_config
from semcom.defenses.smoothing import SmoothedDecoder
from semcom.link import Link
from semcom.models import Autoencoder
from semcom.study.scenario import DefenseConfig, ScenarioError, parse_scenario
from semcom.study.store import ModelStore, config_key

# Keys of existing configs, computed on main before the defence interface existed (f15ee58).
KEYS_BEFORE = {("adversarial", "mse"): "ac5a368c47ed5609", ("adversarial-multi-eps", "mse"): "10329ca621bc18fb",
               ("noise", "mse"): "8d7ee440774be359", ("finetune", "mse"): "7ab33d663b5576c6",
               ("adversarial", "ssim"): "7e780d05dc8cd56f", ("finetune", "ssim"): "5e4ae2f461d167f4"}


@pytest.mark.parametrize(("kind", "distance"), sorted(KEYS_BEFORE))
def test_existing_kinds_keep_their_store_keys(kind, distance):
    common = {"eps": 1.0, "steps": 2, "k": 2, "epochs": 1, "batch_size": 32, "distance": distance}
    for cfg in (HardeningConfig(kind=kind, **common), hardening_config(kind, {}, **common)):
        assert type(cfg) is HardeningConfig
        spec = {"kind": "hardened-receiver", "base": "b", "link": {}, "defense": asdict(cfg)}
        assert config_key(spec) == KEYS_BEFORE[kind, distance]


def test_settings_are_validated_filled_and_part_of_the_key():
    cfg = hardening_config("consistency", {}, eps=1.0)
    assert isinstance(cfg, SettingsHardeningConfig) and dict(cfg.settings) == {"beta": 1.0}
    other = hardening_config("consistency", {"beta": 4.0}, eps=1.0)
    assert config_key(asdict(cfg)) != config_key(asdict(other))
    assert hardening_config("consistency", {"beta": 1.0}, eps=1.0) == cfg  # a default written out: same key
    with pytest.raises(ValueError, match="beta"):
        hardening_config("consistency", {"beta": -1.0}, eps=1.0)
    with pytest.raises(ValueError, match="sigma"):
        hardening_config("consistency", {"sigma": 1.0}, eps=1.0)
    with pytest.raises(ValueError, match="must be one of"):
        hardening_config("armour", {})


def test_every_registered_kind_is_a_scenario_kind():
    """The schema reads the registry: every registered defence is a valid ``kind`` with its own settings."""
    for kind, cls in defense_kinds().items():
        assert cls.kind == kind and cls.description
        cfg = DefenseConfig(kind=kind, **({"eps": 1.0} if cls.needs_eps else {}))
        assert type(cfg.own) is cls.Settings


BASE = {"name": "tiny", "models": [{"variant": "vae-kld", "latent_dim": 4, "epochs": 1}],
        "adversary": {"eps": [0, 1], "attacks": [{"kind": "pgd"}]}}


@pytest.mark.parametrize("entry", [
    {"kind": "consistency", "eps": 1.0, "beta": 4.0},
    {"kind": "pgd-matched", "eps": 2.0, "restarts": 2, "draw": "fixed"},
    {"kind": "smoothing", "sigma": 0.5, "draws": 4, "certify_draws": 100},
])
def test_scenario_accepts_each_new_kind_with_its_settings(entry):
    sc = parse_scenario({**BASE, "defenses": [entry]}, source="x.yaml")
    d = sc.defenses[0]
    assert d.settings() == {k: v for k, v in entry.items() if k not in ("kind", "eps", "certify_draws")}


@pytest.mark.parametrize(("entry", "needle"), [
    ({"kind": "consistency", "eps": 1.0, "beta": -1}, "defenses[0].beta"),
    ({"kind": "consistency", "eps": 1.0, "sigma": 0.5}, "defenses[0].sigma: unknown key"),
    ({"kind": "smoothing", "sigma": 0.5, "eps": 1.0}, "takes no `eps`"),
    ({"kind": "pgd-matched"}, "needs `eps`"),
    ({"kind": "smoothing", "draws": 0}, "defenses[0].draws"),
    ({"kind": "noise", "eps": 1.0, "certify_draws": 100}, "takes no `certify_draws`"),
])
def test_bad_defence_settings_are_one_line_exit_2(tmp_path, entry, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**BASE, "defenses": [entry]}))
    with pytest.raises(ScenarioError, match="bad.yaml"):
        parse_scenario(yaml.safe_load(path.read_text()), source=str(path))
    result = CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and "Traceback" not in result.output, result.output
    assert needle in lines[0] and "bad.yaml" in lines[0], lines[0]


def _tiny_link(channel="ideal", snr=None):
    torch.manual_seed(0)
    model = Autoencoder("vae-kld", 4, (1, 28, 28))
    return model, Link(model, make_channel(channel), scale=1.3, snr_db=snr)


def test_smoothed_decoder_draws_from_the_callers_generator_and_passes_gradients():
    model, _ = _tiny_link()
    smoothed = SmoothedDecoder(model.decoder.eval(), sigma=0.5, draws=4)
    z = torch.randn(3, 4, generator=torch.Generator().manual_seed(1), requires_grad=True)
    a = smoothed(z, generator=torch.Generator().manual_seed(7))
    b = smoothed(z, generator=torch.Generator().manual_seed(7))
    c = smoothed(z, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(smoothed(z), smoothed(z))  # no generator: a fixed function
    # the M-draw average: equal to averaging the plain decoder over the same noise
    noise = torch.randn((4, 3, 4), generator=torch.Generator().manual_seed(7))
    manual = torch.stack([model.decoder(z + 0.5 * n) for n in noise]).mean(0)
    torch.testing.assert_close(a, manual)
    a.sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_link_passes_its_generator_to_a_smoothed_receiver():
    model, link = _tiny_link("awgn", 10.0)
    model.decoder = SmoothedDecoder(model.decoder, sigma=0.5, draws=2)
    link = Link(model, make_channel("awgn"), scale=1.3, snr_db=10.0).eval()
    z = torch.zeros(2, 4)
    with torch.no_grad():
        one = link.deliver(z, generator=torch.Generator().manual_seed(3))
        two = link.deliver(z, generator=torch.Generator().manual_seed(3))
    assert torch.equal(one, two)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["consistency", "pgd-matched", "smoothing"])
def test_new_defences_make_the_controls_optimizer_steps_and_store_their_receiver(kind, tmp_path, monkeypatch):
    """Same data, epochs, k → the same number of Adam steps as ``finetune``; the store round-trips."""
    from semcom.models.trained import TrainedModel

    steps = []
    real = torch.optim.Adam.step
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, *a, **k: steps.append(1) or real(self, *a, **k))
    model, _ = _tiny_link()
    trained = TrainedModel(model, 0.9, "base", {})
    images = torch.rand(40, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    store = ModelStore(tmp_path)
    counts = {}
    for k in ("finetune", kind):
        eps = 0.0 if k in ("finetune", "smoothing") else 1.0
        cfg = hardening_config(k, {}, eps=eps, steps=2, k=2, epochs=1, batch_size=16)
        steps.clear()
        hardened = get_or_harden(trained, lambda t: Link.from_trained(t, make_channel("ideal")), {}, images, cfg, store)
        counts[k] = len(steps)
        again = get_or_harden(trained, lambda t: Link.from_trained(t, make_channel("ideal")), {}, images, cfg, store)
        assert again.key == hardened.key
        for (name, v), w in zip(hardened.model.decoder.state_dict().items(),
                                again.model.decoder.state_dict().values(), strict=True):
            assert torch.equal(v, w), name
    assert counts[kind] == counts["finetune"] == 3 * 3  # 3 batches × (1 clean + k = 2)
    assert isinstance(hardened.model.decoder, SmoothedDecoder) == (kind == "smoothing")
    changed = [n for n, v in hardened.model.decoder.state_dict().items()
               if not torch.equal(v, copy.deepcopy(model.decoder).state_dict()[n.removeprefix("decoder.")])]
    assert changed
