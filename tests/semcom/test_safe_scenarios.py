"""A scenario runs no code it was not meant to (issue 18): a factory must be marked
(``@semcom.factory``) or registered as an entry point, and is refused before its module is even
imported otherwise; YAML alias bombs and deep nesting are refused at load, one line, exit 2."""

from __future__ import annotations

import sys
import textwrap
import tracemalloc

import pytest
import yaml
from test_machine_faults import _invoke, _one_line  # the CLI in process; its one error line

from semcom.study.scenario import ScenarioError, load_scenario

BASE = {
    "name": "safe",
    "data": {"train_samples": 100, "test_samples": 8},
    "adversary": {"eps": [0, 1], "attacks": [{"kind": "gaussian"}]},
    "metrics": ["psnr"],
    "report": {"grid_samples": 2},
}


def _scenario(tmp_path, factory, **kwargs):
    doc = {**BASE, "models": [{"source": "python", "factory": factory, "factory_kwargs": kwargs}]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """The working folder (searched for factory modules), with its new modules forgotten after."""
    monkeypatch.chdir(tmp_path)
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("userfac_"):
            del sys.modules[name]


def _module(folder, name: str, source: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(source))


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_shell_named_as_factory_is_refused_and_never_runs(workdir, command):
    sentinel = workdir / "sentinel"
    path = _scenario(workdir, "subprocess:getoutput", cmd=f"touch {sentinel}")
    code, output = _invoke(command, path, *(["--out", workdir / "run"] if command == "run" else []))
    assert code == 2
    assert _one_line(output) == (f"error: {path}: models[0].factory: subprocess:getoutput is in the Python "
                                 "standard library, not a semcom factory: refused without importing it")
    assert not sentinel.exists()
    assert not (workdir / "run").exists()


def test_an_unmarked_function_is_refused_before_its_module_is_imported(workdir):
    """A script in the working folder whose top-level code does something: never imported."""
    sentinel = workdir / "imported"
    _module(workdir, "userfac_script", f"""
        from pathlib import Path
        Path({str(sentinel)!r}).touch()  # top-level code: runs on import

        def build():
            Path({str(sentinel)!r} + ".called").touch()
    """)
    path = _scenario(workdir, "userfac_script:build")
    for command in ("validate", "run"):
        code, output = _invoke(command, path, *(["--out", workdir / "run"] if command == "run" else []))
        assert code == 2
        line = _one_line(output)
        assert line.startswith(f"error: {path}: models[0].factory: userfac_script:build is not marked as a "
                               "semcom factory (mark it with @semcom.factory, or register it as an entry point "
                               "in the group 'semcom.factories' of its package); refused without importing"), line
    assert not sentinel.exists() and not (workdir / "imported.called").exists()
    assert "userfac_script" not in sys.modules


def test_a_look_alike_mark_is_refused_before_the_call(workdir):
    """A decorator named `factory` that is not semcom's passes the source check, not the real one."""
    sentinel = workdir / "called"
    _module(workdir, "userfac_fake", f"""
        from pathlib import Path

        def factory(fn):
            return fn

        @factory
        def build():
            Path({str(sentinel)!r}).touch()
    """)
    code, output = _invoke("validate", _scenario(workdir, "userfac_fake:build"))
    assert code == 2 and "refused before calling it" in _one_line(output)
    assert not sentinel.exists()


def test_a_marked_factory_validates_and_is_listed(workdir):
    _module(workdir, "userfac_ok", """
        import semcom
        from torch import nn

        @semcom.factory
        def build(latent_dim=3):
            enc = nn.Sequential(nn.Flatten(), nn.Linear(784, latent_dim))
            dec = nn.Sequential(nn.Linear(latent_dim, 784), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28)))
            return enc, dec
    """)
    path = _scenario(workdir, "userfac_ok:build", latent_dim=3)
    code, output = _invoke("validate", path)
    assert code == 0, output
    assert output.splitlines()[1] == (f"  loads models[0].factory userfac_ok:build (runs code from "
                                      f"{workdir / 'userfac_ok.py'})")


def test_an_entry_point_registers_an_unmarked_factory(workdir, monkeypatch):
    """An installed package's ``[project.entry-points."semcom.factories"]`` stands for the mark."""
    _module(workdir, "userfac_ep", """
        from torch import nn

        def build():
            enc = nn.Sequential(nn.Flatten(), nn.Linear(784, 2))
            return enc, nn.Sequential(nn.Linear(2, 784), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28)))
    """)
    dist = workdir / "site" / "userfac_ep-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: userfac-ep\nVersion: 1.0\n")
    path = _scenario(workdir, "userfac_ep:build")
    assert _invoke("validate", path)[0] == 2  # not registered yet
    (dist / "entry_points.txt").write_text("[semcom.factories]\nbuild = userfac_ep:build\n")
    monkeypatch.syspath_prepend(str(workdir / "site"))
    code, output = _invoke("validate", path)
    assert code == 0, output


def _alias_bomb(levels: int = 10, fanout: int = 9) -> str:
    """The "billion laughs" shape under `metrics:`: each level is `fanout` aliases of the one below."""
    lines = ["metrics:", "  - &l0 [psnr, psnr, psnr, psnr, psnr, psnr, psnr, psnr, psnr]"]
    for i in range(1, levels):
        lines.append(f"  - &l{i} [" + ", ".join([f"*l{i - 1}"] * fanout) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_load_without_building_it(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb())
    assert len(path.read_bytes()) < 2_500  # a 2 KB file that would expand to 9¹⁰ values
    tracemalloc.start()
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000, f"refusing the bomb took {peak / 1e6:.1f} MB"
    assert str(err.value) == (f"{path}: line 7, column 10: YAML aliases expand to more than 100,000 values "
                              "(an alias bomb?); refused")
    code, output = _invoke("validate", path)
    assert code == 2 and _one_line(output) == f"error: {err.value}"


def test_deep_nesting_is_refused_in_one_line(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("metrics: " + "[" * 20_000 + "]" * 20_000 + "\n")  # 40 KB
    for command in ("validate", "run"):
        code, output = _invoke(command, path)
        assert code == 2
        line = _one_line(output)
        assert line.startswith(f"error: {path}: line 1, column ") and line.endswith(
            "YAML nested deeper than 32 levels (a scenario needs a handful); refused"), line
    block = tmp_path / "block.yaml"
    block.write_text("metrics:\n" + "- " * 20_000 + "psnr\n")  # the same depth in block style
    assert "YAML nested deeper than 32 levels" in _one_line(_invoke("validate", block)[1])


def test_aliases_within_bounds_still_load(tmp_path):
    """Anchors and merge keys as scenarios use them stay valid."""
    path = tmp_path / "ok.yaml"
    path.write_text(textwrap.dedent("""
        name: anchors
        models: [{variant: vae-kld, latent_dim: 4}]
        adversary:
          eps: [0, 1]
          attacks: [&pgd {kind: pgd, steps: 3}, {<<: *pgd, label: pgd-5, steps: 5}]
    """))
    sc = load_scenario(path)
    assert [a.steps for a in sc.adversary.attacks] == [3, 5]
