"""Which functions a scenario's ``factory:`` may name, decided before any of their code runs.

A scenario file travels with papers and repositories, and naming a function
in it makes semcom call it: ``factory: subprocess:getoutput`` would run a
shell. So a factory must have been written to be named: marked with
``@semcom.factory`` (:data:`FACTORY_MARK`), or registered by
its package as an entry point in the group :data:`ENTRY_POINT_GROUP`.

Importing a module runs its top-level code, so the mark is looked for before
the import, in the module's source: the module is located on the path
without importing it (nor its parent packages), its file is parsed with
``ast`` and the function must be defined at top level under a ``factory``
decorator (``@semcom.factory``, ``@factory``). Only then is it imported, and
the mark checked again on the function itself. What is still run on import:
the top-level code of a module that does mark a factory, and of its parent
packages (``pkg/__init__.py`` for ``pkg.mod:fn``). Standard-library modules,
compiled modules and modules without a source file are refused unless an
entry point registers them (docs/api.md §6).
"""

from __future__ import annotations

import ast
import functools
import sys
from importlib.machinery import PathFinder
from pathlib import Path

__all__ = ["COMPONENTS_GROUP", "ENTRY_POINT_GROUP", "FACTORY_MARK", "entry_point_factories", "factory_problem",
           "load_components", "marked_in_source"]

FACTORY_MARK = "__semcom_factory__"
"""Attribute set by :func:`semcom.models.plugins.factory` on a callable a scenario may name as ``factory:``."""

ENTRY_POINT_GROUP = "semcom.factories"
"""Entry-point group by which an installed package registers the factories scenarios may name."""

_HOW = (f"mark it with @semcom.factory, or register it as an entry point in the group "
        f"'{ENTRY_POINT_GROUP}' of its package")


COMPONENTS_GROUP = "semcom.components"
"""Entry-point group by which an installed package adds components: each entry point names a module
that registers attacks, channels or defences with their decorators when imported."""


@functools.cache
def load_components() -> tuple[str, ...]:
    """Import every module registered in :data:`COMPONENTS_GROUP` (once per process), so that the
    registries the scenario schema and ``semcom list`` read hold the installed packages' components.
    Returns the modules' names."""
    import importlib
    from importlib.metadata import entry_points

    names = tuple(ep.value.split(":")[0].strip() for ep in entry_points(group=COMPONENTS_GROUP))
    for name in names:
        importlib.import_module(name)
    return names


def entry_point_factories() -> set[str]:
    """Every ``"module:function"`` registered in :data:`ENTRY_POINT_GROUP` by an installed package."""
    from importlib.metadata import entry_points

    return {ep.value.replace(" ", "") for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _locate(module_name: str) -> Path | None:
    """The source file of ``module_name`` on ``sys.path`` and the working folder, found without
    importing it or its parents; None if there is none (absent, compiled, namespace, frozen)."""
    search = [*sys.path, str(Path.cwd())]
    spec = None
    parts = module_name.split(".")
    for i in range(len(parts)):
        spec = PathFinder.find_spec(".".join(parts[: i + 1]), search)
        if spec is None:
            return None
        if i < len(parts) - 1:
            search = list(spec.submodule_search_locations or [])
            if not search:
                return None
    origin = getattr(spec, "origin", None)
    return Path(origin) if origin and origin.endswith(".py") else None


def _is_factory_decorator(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "factory") or (
        isinstance(node, ast.Attribute) and node.attr == "factory")


def marked_in_source(source: str, attr: str) -> bool:
    """Whether ``source`` defines ``attr`` at top level under a ``factory`` decorator, or as
    ``attr = factory(…)`` / ``attr = semcom.factory(…)``."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == attr:
            return any(_is_factory_decorator(d) for d in node.decorator_list)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == attr for t in node.targets):
            value = node.value
            if isinstance(value, ast.Call) and _is_factory_decorator(value.func):
                return True
    return False


def factory_problem(spec: str) -> tuple[str | None, Path | None]:
    """``(why spec may not be imported, None)`` or ``(None, its source file or None)``.

    Runs none of the module's code. An entry-point registered factory is allowed as it is; a
    module already imported is checked on the function itself (its code has run already).
    """
    module_name, _, attr = spec.partition(":")
    if spec in entry_point_factories():
        return None, _locate(module_name)
    top = module_name.split(".")[0]
    if top in sys.stdlib_module_names:
        return (f"{spec} is in the Python standard library, not a semcom factory: refused without "
                "importing it"), None
    loaded = sys.modules.get(module_name)
    if loaded is not None:
        if not callable(getattr(loaded, attr, None)):
            return f"module {module_name!r} has no function {attr!r}", None
        if not getattr(getattr(loaded, attr, None), FACTORY_MARK, False):
            return f"{spec} is not marked as a semcom factory ({_HOW}); refused before calling it", None
        file = getattr(loaded, "__file__", None)
        return None, Path(file) if file else None
    path = _locate(module_name)
    if path is None:
        if PathFinder.find_spec(top, [*sys.path, str(Path.cwd())]) is None:
            return f"cannot import module {module_name!r} (ModuleNotFoundError: no module named {top!r})", None
        return (f"cannot check {spec} for the @semcom.factory mark without running it: no Python source "
                f"file for module {module_name!r} (compiled, namespace or missing); register it as an "
                f"entry point in the group '{ENTRY_POINT_GROUP}'"), None
    try:
        source = path.read_text(encoding="utf-8")
        marked = marked_in_source(source, attr)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as err:
        return f"cannot read {path} to check {spec} for the @semcom.factory mark ({type(err).__name__})", None
    if not marked:
        return (f"{spec} is not marked as a semcom factory ({_HOW}); refused without importing "
                f"{path}"), None
    return None, path
