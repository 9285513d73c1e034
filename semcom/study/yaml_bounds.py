"""Bounds on a scenario's YAML before it is built: alias expansion and nesting depth.

``yaml.safe_load`` runs no code, but two documents of a few kilobytes still
exhaust a machine: nested aliases (the "billion laughs" shape, ten levels of
nine aliases = 9¹⁰ nodes once a validator walks the tree) and deep nesting
(20,000 brackets: PyYAML's scanner is quadratic in the flow depth and its
composer recursive). :func:`yaml_bound_problem` reads the document as a stream
of parser events, never building it, counts the nodes it would expand to
(an alias counts as the whole node it names) and its depth, and stops at the
first bound passed, so the check costs a fraction of a second and no memory
whatever the document (docs/design.md §7: bad input is one line, exit code 2).
"""

from __future__ import annotations

import yaml

__all__ = ["MAX_DEPTH", "MAX_NODES", "yaml_bound_problem"]

MAX_DEPTH = 32
"""Deepest nesting of mappings and lists a scenario may have (the shipped ones need 6)."""

MAX_NODES = 100_000
"""Most nodes a scenario may expand to with its aliases resolved (the shipped ones: < 1,000)."""

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same events, faster


def _where(event) -> str:
    mark = event.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}: "


def yaml_bound_problem(text: str) -> str | None:
    """Why ``text`` may not be loaded (one line, with where), or None when it is within bounds.

    Syntax errors are left to the loader (None), except libyaml's own depth limit.
    """
    sizes: dict[str, int] = {}  # anchor -> nodes of the node it names, once that node is closed
    stack: list[list] = []  # open collections: [nodes so far, anchor]
    total = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.AliasEvent):
                size = sizes.get(event.anchor)
                if size is None and any(anchor == event.anchor for _, anchor in stack):
                    return f"{_where(event)}alias *{event.anchor} refers to a node that holds it"
                size = size or 1  # an undefined alias: the loader names it
            elif isinstance(event, yaml.ScalarEvent):
                size = 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.CollectionStartEvent):
                stack.append([1, event.anchor])
                if len(stack) > MAX_DEPTH:
                    return (f"{_where(event)}YAML nested deeper than {MAX_DEPTH} levels "
                            "(a scenario needs a handful); refused")
                continue
            elif isinstance(event, yaml.CollectionEndEvent) and stack:
                size, anchor = stack.pop()
                if anchor:
                    sizes[anchor] = size
                if stack:
                    stack[-1][0] += size
                continue
            else:
                continue
            if stack:
                stack[-1][0] += size
            total = max(total, sum(n for n, _ in stack) if stack else size)
            if size > MAX_NODES or total > MAX_NODES:
                return (f"{_where(event)}YAML aliases expand to more than {MAX_NODES:,} values "
                        "(an alias bomb?); refused")
    except yaml.YAMLError as err:
        if "maximum nesting depth" in str(err):  # libyaml stops at 1,000 levels by itself
            mark = getattr(err, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            return f"{where}YAML nested deeper than {MAX_DEPTH} levels (a scenario needs a handful); refused"
        return None
    return None
