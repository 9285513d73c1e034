"""Plug-in models: a model defined only in this file joins sweeps and hardening through its
factory; exported and TorchScript files load as hardenable receivers; bad plug-ins are refused
with one line naming the scenario file and the key."""

import copy
import functools
import io
import json
import warnings
import zipfile

import pytest
import torch
import yaml
from click.testing import CliRunner
from torch import nn

import semcom
from channels import make_channel
from semcom.cli import main
from semcom.defenses.hardening import HardeningConfig, get_or_harden, harden_receiver
from semcom.link import Link
from semcom.models.plugins import load_plugin, plug_in
from semcom.study.scenario import parse_scenario
from semcom.study.store import ModelStore

LATENT = 6
FACTORY = f"{__name__}:tiny_factory"


# -- a user's model, unknown to semcom ------------------------------------------------------


class TinyEncoder(nn.Module):
    """A small MLP VAE encoder returning the posterior as ``(mean, logvar)``."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(),
                                 nn.Linear(128, 2 * latent_dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(x).chunk(2, dim=1)
        return mu, logvar


def tiny_decoder(latent_dim: int, size: int = 28) -> nn.Module:
    return nn.Sequential(nn.Linear(latent_dim, 128), nn.ReLU(), nn.Linear(128, size * size),
                         nn.Sigmoid(), nn.Unflatten(1, (1, size, size)))


@functools.cache
def _trained(latent_dim: int) -> tuple[nn.Module, nn.Module]:
    """The user's own training loop: a VAE on 2,000 embedded MNIST digits, 3 epochs."""
    from semcom.data import DataSpec, load_dataset

    x = load_dataset(DataSpec(), split="train").images[:2000]
    torch.manual_seed(0)
    enc, dec = TinyEncoder(latent_dim), tiny_decoder(latent_dim)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=2e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        for idx in torch.randperm(len(x), generator=gen).split(64):
            mu, logvar = enc(x[idx])
            z = mu + torch.randn(mu.shape, generator=gen) * (0.5 * logvar).exp()
            recon = (dec(z) - x[idx]).pow(2).flatten(1).sum(1).mean()
            kld = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1).mean()
            opt.zero_grad()
            (recon + kld).backward()
            opt.step()
    return enc.eval(), dec.eval()


@semcom.factory
def tiny_factory(latent_dim: int = LATENT):
    enc, dec = _trained(latent_dim)
    return copy.deepcopy(enc), copy.deepcopy(dec), {"latent_dim": latent_dim,
                                                    "encoder_output": "posterior"}


@semcom.factory
def untrained_factory(latent_dim: int = LATENT):
    """Freshly initialised modules: semcom seeds torch before calling a factory."""
    return TinyEncoder(latent_dim), tiny_decoder(latent_dim), {"encoder_output": "posterior"}


@semcom.factory
def bare_factory():
    """No metadata: semcom takes the encoder's tuple output for a latent and must refuse it."""
    return tiny_factory()[:2]


@semcom.factory
def wrong_size_factory():
    return TinyEncoder(4), tiny_decoder(4, size=14), {"encoder_output": "posterior"}


@semcom.factory
def strings_factory():
    return "encoder", "decoder"


@semcom.factory
def raising_factory():
    raise RuntimeError("weights not found")


# -- helpers --------------------------------------------------------------------------------

SCENARIO = {
    "name": "plug",
    "seed": 1,
    "data": {"train_samples": 1000, "test_samples": 60},
    "models": [{"source": "python", "factory": FACTORY, "label": "tiny"}],
    "defenses": [{"kind": "none"}, {"kind": "adversarial", "eps": 1.5, "epochs": 1, "steps": 3}],
    "channels": [{"kind": "awgn", "snr_db": [15]}],
    "adversary": {"eps": [0, 1.5], "attacks": [{"kind": "pgd", "steps": 5}, {"kind": "gaussian"}]},
    "eval_batch_size": 30,
    "report": {"grid_samples": 2},
    "auto_control": False,  # the plug-in path is under test; the control is tested in test_controls.py
}


