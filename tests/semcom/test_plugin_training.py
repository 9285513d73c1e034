"""semcom trains your architecture: plug-in factories with training settings (issue 16)."""

from __future__ import annotations

import pytest
import torch
import yaml
from click.testing import CliRunner
from torch import nn

import semcom
from semcom.cli import main

FACTORY = f"{__name__}:small_mlp"


class _Encoder(nn.Module):
    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 2 * latent_dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return tuple(self.net(x).chunk(2, dim=1))


def _decoder(latent_dim: int) -> nn.Module:
    return nn.Sequential(nn.Linear(latent_dim, 64), nn.ReLU(), nn.Linear(64, 784), nn.Sigmoid(),
                         nn.Unflatten(1, (1, 28, 28)))


@semcom.factory
def small_mlp(latent_dim: int = 6):
    """Untrained modules: semcom trains them when the scenario asks for `epochs`."""
    return _Encoder(latent_dim), _decoder(latent_dim), {"encoder_output": "posterior"}


class _Frozen(nn.Module):
    """No parameters at all: a fixed random projection."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("w", torch.randn(784, 6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.w


class _Rounding(nn.Module):
    """Parameters, but the latent is rounded: no gradient reaches them."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Sequential(nn.Flatten(), nn.Linear(784, 6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x).round()


@semcom.factory
def no_parameters():
    return _Frozen(), _decoder(6)


@semcom.factory
def rounding():
    return _Rounding(), _decoder(6)


def _jammed_mnist(model: dict) -> dict:
    """scenarios/jammed_mnist.yaml with its model entry swapped, data and sweep shrunk."""
    with open("scenarios/jammed_mnist.yaml") as f:
        doc = yaml.safe_load(f)
    doc["models"] = [model]
    doc["data"] = {**doc["data"], "train_samples": 1000, "test_samples": 20}
    doc["adversary"]["eps"] = {"start": 0.0, "stop": 2.0, "num": 3}
    for attack in doc["adversary"]["attacks"]:
        attack.setdefault("steps", 3) if attack["kind"] == "pgd" else None
    doc["defenses"][1].update(epochs=1)
    doc["break_power"] = {"samples": 10}
    doc["report"] = {"grid_samples": 2}
    return doc


def _run(tmp_path, doc, name):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / name)], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.slow
def test_jammed_mnist_with_a_factory_trains_it_and_reuses_the_stored_model(tmp_path, monkeypatch):
    import semcom.models.training

    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path / "store"))
    calls = []
    real_fit = semcom.models.training.fit
    monkeypatch.setattr(semcom.models.training, "fit", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    doc = _jammed_mnist({"source": "python", "factory": FACTORY, "epochs": 20, "lr": 0.002, "regularizer": "kld"})
    code, output = _run(tmp_path, doc, "first")
    assert code == 0, output
    assert calls == [1]  # the factory's modules, trained once
    first = (tmp_path / "first" / "results.json").read_text()
    import json

    from semcom.study.store import ModelStore

    store = ModelStore(tmp_path / "store")
    entries = [e for e in store.entries() if e.kind == "plugin-trained"]
    assert len(entries) == 1
    meta = store.load(entries[0].key).meta
    history = meta["history"]
    assert len(history) == 20 and history[-1]["loss"] < 0.8 * history[0]["loss"]
    assert meta["factory"] == FACTORY and meta["source_sha256"] and meta["train"]["epochs"] == 20
    assert meta["power"] == "sigma_z"
    # trained, not as given: the clean SSIM is far above the untrained factory's
    points = json.loads(first)["points"]
    clean = [p["metrics"]["ssim"] for p in points if p["eps"] == 0 and p["defense"] == "none"
             and p["channel"] == "ideal"]
    assert min(clean) > 0.3, clean

    code, output = _run(tmp_path, doc, "second")
    assert code == 0, output
    assert calls == [1], "the rerun loads the stored model"
    second = json.loads((tmp_path / "second" / "results.json").read_text())["points"]
    assert [p["metrics"] for p in second] == [p["metrics"] for p in points]


@pytest.mark.parametrize(("factory", "expected"), [
    ("no_parameters", "models[0]: the encoder has no trainable parameters: semcom cannot train it"),
    ("rounding", "models[0]: no gradient reaches the encoder's parameters"),
])
def test_a_factory_that_cannot_train_is_one_line_exit_2(tmp_path, monkeypatch, factory, expected):
    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path / "store"))
    doc = _jammed_mnist({"source": "python", "factory": f"{__name__}:{factory}", "epochs": 20})
    code, output = _run(tmp_path, doc, "run")
    lines = output.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in output, output
    assert expected in lines[0], lines[0]
    assert not (tmp_path / "run").exists()


def _save(source: str, module: nn.Module, example: torch.Tensor, path) -> str:
    if source == "torchscript":
        torch.jit.save(torch.jit.script(module.eval()), str(path))
    else:
        program = torch.export.export(module.eval(), (example,),
                                      dynamic_shapes=({0: torch.export.Dim("batch")},))
        torch.export.save(program, str(path))
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("source", ["torchscript", "exported"])
def test_exported_and_torchscript_models_are_fine_tuned_when_asked(tmp_path, monkeypatch, source):
    from semcom.study.store import ModelStore

    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path / "store"))
    torch.manual_seed(0)
    enc = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 6))
    dec = _decoder(6)
    ext = "ts" if source == "torchscript" else "pt2"
    doc = {"name": "tune", "data": {"train_samples": 200, "test_samples": 10},
           "models": [{"source": source, "encoder": _save(source, enc, torch.rand(2, 1, 28, 28), tmp_path / f"e.{ext}"),
                       "decoder": _save(source, dec, torch.rand(2, 6), tmp_path / f"d.{ext}"),
                       "epochs": 2, "train_channel": {"kind": "awgn", "snr_db": 10}}],
           "adversary": {"eps": [0, 1], "attacks": [{"kind": "gaussian"}]}, "report": {"grid_samples": 1}}
    code, output = _run(tmp_path, doc, "run")
    assert code == 0, output
    store = ModelStore(tmp_path / "store")
    (entry,) = [e for e in store.entries() if e.kind == "plugin-trained"]
    meta = store.load(entry.key).meta
    assert meta["source"] == source and len(meta["history"]) == 2
    assert meta["train_channel"]["kind"] == "awgn"
    assert meta["history"][1]["loss"] < meta["history"][0]["loss"]
