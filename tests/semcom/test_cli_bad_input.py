"""Every kind of bad scenario input: exit code 2, one line naming file and key, no traceback."""

import textwrap

import pytest
import yaml
from click.testing import CliRunner

from semcom.cli import main

VALID = {
    "name": "tiny",
    "models": [{"variant": "vae-kld", "latent_dim": 4, "epochs": 1}],
    "channels": [{"kind": "ideal"}, {"kind": "awgn", "snr_db": [10]}],
    "adversary": {"eps": [0, 1], "attacks": [{"kind": "pgd"}, {"kind": "gaussian"}]},
}


def _with(path: str, value, base: dict = VALID):
    """``base`` with the key at dotted ``path`` (list indices as ints) set to ``value``."""
    import copy

    doc = copy.deepcopy(base)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = doc
    for p in parents:
        node = node[p]
    node[last] = value
    return doc


CASES = [
    ("unknown top-level key", _with("colour", "red"), "colour: unknown key"),
    ("unknown nested key", _with("adversary.attacks.0.stepz", 3), "adversary.attacks[0].stepz: unknown key"),
    ("steps out of range", _with("adversary.attacks.0.steps", 0), "adversary.attacks[0].steps: must be ≥ 1; got 0"),
    ("wrong type", _with("adversary.attacks.0.steps", "ten"), "adversary.attacks[0].steps:"),
    ("unknown attack kind", _with("adversary.attacks.1.kind", "laser"), "adversary.attacks[1].kind: must be one of"),
    ("unknown target", _with("adversary.attacks.0.target", "purple"), "adversary.attacks[0].target:"),
    ("negative eps", _with("adversary.eps", [-1, 1]), "adversary.eps: must be finite and ≥ 0"),
    ("eps not increasing", _with("adversary.eps", [0, 2, 1]), "adversary.eps: must be strictly increasing"),
    ("one eps", _with("adversary.eps", [1]), "adversary.eps: must have 2 to"),
    ("unknown variant", _with("models.0.variant", "gan"), "models[0].variant: must be one of"),
    ("latent too small", _with("models.0.latent_dim", 0), "models[0].latent_dim: must be ≥ 1; got 0"),
    ("epochs huge", _with("models.0.epochs", 10**9), "models[0].epochs: must be ≤ 1000"),
    ("adversarial training without budget", _with("models.0.adversarial", {"eps": 0}),
     "models[0].adversarial.eps: must be > 0"),
    ("unknown attack distance", _with("adversary.attacks.0.distance", "l1"),
     "adversary.attacks[0].distance:"),
    ("no models", _with("models", []), "models: must be at least 1 item(s)"),
    ("unknown channel", _with("channels.0.kind", "wormhole"), "channels[0].kind: must be one of"),
    ("ideal with snr", _with("channels.0.snr_db", [10]), "channels[0]: the ideal link has no noise"),
    ("awgn without snr", _with("channels.1.snr_db", []), "channels[1]: a awgn link needs `snr_db`"),
    ("snr not finite", _with("channels.1.snr_db", [float("inf")]),
     "channels[1].snr_db[0]: input should be a finite number; got inf"),
    ("unknown metric", _with("metrics", ["ssim", "beauty"]), "metrics[1]: must be one of"),
    ("unknown dataset", _with("data", {"name": "imagenet"}), "data.name: must be one of"),
    ("too many samples", _with("data", {"test_samples": 10**9}), "data.test_samples: must be ≤"),
    ("duplicate attack", _with("adversary.attacks", [{"kind": "gaussian"}, {"kind": "gaussian"}]),
     "adversary: attack labels must be unique"),
    ("bad name", _with("name", "../escape"), "name:"),
    ("baseline for absent metric", _with("aaddc_baselines", {"lpips": 1.0}), "aaddc_baselines"),
    ("missing adversary", {k: v for k, v in VALID.items() if k != "adversary"}, "adversary: required key is missing"),
    ("odd key on one line", _with("report", {"a\nb: c": 1}), "report.'a\\nb: c': unknown key"),
    ("nan baseline", _with("aaddc_baselines", {"ssim": float("nan")}),
     "aaddc_baselines.ssim: input should be a finite"),
    ("inf weight", _with("models.0.weight", float("inf")),
     "models[0].weight: input should be a finite"),
    ("exhausting study", {**_with("adversary", {"eps": {"start": 0, "stop": 1, "num": 200},
                                                "attacks": [{"kind": "pgd", "steps": 1000}]}),
                          "data": {"test_samples": 10**5}},
     "(top level): the study needs about 4.0e+10 decoder passes; the limit is 1e+10"),
]

PSR = {**VALID,
       "adversary": {"psr_db": [-20, -10], "attacks": [{"kind": "pgd"}, {"kind": "gaussian"}]}}