def _invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def _write(tmp_path, doc, name="s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def _ssim(results, defense, attack, eps):
    (p,) = [p for p in results["points"]
            if (p["defense"], p["attack"], p["eps"]) == (defense, attack, eps)]
    return p["metrics"]["ssim"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The tiny model saved by its user: torch.export programs and TorchScript files."""
    folder = tmp_path_factory.mktemp("plugin-files")
    enc, dec, _ = tiny_factory()
    x, z = torch.rand(4, 1, 28, 28), torch.zeros(4, LATENT)
    batch = torch.export.Dim("batch")
    for name, module, example in (("enc", enc, x), ("dec", dec, z)):
        program = torch.export.export(module, (example,), dynamic_shapes=({0: batch},))
        torch.export.save(program, folder / f"{name}.pt2")
    torch.export.save(torch.export.export(dec, (z,)), folder / "dec_fixed_batch.pt2")
    with warnings.catch_warnings():  # torch.jit is deprecated, still widespread
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.trace(enc, x), folder / "enc.ts")
        torch.jit.save(torch.jit.script(dec), folder / "dec.ts")
    return folder


# -- the acceptance test --------------------------------------------------------------------


def test_factory_model_runs_a_sweep_with_hardening(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path / "cache"))
    scenario, out = _write(tmp_path, SCENARIO), tmp_path / "run"
    assert _invoke("validate", scenario)[0] == 0
    code, output = _invoke("run", scenario, "--out", out)
    assert code == 0, output
    results = json.loads((out / "results.json").read_text())
    assert len(results["points"]) == 2 * 2 * 2  # defences × attacks × ε
    assert {p["model"] for p in results["points"]} == {"tiny"}
    for defense in ("none", "adversarial"):
        clean = _ssim(results, defense, "gaussian", 0.0)
        assert _ssim(results, defense, "pgd-untargeted", 0.0) == clean
        assert _ssim(results, defense, "pgd-untargeted", 1.5) < _ssim(results, defense,
                                                                      "gaussian", 1.5) - 0.01
    assert "## Receiver hardening" in (out / "report.md").read_text()

    # the hardened receiver is in the store, keyed on the plug-in, and differs from the factory's
    store = ModelStore(tmp_path / "cache")
    entries = [store.load(k) for k in store.keys()]
    (hardened,) = [e for e in entries if e.meta["kind"] == "hardened-receiver"]
    assert hardened.meta["link"]["snr_db"] == 15
    _, original, _ = tiny_factory()
    assert any(not torch.equal(hardened.tensors[k], v) for k, v in original.state_dict().items())

    # a second run takes the hardened receiver from the store and gives the same numbers
    def no_hardening(*args, **kwargs):
        raise AssertionError("the store should have supplied the hardened receiver")

    monkeypatch.setattr("semcom.defenses.hardening.harden_receiver", no_hardening)
    code, output = _invoke("run", scenario, "--out", out, "--overwrite")
    assert code == 0, output
    again = json.loads((out / "results.json").read_text())
    assert again["points"] == results["points"]


# -- files and keys -------------------------------------------------------------------------


def _plugin(doc_model, images, data_key=None):
    base = {k: v for k, v in SCENARIO.items() if k != "models"}
    sc = parse_scenario({**base, "models": [doc_model]}, "test.yaml")
    return load_plugin(sc.models[0], 0, images, data_key or {"name": "test"})


@pytest.mark.parametrize("source", ["exported", "torchscript"])
def test_saved_files_load_as_the_same_model_with_a_hardenable_receiver(files, mnist, source,
                                                                        tmp_path):
    train, test = mnist
    ext = "pt2" if source == "exported" else "ts"
    entry = {"source": source, "encoder": str(files / f"enc.{ext}"),
             "decoder": str(files / f"dec.{ext}"), "encoder_output": "posterior"}
    loaded = _plugin(entry, train.images[:500])
    reference = _plugin({"source": "python", "factory": FACTORY}, train.images[:500])
    x = test.images[:50]
    with torch.no_grad():
        assert torch.allclose(loaded.model.encode(x), reference.model.encode(x), atol=1e-5)
        assert torch.allclose(loaded.model.decode(reference.model.encode(x)),
                              reference.model.decode(reference.model.encode(x)), atol=1e-5)
    assert loaded.sigma_z == pytest.approx(reference.sigma_z, rel=1e-5)
    assert loaded.key != reference.key
    assert loaded.model.latent_dim == LATENT

    # hardening fine-tunes the loaded decoder, stores it, and loads it back
    cfg = HardeningConfig(kind="adversarial", eps=1.0, steps=2, epochs=1, batch_size=64)
    store = ModelStore(tmp_path)
    hardened = get_or_harden(loaded, lambda t: Link.from_trained(t, make_channel("ideal")),
                             {"kind": "ideal"}, train.images[:128], cfg, store)
    before = loaded.model.decoder.state_dict()
    after = hardened.model.decoder.state_dict()
    assert any(not torch.equal(after[k], before[k]) for k in before), "receiver not fine-tuned"
    again = get_or_harden(loaded, lambda t: pytest.fail("must come from the store"),
                          {"kind": "ideal"}, train.images[:128], cfg, store)
    assert all(torch.equal(again.model.decoder.state_dict()[k], v) for k, v in after.items())
    with torch.no_grad():
        assert torch.equal(hardened.model.encode(x), loaded.model.encode(x)), "encoder changed"


def test_store_key_follows_the_model_and_the_data(mnist):
    images = mnist[0].images[:300]
    factory = f"{__name__}:untrained_factory"
    base = _plugin({"source": "python", "factory": factory}, images)
    same = _plugin({"source": "python", "factory": factory}, images)  # semcom seeds the factory
    other_kwargs = _plugin({"source": "python", "factory": factory,
                            "factory_kwargs": {"latent_dim": 5}}, images)
    other_data = _plugin({"source": "python", "factory": factory}, images, {"name": "other"})
    assert same.key == base.key
    assert len({base.key, other_kwargs.key, other_data.key}) == 3
    assert other_kwargs.model.latent_dim == 5


def test_plug_in_from_python_takes_a_single_posterior_tensor(mnist):
    enc, dec, _ = tiny_factory()
    images = mnist[0].images[:200]
    trained = plug_in(enc.net, dec, images, encoder_output="posterior")  # [B, 2k], mean first
    with torch.no_grad():
        assert torch.equal(trained.model.encode(images[:5]), enc(images[:5])[0])
    assert trained.model.latent_dim == LATENT
    with pytest.raises(ValueError, match="latent has 6 dimensions; expected 4"):
        plug_in(enc.net, dec, images, encoder_output="posterior", latent_dim=4)
    with pytest.raises(TypeError, match="`decoder` must be a torch.nn.Module"):
        plug_in(enc, "decoder", images)


def test_hardening_reaches_a_loaded_exported_decoder(files, mnist):
    """Gradients flow through an ExportedProgram.module() receiver; the program's mode stays put."""
    loaded = _plugin({"source": "exported", "encoder": str(files / "enc.pt2"),
                      "decoder": str(files / "dec.pt2"), "encoder_output": "posterior"},
                     mnist[0].images[:300])
    link = Link.from_trained(loaded, make_channel("awgn"), snr_db=10.0)
    params = {k: v.clone() for k, v in link.receiver.decoder.named_parameters()}
    harden_receiver(link, mnist[0].images[:64], HardeningConfig(eps=1.0, steps=1, epochs=1))
    assert all(not torch.equal(p, params[k]) for k, p in link.receiver.decoder.named_parameters())


# -- bad plug-ins: exit 2, one line naming the file and the key, no run folder ---------------


def _pt2_with_pickled_weights(files, tmp_path):
    """dec.pt2 with its weights marked as pickled: torch.export.load would unpickle them."""
    data = (files / "dec.pt2").read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            blob = src.read(item)
            if item.filename.endswith("weights_config.json"):
                cfg = json.loads(blob)
                next(iter(cfg["config"].values()))["use_pickle"] = True
                blob = json.dumps(cfg).encode()
            dst.writestr(item, blob)
    path = tmp_path / "pickled.pt2"
    path.write_bytes(out.getvalue())
    return path


def _garbage(tmp_path):
    path = tmp_path / "garbage.pt2"
    path.write_bytes(b"not a model")
    return path


def _files(source, enc, dec, **extra):
    return {"source": source, "encoder": str(enc), "decoder": str(dec),
            "encoder_output": "posterior", **extra}


BAD_MODELS = [
    ("module missing", lambda f, t: {"source": "python", "factory": "no_such_module_xyz:make"},
     "models[0].factory: cannot import module 'no_such_module_xyz' (ModuleNotFoundError"),
    ("function missing", lambda f, t: {"source": "python", "factory": f"{__name__}:absent"},
     "models[0].factory: module"),
    ("factory raises", lambda f, t: {"source": "python", "factory": f"{__name__}:raising_factory"},
     "models[0].factory: " + f"{__name__}:raising_factory raised RuntimeError: weights not found"),
    ("not modules", lambda f, t: {"source": "python", "factory": f"{__name__}:strings_factory"},
     "must return (encoder, decoder) torch.nn.Modules, optionally plus a metadata dict; "
     "got a tuple of 2"),
    ("image size", lambda f, t: {"source": "python", "factory": f"{__name__}:wrong_size_factory"},
     "models[0]: the decoder must return images shaped like the data's [3, 1, 28, 28]; "
     "got [3, 1, 14, 14]"),
    ("tuple taken for a latent", lambda f, t: {"source": "python",
                                               "factory": f"{__name__}:bare_factory"},
     "models[0]: the encoder must return a tensor [B, k]; got tuple"),
    ("latent size", lambda f, t: {"source": "python", "factory": FACTORY, "latent_dim": 4},
     "models[0].latent_dim: the scenario says 4, the factory's metadata 6"),
    ("corrupt file", lambda f, t: _files("exported", _garbage(t), f / "dec.pt2"),
     "models[0].encoder: '" + "{tmp}/garbage.pt2' is not a torch.export archive (.pt2)"),
    ("fixed batch size", lambda f, t: _files("exported", f / "enc.pt2", f / "dec_fixed_batch.pt2"),
     "with a dynamic batch dimension, torch.export.Dim"),
    ("pickled payload", lambda f, t: _files("exported", f / "enc.pt2",
                                            _pt2_with_pickled_weights(f, t)),
     "models[0].decoder: '{tmp}/pickled.pt2' holds pickled objects"),
    ("pt2 as torchscript", lambda f, t: _files("torchscript", f / "enc.pt2", f / "dec.ts"),
     "is not a TorchScript file (RuntimeError); saved with torch.export? use `source: exported`"),
    ("torchscript as pt2", lambda f, t: _files("exported", f / "enc.ts", f / "dec.pt2"),
     "is not a torch.export archive (.pt2); saved with torch.jit? use `source: torchscript`"),
]


@pytest.mark.parametrize(("what", "make", "expected"), BAD_MODELS, ids=[c[0] for c in BAD_MODELS])
def test_bad_plugin_is_refused_in_one_line(files, tmp_path, what, make, expected):
    doc = {**SCENARIO, "models": [make(files, tmp_path)]}
    scenario, out = _write(tmp_path, doc), tmp_path / "run"
    code, output = _invoke("run", scenario, "--out", out)
    assert code == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in output, output
    assert lines[0].startswith(f"error: {scenario}: "), lines[0]
    assert expected.format(tmp=tmp_path) in lines[0], lines[0]
    assert not out.exists(), "a bad plug-in must not leave a run folder behind"


def test_validate_imports_the_factory(tmp_path):
    doc = {**SCENARIO, "models": [{"source": "python", "factory": "no_such_module_xyz:make"}]}
    code, output = _invoke("validate", _write(tmp_path, doc))
    assert code == 2 and "models[0].factory: cannot import module" in output, output


BAD_ENTRIES = [
    ("built-in key on a plug-in", {"models": [{"source": "python", "factory": FACTORY,
                                                "variant": "ae"}]},
     "models[0]: `variant` applies to built-in models only"),
    ("plug-in key on a built-in", {"models": [{"variant": "ae", "factory": FACTORY}]},
     "models[0]: `factory` is for plug-in models"),
    ("factory missing", {"models": [{"source": "python"}]},
     "models[0]: a python model needs `factory`"),
    ("file for a factory", {"models": [{"source": "python", "factory": FACTORY,
                                         "decoder": __file__}]},
     "models[0]: `decoder` does not apply to a python model"),
    ("file missing", {"models": [{"source": "torchscript", "encoder": "nope.ts",
                                   "decoder": "x.ts"}]},
     "models[0].encoder: no such file 'nope.ts'"),
    ("factory syntax", {"models": [{"source": "python", "factory": "pkg.module.function"}]},
     "models[0].factory: must be \"package.module:function\""),
    ("setting of another channel", {"channels": [{"kind": "awgn", "snr_db": [10], "fft_size": 12}]},
     "channels[0].fft_size: unknown key; this kind's settings are `equalizer`"),
    ("unknown TDL model", {"channels": [{"kind": "tdl", "snr_db": [10], "model": "Z"}]},
     "channels[0].model: must be one of 'A', 'B', 'C', 'D', 'E'; got 'Z'"),
    ("K-factor out of range", {"channels": [{"kind": "rician", "snr_db": [10], "k_factor_db": 99}]},
     "channels[0].k_factor_db: must be ≤ 50.0; got 99"),
]


@pytest.mark.parametrize(("what", "change", "expected"), BAD_ENTRIES,
                         ids=[c[0] for c in BAD_ENTRIES])
def test_bad_entries_are_refused_at_validation(tmp_path, what, change, expected):
    scenario = _write(tmp_path, {**SCENARIO, **change})
    code, output = _invoke("validate", scenario)
    assert code == 2, output
    (line,) = output.strip().splitlines()
    assert line.startswith(f"error: {scenario}: {expected}"), line


def test_channel_settings_reach_the_channel(mnist):
    from semcom.link import build_link

    model = plug_in(TinyEncoder(LATENT), tiny_decoder(LATENT), mnist[0].images[:100],
                    encoder_output="posterior")

    doc = {**SCENARIO, "channels": [
        {"kind": "tdl", "snr_db": [10], "model": "C", "delay_spread": 3e-7, "fft_size": 12,
         "subcarrier_spacing": 15e3, "speed": 3.0, "equalizer": "zf"},
        {"kind": "rician", "snr_db": [10], "k_factor_db": 12.0, "block_length": 2},
    ]}
    tdl_cfg, rician_cfg = parse_scenario(doc, "test.yaml").channels
    tdl = build_link(model, tdl_cfg, 10.0).channel
    assert (tdl.model, tdl.delay_spread, tdl.fft_size, tdl.subcarrier_spacing, tdl.speed,
            tdl.equalizer) == ("C", 3e-7, 12, 15e3, 3.0, "zf")
    assert tdl.carrier_frequency == 3.5e9  # unset: the channel's default
    rician = build_link(model, rician_cfg, 10.0).channel
    assert (rician.k_factor_db, rician.block_length) == (12.0, 2)
