"""docs/examples/sionna_ofdm_link.py end to end, small: semcom's transceiver and adversary in a
user's own Sionna TDL/OFDM link; the attack must beat equal-energy Gaussian jamming."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "sionna_ofdm_link.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("sionna_ofdm_link", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_attack_degrades_ssim_more_than_jamming_on_the_tdl_ofdm_link(example, capsys):
    result = example.main(["--epochs", "3", "--train-samples", "1000", "--test-samples", "64",
                           "--eps", "0", "1", "2", "3", "--steps", "5", "--eot", "2",
                           "--harden-samples", "320"])
    pgd, jam = result["ssim"]["pgd"], result["ssim"]["gaussian"]
    assert pgd[0] == jam[0], "ε = 0 is the same unattacked link on the same channel draws"
    assert all(b < a for a, b in zip(pgd, pgd[1:], strict=False)), pgd
    for eps, a, j in zip(result["eps"][1:], pgd[1:], jam[1:], strict=True):
        assert a < j, (eps, a, j)
    assert pgd[-1] < jam[-1] - 0.01, (pgd, jam)
    hardened = result["hardened"]["pgd"][0]
    assert hardened > pgd[-1], "the receiver hardened on the user's link should resist better"
    assert "TDL-C over OFDM" in capsys.readouterr().out
