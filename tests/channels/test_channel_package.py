"""Tests of the channels package as a whole: registry, public API, docs, import hygiene."""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import channels
from channels import CHANNELS, Channel, make_channel, register_channel

PACKAGE_DIR = Path(channels.__file__).parent
MODULES = sorted(m.name for m in pkgutil.iter_modules([str(PACKAGE_DIR)]))

# --------------------------------------------------------------------------- registry


def test_builtin_channels_registered() -> None:
    assert {"ideal", "awgn", "rayleigh", "rician", "tdl"} <= set(CHANNELS)
    for name, cls in CHANNELS.items():
        assert issubclass(cls, Channel) and cls.name == name
        assert isinstance(cls.is_random, bool)
        assert make_channel(name).name == name


def test_make_channel_unknown_name_lists_valid_ones() -> None:
    valid = ", ".join(repr(n) for n in sorted(CHANNELS))
    with pytest.raises(ValueError) as info:
        make_channel("foo")
    assert str(info.value) == f"`channel` must be one of {valid}; got 'foo'"
    assert "'awgn', 'digital', 'ideal', 'rayleigh'" in str(info.value)
    with pytest.raises(ValueError, match="`channel` must be one of"):
        make_channel(3)  # type: ignore[arg-type]


def test_make_channel_passes_settings_and_rejects_unknown_ones() -> None:
    channel = make_channel("rayleigh", block_length=3, equalizer="zf")
    assert channel.block_length == 3 and channel.equalizer == "zf"
    with pytest.raises(TypeError, match="got unknown 'blocklength'"):
        make_channel("rayleigh", blocklength=3)


def test_register_channel_extends_the_registry() -> None:
    @register_channel("test-scaled")
    class Scaled(Channel):
        def transmit(self, x, *, no, generator):
            h = torch.full_like(x, 2.0)
            return h * x, h

    try:
        assert CHANNELS["test-scaled"] is Scaled and Scaled.name == "test-scaled"
        x = torch.ones(2, 3, dtype=torch.complex64)
        torch.testing.assert_close(make_channel("test-scaled", equalizer="zf").receive(x), x)
        with pytest.raises(ValueError, match="already registered"):

            @register_channel("test-scaled")
            class Other(Channel):
                pass

        with pytest.raises(TypeError, match="must decorate a Channel subclass"):
            register_channel("test-not-a-channel")(int)
    finally:
        CHANNELS.pop("test-scaled", None)


def test_base_channel_is_abstract() -> None:
    with pytest.raises(NotImplementedError, match="must implement `transmit`"):
        Channel()(torch.ones(1, 1, dtype=torch.complex64))


# --------------------------------------------------------------------------- public API and docs


def test_public_api() -> None:
    from channels import (  # noqa: F401
        CHANNELS,
        TDL_MODELS,
        AWGNChannel,
        Channel,
        IdealChannel,
        RayleighBlockChannel,
        RicianBlockChannel,
        SymbolMapper,
        TDLChannel,
        equalize,
        latent_scale,
        make_channel,
        register_channel,
        snr_db_to_no,
    )

    for name in channels.__all__:
        assert hasattr(channels, name)


@pytest.mark.parametrize("module", MODULES)
def test_every_module_declares_all(module: str) -> None:
    mod = importlib.import_module(f"channels.{module}")
    assert isinstance(mod.__all__, list)
    for name in mod.__all__:
        assert hasattr(mod, name)


def test_docstring_examples_run() -> None:
    attempted = 0
    for module in ["__init__", *MODULES]:
        name = "channels" if module == "__init__" else f"channels.{module}"
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, name
        attempted += result.attempted
    assert attempted >= 20


def test_no_forbidden_imports_and_single_sionna_module() -> None:
    sionna_users = set()
    for path in PACKAGE_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for imported in names:
                top = imported.split(".")[0]
                assert top not in {"semcom", "adversary"}, f"{path.name} imports {imported}"
                if top == "sionna":
                    sionna_users.add(path.name)
    assert sionna_users == {"_sionna.py"}


def test_import_is_lazy_and_sionna_import_keeps_torch_rng() -> None:
    code = (
        "import sys, torch\n"
        "import channels\n"
        "assert 'sionna' not in sys.modules, 'import channels imported sionna'\n"
        "torch.manual_seed(0); ref = torch.rand(4)\n"
        "torch.manual_seed(0)\n"
        "x = torch.ones(2, 3, dtype=torch.complex64)\n"
        "channels.AWGNChannel()(x, snr_db=10.0, generator=torch.Generator().manual_seed(1))\n"
        "assert 'sionna' in sys.modules\n"
        "assert torch.equal(torch.rand(4), ref), 'importing sionna changed torch RNG state'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
