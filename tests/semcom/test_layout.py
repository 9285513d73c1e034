"""The package layout (docs/design.md §2): few top-level modules, no import circle, self-contained citations.

The import graph is read statically with ``ast``: every ``import`` statement of a module
counts, at module level or deferred inside a function (a deferred import is how an import
circle usually hides), except those under ``if TYPE_CHECKING:``. A registry that loads its
built-in members by name (``importlib.import_module``: the defences, the link kinds) does not
use their names, so that load is not an edge.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_TOP_LEVEL = 12
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".txt", ".cfg", ".ini"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(path: Path, name: str, modules: set[str] | None = None) -> set[str]:
    """The modules ``path`` (module ``name``) imports, deferred imports included.

    ``from pkg import x`` is ``pkg.x`` where that is one of ``modules`` (a submodule), else ``pkg``.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    todo: list[ast.AST] = [ast.parse(path.read_text())]
    while todo:
        node = todo.pop()
        if _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            out |= {f"{base}.{a.name}" if f"{base}.{a.name}" in (modules or ()) else base for a in node.names}
        todo.extend(ast.iter_child_nodes(node))
    return out


def import_graph(package: str) -> dict[str, set[str]]:
    """Module → the modules of ``package`` it imports."""
    modules = _modules(package)
    return {name: {m for m in _imported(path, name, set(modules)) if m in modules} - {name}
            for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as ``[a, b, …, a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_at_most_twelve_modules_directly_in_semcom():
    top = sorted(p.name for p in (ROOT / "semcom").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL, f"{len(top)} modules directly in semcom/: {top}"


def test_the_semcom_import_graph_has_no_cycle():
    graph = import_graph("semcom")
    assert len(graph) > 50 and graph["semcom.models.training"] >= {"semcom.defenses.hardening"}  # the graph is read
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " → ".join(cycle)


def test_find_cycle_reports_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("package", ["channels", "adversary"])
def test_channels_and_adversary_never_import_semcom(package):
    for name, path in _modules(package).items():
        named = {m for m in _imported(path, name) if m == "semcom" or m.startswith("semcom.")}
        assert not named, f"{path.relative_to(ROOT)} imports {sorted(named)}"
        loads = re.findall(r"""(?:import_module|__import__)\(\s*f?["']semcom\b""", path.read_text())
        assert not loads, f"{path.relative_to(ROOT)} loads semcom by name"


def _repo_text_files() -> list[Path]:
    skip = {"__pycache__", "node_modules"}
    return [p for p in sorted(ROOT.rglob("*")) if p.suffix in TEXT_SUFFIXES and p.is_file()
            and not any(part.startswith(".") or part in skip for part in p.relative_to(ROOT).parts)]


def test_no_file_cites_a_file_outside_the_repository():
    outside = ("ARCHITECTURE", "../shared")  # a design file that is not in the repo; the sessions' shared folder
    files = _repo_text_files()
    assert len(files) > 100 and ROOT / "docs" / "design.md" in files
    for path in files:
        text = path.read_text(errors="replace")
        for cited in outside:
            assert cited not in text or path == Path(__file__).resolve(), f"{path.relative_to(ROOT)} cites {cited!r}"


def test_relative_markdown_links_resolve_inside_the_repository():
    for path in _repo_text_files():
        if path.suffix != ".md":
            continue
        for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", path.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            resolved = (path.parent / target).resolve()
            assert resolved.is_relative_to(ROOT) and resolved.exists(), f"{path.relative_to(ROOT)} links {target}"


def test_design_section_citations_name_existing_sections():
    sections = set(re.findall(r"^## (\d+)\.", (ROOT / "docs" / "design.md").read_text(), re.M))
    assert len(sections) >= 7
    for path in _repo_text_files():
        for number in re.findall(r"design\.md\s*§\s*(\d+)", path.read_text(errors="replace")):
            assert number in sections, f"{path.relative_to(ROOT)} cites docs/design.md §{number}, which does not exist"
