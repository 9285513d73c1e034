"""The docs are tested: the Python API page runs as written, the scenario reference is current."""

import re
from pathlib import Path

import pytest
import torch

from semcom.report.docs_gen import DOC_PATH, main, render_scenario_reference

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)


@pytest.fixture(scope="module")
def api_session():
    """Every ```python block of docs/api.md, run in order in one namespace."""
    namespace: dict = {"__name__": "docs_api"}
    blocks = _python_blocks(DOCS / "api.md")
    assert len(blocks) >= 6
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/api.md[block {i}]", "exec"), namespace)
    return namespace


def test_api_examples_compose_a_link_and_attack_it(api_session):
    ns = api_session
    assert ns["model"].model.latent_dim == 8 and ns["model"].sigma_z > 0
    assert ns["symbols"].is_complex() and ns["x_hat"].shape == ns["x"].shape
    assert ns["symbols"].abs().pow(2).mean().item() == pytest.approx(1.0, abs=0.25)
    assert ns["attack"].delta.norm(dim=1).max().item() <= 2.0 + 1e-5
    assert ns["ssim_attacked"] < ns["ssim_jammed"]


def test_api_dd_curves_and_hardening(api_session):
    ns = api_session
    pgd_curve, jam_curve = ns["pgd_curve"], ns["jam_curve"]
    assert pgd_curve.eps == jam_curve.eps == [0.0, 1.0, 2.0, 4.0]
    assert pgd_curve.values[0] == jam_curve.values[0], "ε = 0 is the same unattacked link"
    assert all(b < a for a, b in zip(pgd_curve.values, pgd_curve.values[1:], strict=False))
    assert pgd_curve.aaddc() < jam_curve.aaddc()
    assert ns["area"] == pytest.approx(0.55)
    assert ns["after"].aaddc() > pgd_curve.aaddc(), "hardening should raise the AADDC under PGD"
    original, hardened = ns["model"].model, ns["hardened"].model
    for (name, p), q in zip(original.encoder.state_dict().items(),
                            hardened.encoder.state_dict().values(), strict=True):
        assert torch.equal(p, q), f"the transmitter changed: {name}"
    assert any(not torch.equal(p, q) for p, q in zip(original.decoder.parameters(),
                                                      hardened.decoder.parameters(), strict=True))


def test_public_api_is_importable_without_torch_until_used():
    import subprocess
    import sys

    code = ("import sys, semcom; before = 'torch' in sys.modules; semcom.dd_curve; "
            "print(before, 'torch' in sys.modules, sorted(semcom.__all__) == semcom.__all__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]


def test_every_public_name_resolves():
    import semcom

    assert all(getattr(semcom, name) is not None for name in semcom.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        semcom.__getattr__("nope")


def test_scenario_reference_is_generated_from_the_schema():
    assert DOC_PATH == DOCS / "scenario.md"
    assert DOC_PATH.read_text(encoding="utf-8") == render_scenario_reference(), (
        "docs/scenario.md is stale: run `python -m semcom.report.docs_gen`")


def test_scenario_reference_lists_every_key():
    from channels import CHANNELS
    from semcom.report.docs_gen import _fields, _sections
    from semcom.study.scenario import Scenario

    text = DOC_PATH.read_text(encoding="utf-8")
    for key, model in _sections(Scenario):
        assert f"## {key}\n" in text
        for name in _fields(model):
            assert f"| `{name}` |" in text, (key, name)
    for kind in CHANNELS:  # each kind's own settings, from its class
        assert f"## channels[] (kind: {kind})\n" in text


def test_docs_gen_check_flags_a_stale_page(tmp_path, capsys):
    page = tmp_path / "scenario.md"
    assert main(["--out", str(page)]) == 0
    assert main(["--check", "--out", str(page)]) == 0
    page.write_text(page.read_text() + "edited by hand\n")
    assert main(["--check", "--out", str(page)]) == 1
    assert "python -m semcom.report.docs_gen" in capsys.readouterr().err
