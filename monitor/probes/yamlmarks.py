"""Load YAML (or JSON) keeping the line of every node, so validation errors can name a line.

:func:`load_with_lines` returns the plain Python data plus a map from a key path such as
``("probes", 3, "category")`` to the 1-based line where that node starts. :func:`line_for`
finds the line of the deepest path prefix that exists (a missing key points at its parent).

>>> data, lines = load_with_lines("suite: x\\nprobes:\\n  - id: a\\n    category: bad\\n")
>>> data["probes"][0]["category"], lines[("probes", 0, "category")]
('bad', 4)
>>> line_for(lines, ("probes", 0, "missing_key"))
3
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

Path_ = tuple[Any, ...]


class SourceError(ValueError):
    """A problem in a file, with the file name and 1-based line when known."""

    def __init__(self, *, file: str, problem: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.problem = problem
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {problem}")


class SourceErrors(ValueError):
    """Several :class:`SourceError` found in one file."""

    def __init__(self, errors: Sequence[SourceError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def load_with_lines(text: str) -> tuple[Any, dict[Path_, int]]:
    """Parse ``text`` (YAML 1.1 / JSON); raise ``yaml.YAMLError`` on a syntax error."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}
    if node is None:
        return None, lines
    return _build(node, (), lines, loader), lines


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], loader: yaml.SafeLoader) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, loader)
            if key in out:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            out[key] = _build(value_node, (*path, key), lines, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, loader) for i, item in enumerate(node.value)]
    return _scalar(node, loader)


def _scalar(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, "expected a plain value here, not a list or mapping", node.start_mark
        )
    return loader.construct_object(node, deep=True)


def line_for(lines: dict[Path_, int], path: Sequence[Any]) -> int | None:
    """Line of ``path`` or of its deepest existing prefix (``None`` for an empty map)."""
    p = tuple(path)
    while p not in lines and p:
        p = p[:-1]
    return lines.get(p)


def yaml_error_to_source_error(file: str, err: yaml.YAMLError) -> SourceError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    text = f"YAML syntax error: {context + ', ' if context else ''}{problem}"
    return SourceError(file=file, line=mark.line + 1 if mark else None, problem=text)


def pydantic_errors_to_source_errors(
    file: str, exc: Any, lines: dict[Path_, int]
) -> SourceErrors:
    """Turn a pydantic ``ValidationError`` into file/line/problem errors."""
    errors = []
    raw = [(tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith("function-"))),
            e) for e in exc.errors()]
    locs = [loc for loc, _ in raw]
    for loc, e in raw:
        # "too short" on a list whose items failed is noise next to the items' own errors
        if any(len(o) > len(loc) and o[: len(loc)] == loc for o in locs):
            continue
        key = ".".join(str(x) for x in loc) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        errors.append(SourceError(file=file, line=line_for(lines, loc), problem=f"{key}: {msg}"))
    return SourceErrors(errors)
