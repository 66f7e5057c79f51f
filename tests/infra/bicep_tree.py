"""Bicep files read with tree-sitter-bicep, and their declarations as Python values.

No Bicep compiler can be installed offline, so the infra tests read the source with the
tree-sitter grammar: syntax errors come from the parse tree, and the invariants are checked on
literal values (strings without interpolation, numbers, booleans, objects, arrays). Anything
else is kept as an :class:`Expression` holding its source text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import tree_sitter_bicep
from tree_sitter import Language, Node, Parser

PROJECT_DIR = Path(__file__).resolve().parents[2]
INFRA_DIR = PROJECT_DIR / "infra"

_PARSER = Parser(Language(tree_sitter_bicep.language()))
_ESCAPES = {"\\'": "'", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\$": "$"}


@dataclass(frozen=True)
class Expression:
    """A Bicep expression that is not a literal, as its source text."""

    text: str


@dataclass(frozen=True)
class Declaration:
    """A top-level ``param``, ``var``, ``resource``, ``module`` or ``output``.

    Attributes:
        kind: ``param``, ``var``, ``resource``, ``module`` or ``output``.
        name: The symbolic name.
        target: The ``Type@version`` of a resource, the path of a module, the type of a param
            or an output; None for a var.
        value: The body of a resource or module (inside ``if``/``for``), or the (default) value.
        node: The value's syntax node, for walks the Python value cannot express.
        condition: Source of the ``if`` condition, when there is one.
        loop: Whether the declaration is a ``for`` loop.
        existing: Whether a resource is declared ``existing``.
        decorators: Decorator name to its argument nodes' source texts.
        line: 1-based line of the declaration.
    """

    kind: str
    name: str
    target: str | None
    value: Any
    node: Node | None
    condition: str | None = None
    loop: bool = False
    existing: bool = False
    decorators: dict[str, tuple[str, ...]] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class BicepFile:
    """One parsed file and its declarations, in source order."""

    path: Path
    source: bytes
    declarations: tuple[Declaration, ...]

    def of_kind(self, kind: str) -> list[Declaration]:
        """The declarations of one kind."""
        return [d for d in self.declarations if d.kind == kind]

    def get(self, kind: str, name: str) -> Declaration:
        """The declaration of a kind by name; KeyError when there is none."""
        for declaration in self.declarations:
            if declaration.kind == kind and declaration.name == name:
                return declaration
        raise KeyError(f"{self.path.name}: no {kind} named {name}")


def syntax_errors(source: bytes) -> list[str]:
    """Every ERROR and MISSING node of the parse, as ``line:column: description``."""
    problems: list[str] = []
    stack = [_PARSER.parse(source).root_node]
    while stack:
        node = stack.pop()
        row, column = node.start_point
        if node.is_missing:
            problems.append(f"{row + 1}:{column + 1}: missing {node.type}")
        elif node.type == "ERROR":
            snippet = (node.text or b"")[:40].decode(errors="replace")
            problems.append(f"{row + 1}:{column + 1}: syntax error near {snippet!r}")
        if node.has_error:
            stack.extend(node.children)
    return sorted(problems)


def bicepparam_as_bicep(source: bytes) -> bytes:
    """A ``.bicepparam`` file rewritten so the Bicep grammar can parse it.

    tree-sitter-bicep 1.1.0 knows ``using`` but not the untyped ``param name = value`` of
    parameter files; as ``var name = value`` the same expressions go through the real grammar.
    """
    return re.sub(rb"(?m)^(\s*)param(\s+\w+\s*=)", rb"\1var\2", source)


def bicep_files() -> list[Path]:
    """Every ``.bicep`` file under ``infra/``."""
    return sorted(INFRA_DIR.rglob("*.bicep"))


@cache
def read(path: Path) -> BicepFile:
    """Parse a file (cached: the files do not change during a test run)."""
    source = path.read_bytes()
    root = _PARSER.parse(source).root_node
    declarations: list[Declaration] = []
    decorators: dict[str, tuple[str, ...]] = {}
    for node in root.named_children:
        if node.type == "decorators":
            decorators = _decorators(node)
            continue
        if node.type == "comment":
            # A comment between the decorators and the declaration (checkov:skip) is allowed.
            continue
        declaration = _declaration(node, decorators)
        decorators = {}
        if declaration is not None:
            declarations.append(declaration)
    return BicepFile(path, source, tuple(declarations))


def _decorators(node: Node) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for decorator in node.named_children:
        call = decorator.named_children[0]
        function = call.child_by_field_name("function")
        arguments = call.child_by_field_name("arguments")
        if function is None:
            continue
        values = tuple(_text(a) for a in arguments.named_children) if arguments else ()
        found[_text(function)] = values
    return found


_KINDS = {
    "parameter_declaration": "param",
    "variable_declaration": "var",
    "resource_declaration": "resource",
    "module_declaration": "module",
    "output_declaration": "output",
}


def _declaration(node: Node, decorators: dict[str, tuple[str, ...]]) -> Declaration | None:
    kind = _KINDS.get(node.type)
    if kind is None:
        return None
    named = node.named_children
    name = _text(named[0])
    target: str | None = None
    rest = named[1:]
    if kind in ("resource", "module"):
        path_or_type = string_value(named[1])
        target = path_or_type if isinstance(path_or_type, str) else path_or_type.text
        rest = named[2:]
    elif kind in ("param", "output") and rest and rest[0].type == "type":
        target, rest = _text(rest[0]), rest[1:]
    existing = any(child.type == "existing" for child in node.children)
    rest = [n for n in rest if n.type != "existing"]
    body = rest[-1] if rest else None
    condition: str | None = None
    loop = False
    if body is not None and body.type == "if_statement":
        condition = _text(body.named_children[0])
        body = body.named_children[-1]
    elif body is not None and body.type == "for_statement":
        loop = True
        body = body.child_by_field_name("body") or body.named_children[-1]
        if body.type == "if_statement":  # a filtered loop: [for x in xs: if (cond) {...}]
            condition = _text(body.named_children[0])
            body = body.named_children[-1]
    return Declaration(
        kind=kind,
        name=name,
        target=target,
        value=None if body is None else to_python(body),
        node=body,
        condition=condition,
        loop=loop,
        existing=existing,
        decorators=decorators,
        line=node.start_point[0] + 1,
    )


def _text(node: Node) -> str:
    return (node.text or b"").decode()


def string_value(node: Node) -> str | Expression:
    """A string node's value, or an :class:`Expression` when it has interpolations."""
    parts: list[str] = []
    for child in node.named_children:
        if child.type == "interpolation":
            return Expression(_text(node))
        if child.type == "escape_sequence":
            parts.append(_ESCAPES.get(_text(child), _text(child)))
        else:
            parts.append(_text(child))
    return "".join(parts)


