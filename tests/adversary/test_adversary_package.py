"""Package-level contracts: exports, independence from semcom/channels, runnable docs."""

import ast
import doctest
import importlib
import inspect
from pathlib import Path

import pytest

import adversary

PACKAGE = Path(adversary.__file__).parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def test_the_public_api_is_importable():
    from adversary import (  # noqa: F401
        DISTANCES,
        TARGETS,
        PGDResult,
        gaussian_jamming,
        get_distance,
        make_target,
        pgd,
        project,
        register_distance,
        register_target,
    )


@pytest.mark.parametrize("name", ["__init__", *MODULES])
def test_every_module_declares_all_and_its_names_exist(name):
    module = adversary if name == "__init__" else importlib.import_module(f"adversary.{name}")
    assert isinstance(module.__all__, list)
    for export in module.__all__:
        assert hasattr(module, export), (name, export)


@pytest.mark.parametrize("name", MODULES)
def test_adversary_imports_neither_semcom_nor_channels(name):
    tree = ast.parse((PACKAGE / f"{name}.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"semcom", "channels"}, imported


def test_public_functions_are_annotated():
    for export in adversary.__all__:
        obj = getattr(adversary, export)
        if inspect.isfunction(obj):
            signature = inspect.signature(obj)
            assert signature.return_annotation is not inspect.Signature.empty, export
            for parameter in signature.parameters.values():
                assert parameter.annotation is not inspect.Parameter.empty, (export, parameter.name)


@pytest.mark.parametrize("name", ["__init__", *MODULES])
def test_docstring_examples_run(name):
    module = adversary if name == "__init__" else importlib.import_module(f"adversary.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