CASES += [  # the threat-model keys: budgets in dB, placement, PGD options, new attack kinds
    ("eps and psr_db", _with("adversary.psr_db", [-10, 0]),
     "adversary: give exactly one budget sweep, `eps` or `psr_db`; got both"),
    ("no budget", _with("adversary.psr_db", None, PSR), "adversary: give exactly one budget sweep"),
    ("psr_db with linf", _with("adversary.norm", "linf", PSR),
     "adversary: `psr_db` budgets are L2 power ratios: use `norm: l2`"),
    ("psr_db decreasing", _with("adversary.psr_db", [0, -10], PSR),
     "adversary.psr_db: must be strictly increasing"),
    ("psr_db huge", _with("adversary.psr_db", [-10, 90], PSR),
     "adversary.psr_db: must be finite and in [-100, 60] dB"),
    ("psr_db range", _with("adversary.psr_db", {"start": -200, "stop": 0, "num": 3}, PSR),
     "adversary.psr_db.start: must be ≥ -100"),
    ("unknown placement", _with("adversary.placement", "orbit"), "adversary.placement:"),
    ("eot zero", _with("adversary.attacks.0.eot", 0),
     "adversary.attacks[0].eot: must be ≥ 1; got 0"),
    ("eot huge", _with("adversary.attacks.0.eot", 1000), "adversary.attacks[0].eot: must be ≤ 64"),
    ("restarts zero", _with("adversary.attacks.0.restarts", 0),
     "adversary.attacks[0].restarts: must be ≥ 1"),
    ("momentum negative", _with("adversary.attacks.0.momentum", -0.5),
     "adversary.attacks[0].momentum: must be ≥ 0"),
    ("class target not a number", _with("adversary.attacks.0.target", "class:three"),
     "adversary.attacks[0].target: `class:<k>` needs a class index"),
    ("eot on jamming", _with("adversary.attacks.1.eot", 4),
     "adversary.attacks[1].eot: unknown key"),
    ("blackbox estimator", _with("adversary.attacks.1", {"kind": "blackbox", "estimator": "fd"}),
     "adversary.attacks[1].estimator:"),
    ("blackbox query budget", _with("adversary.attacks.1", {"kind": "blackbox", "query_budget": 0}),
     "adversary.attacks[1].query_budget: must be ≥ 3; got 0"),
    ("blackbox eot", _with("adversary.attacks.1", {"kind": "blackbox", "eot": 2}),
     "adversary.attacks[1].eot: unknown key"),
    ("universal epochs", _with("adversary.attacks.1", {"kind": "universal", "epochs": 0}),
     "adversary.attacks[1].epochs: must be ≥ 1; got 0"),
    ("universal target", _with("adversary.attacks.1", {"kind": "universal", "target": "purple"}),
     "adversary.attacks[1].target: must be one of"),
    ("semantic metric unknown", _with("metrics", ["accuracy", "fidelity"]),
     "metrics[1]: must be one of"),
]


def _run(args, tmp_path):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.output


def _check_one_line(code, output, *needles):
    assert code == 2, output
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.mark.parametrize(("what", "doc", "expected"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_scenario_exits_2_naming_file_and_key(tmp_path, what, doc, expected, command):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = tmp_path / "run"
    args = [command, str(path)] + (["--out", str(out)] if command == "run" else [])
    code, output = _run(args, tmp_path)
    _check_one_line(code, output, str(path), expected)
    assert not out.exists(), "a bad scenario must not leave a run folder behind"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed", "YAML syntax error"),
        ("- just\n- a list\n", "must be a mapping"),
        ("", "must be a mapping"),
        ("!!python/object/apply:os.system ['echo pwned']", "YAML syntax error"),
    ],
)
def test_unparseable_files(tmp_path, text, expected):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    _check_one_line(*_run(["validate", str(path)], tmp_path), str(path), expected)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    _check_one_line(*_run(["run", str(path)], tmp_path), str(path), "no such scenario file")


def test_valid_scenario_validates(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(VALID))
    code, output = _run(["validate", str(path)], tmp_path)
    assert code == 0, output
    assert "4 grid points" in output


def test_a_class_the_data_set_lacks_is_bad_input_at_run_time(tmp_path):
    """``class:<k>`` can only be checked against the data: `run` still exits 2, writing nothing."""
    doc = _with("adversary.attacks.0.target", "class:12")
    doc["data"] = {"train_samples": 100, "test_samples": 10}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = tmp_path / "run"
    assert _run(["validate", str(path)], tmp_path)[0] == 0
    code, output = _run(["run", str(path), "--out", str(out)], tmp_path)
    _check_one_line(code, output, str(path), "adversary.attacks[0].target:", "classes 0 to 9",
                    "'class:12'")
    assert not out.exists(), "a bad scenario must not leave a run folder behind"


def test_shipped_scenarios_validate():
    from pathlib import Path

    for path in sorted(Path(__file__).parents[2].joinpath("scenarios").glob("*.yaml")):
        code, output = _run(["validate", str(path)], None)
        assert code == 0, output


def test_cuda_unavailable_is_bad_input(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(VALID))
    _check_one_line(*_run(["run", str(path), "--device", "cuda", "--out", str(tmp_path / "r")], tmp_path),
                    "CUDA is not available")


def test_list_shows_registries():
    code, output = _run(["list"], None)
    assert code == 0
    for needle in ["models:", "vae-kld", "ae", "channels:", "awgn", "rayleigh", "ideal", "attacks:",
                   "pgd", "gaussian", "targets:", "black", "metrics:", "ssim", "psnr", "mse"]:
        assert needle in output, needle


def test_help_is_fast_to_import():
    """`semcom --help` must not import torch or sionna (speed is benchmarked, this checks the cause)."""
    import subprocess
    import sys

    code = textwrap.dedent(
        """
        import sys
        from click.testing import CliRunner
        from semcom.cli import main
        CliRunner().invoke(main, ["--help"])
        print(",".join(m for m in ("torch", "sionna") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