def to_python(node: Node) -> Any:
    """A literal's Python value: str, int, bool, None, dict or list; else an Expression."""
    kind = node.type
    if kind == "string":
        return string_value(node)
    if kind == "number":
        return int(_text(node))
    if kind == "boolean":
        return _text(node) == "true"
    if kind == "null":
        return None
    if kind == "object":
        result: dict[str, Any] = {}
        for prop in node.named_children:
            if prop.type != "object_property":
                continue
            key_node, value_node = prop.named_children[0], prop.named_children[-1]
            key = string_value(key_node) if key_node.type == "string" else _text(key_node)
            result[str(key)] = to_python(value_node)
        return result
    if kind == "array":
        return [to_python(item) for item in node.named_children if item.type != "comment"]
    return Expression(_text(node))


def walk(node: Node) -> Iterator[Node]:
    """The node and all its descendants, depth first."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def has_ancestor(node: Node, kind: str, stop: Node) -> bool:
    """Whether a node of type ``kind`` lies between ``node`` and ``stop`` (exclusive)."""
    current = node.parent
    while current is not None and current.id != stop.id:
        if current.type == kind:
            return True
        current = current.parent
    return False


def find_key(value: Any, key: str) -> list[Any]:
    """Every value stored under ``key`` anywhere in nested dicts and lists."""
    found: list[Any] = []
    if isinstance(value, dict):
        for name, item in value.items():
            if name == key:
                found.append(item)
            found.extend(find_key(item, key))
    elif isinstance(value, list):
        for item in value:
            found.extend(find_key(item, key))
    return found
