"""Adaptive Cards Templating: a template plus data expanded into a card, by hand.

The subset of the Adaptive Cards Templating language (``adaptivecards-templating`` in
JavaScript, ``AdaptiveCards.Templating`` in .NET) this implements, JSON to JSON:

* ``${expression}`` in any string. A string that is exactly one binding takes the value's JSON
  type (a number stays a number, an object an object); inside longer text the value is
  written as text (``true``/``false``, numbers as JSON, objects as compact JSON).
* Paths: ``name``, ``a.b``, ``items[0].title``, ``$data`` (the current data), ``$root``,
  ``$index`` (in a repeated element), ``$host``.
* ``"$data"`` on any object changes its data: a binding (``"${items}"``) or an inline value.
  Bound to an array, the object is repeated once per item (in an array; ``$index`` counts).
* ``"$when"``: the object is dropped unless the expression is true. Expressions: paths,
  string (``'x'``), number, ``true``/``false``/``null`` literals, ``!``, ``==``, ``!=``,
  ``<``, ``<=``, ``>``, ``>=``, ``&&``, ``||`` and parentheses.
* A binding whose path does not resolve is left as written (``${missing}``), as the official
  libraries do, so a data mistake shows in the card rather than silently as blank.

Not supported: the Adaptive Expressions prebuilt functions (``if()``, ``formatDateTime()``,
``count()``...), arithmetic, ``$_`` string literals, and ``{{DATE()}}`` host functions. An
expression using them is a :class:`TemplateError` naming its JSON path, so a template never
sends half-expanded. Nothing is evaluated as code. Why by hand: the one Python package of the
language (``adaptive-cards-templating-py`` 0.1.5) evaluates expressions with Python ``eval``,
which a caller-supplied template must never reach (docs/cards.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

BINDING = re.compile(r"\$\{([^{}]*)\}")
"""``${...}``; nested braces are not part of the subset."""
MAX_DEPTH = 64
"""Deepest template accepted (the project's JSON parser refuses deeper documents anyway)."""
MAX_REPEAT = 1000
"""Most items one ``$data`` array may repeat an element for."""


class TemplateError(ValueError):
    """A template that cannot be expanded; ``path`` is the JSON path of the problem."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '(template)'}: {message}")
        self.path = path
        self.problem = message


class _Unresolved:
    """A path that names nothing in the data."""


UNRESOLVED = _Unresolved()


@dataclass(frozen=True)
class _Scope:
    data: Any
    root: Any
    host: Any
    index: int | None


def expand(template: Any, data: Any, *, host: Any = None) -> Any:
    """The card ``template`` describes for ``data``.

    Args:
        template: The template (a JSON value, usually an ``AdaptiveCard`` object).
        data: The root data (``$root``); a ``$data`` on the template's root object wins.
        host: ``$host`` data.

    Returns:
        A new JSON value; ``template`` is not changed.

    Raises:
        TemplateError: An expression outside the subset, or too deep a template.
    """
    scope = _Scope(data, data, host, None)
    if isinstance(template, Mapping) and "$data" in template:
        root = _data_of(template["$data"], scope, "$data")
        scope = _Scope(root, root, host, None)
        template = {key: value for key, value in template.items() if key != "$data"}
    expanded = _expand(template, scope, "", 0)
    return expanded if not isinstance(expanded, _Dropped) else None


class _Dropped:
    """An object whose ``$when`` was false."""


def _expand(node: Any, scope: _Scope, path: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise TemplateError(path, f"the template is nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, Mapping):
        return _expand_object(node, scope, path, depth)
    if isinstance(node, list):
        items: list[Any] = []
        for position, item in enumerate(node):
            item_path = _join(path, position)
            if isinstance(item, Mapping) and "$data" in item:
                bound = _data_of(item["$data"], scope, _join(item_path, "$data"))
                rest = {key: value for key, value in item.items() if key != "$data"}
                if isinstance(bound, list):
                    if len(bound) > MAX_REPEAT:
                        raise TemplateError(item_path, f"$data repeats over {MAX_REPEAT} items")
                    for index, entry in enumerate(bound):
                        inner = _Scope(entry, scope.root, scope.host, index)
                        expanded = _expand_object(rest, inner, item_path, depth + 1)
                        if not isinstance(expanded, _Dropped):
                            items.append(expanded)
                    continue
                expanded = _expand_object(
                    rest, _Scope(bound, scope.root, scope.host, scope.index), item_path, depth + 1
                )
            else:
                expanded = _expand(item, scope, item_path, depth + 1)
            if not isinstance(expanded, _Dropped):
                items.append(expanded)
        return items
    if isinstance(node, str):
        return _expand_text(node, scope, path)
    return node


def _expand_object(node: Mapping[str, Any], scope: _Scope, path: str, depth: int) -> Any:
    if "$data" in node:
        bound = _data_of(node["$data"], scope, _join(path, "$data"))
        scope = _Scope(bound, scope.root, scope.host, scope.index)
    if "$when" in node:
        condition = node["$when"]
        when_path = _join(path, "$when")
        if isinstance(condition, bool):
            keep = condition
        elif isinstance(condition, str) and (match := BINDING.fullmatch(condition.strip())):
            keep = _truthy(_evaluate(match.group(1), scope, when_path))
        else:
            raise TemplateError(when_path, "$when must be one ${...} expression")
        if not keep:
            return _Dropped()
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("$data", "$when"):
            continue
        expanded = _expand(value, scope, _join(path, key), depth + 1)
        if not isinstance(expanded, _Dropped):
            result[key] = expanded
    return result


def _data_of(value: Any, scope: _Scope, path: str) -> Any:
    if isinstance(value, str):
        match = BINDING.fullmatch(value.strip())
        if match is None:
            raise TemplateError(path, "$data must be one ${...} binding or an inline value")
        bound = _evaluate(match.group(1), scope, path)
        return None if bound is UNRESOLVED else bound
    return value


def _expand_text(text: str, scope: _Scope, path: str) -> Any:
    whole = BINDING.fullmatch(text)
    if whole is not None:
        value = _evaluate(whole.group(1), scope, path)
        return text if value is UNRESOLVED else value

    def replace(match: re.Match[str]) -> str:
        value = _evaluate(match.group(1), scope, path)
        return match.group(0) if value is UNRESOLVED else _as_text(value)

    return BINDING.sub(replace, text)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _truthy(value: Any) -> bool:
    return value is not UNRESOLVED and bool(value)


# The expression subset: a tokenizer and a recursive-descent evaluator.

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d+)?)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()])
      | (?P<path>\$?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_$][A-Za-z0-9_]*|\[\d+\])*)
    )""",
    re.VERBOSE,
)


def _tokens(expression: str, path: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = expression.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise TemplateError(
                path, f"'{expression.strip()}' is outside the supported expression subset"
            )
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    if not tokens:
        raise TemplateError(path, "an empty ${} expression")
    return tokens


def _evaluate(expression: str, scope: _Scope, path: str) -> Any:
    parser = _Parser(_tokens(expression, path), scope, path, expression.strip())
    value = parser.disjunction()
    if parser.position != len(parser.tokens):
        raise parser.error()
    return value


class _Parser:
    def __init__(
        self, tokens: list[tuple[str, str]], scope: _Scope, path: str, expression: str
    ) -> None:
        self.tokens = tokens
        self.position = 0
        self.scope = scope
        self.path = path
        self.expression = expression

    def error(self) -> TemplateError:
        return TemplateError(
            self.path,
            f"'{self.expression}' is outside the supported expression subset "
            "(functions and arithmetic are not supported)",
        )

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, operator: str) -> bool:
        token = self.peek()
        if token is not None and token == ("op", operator):
            self.position += 1
            return True
        return False

    def disjunction(self) -> Any:
        value = self.conjunction()
        while self.take("||"):
            right = self.conjunction()
            value = _truthy(value) or _truthy(right)
        return value

    def conjunction(self) -> Any:
        value = self.unary()
        while self.take("&&"):
            right = self.unary()
            value = _truthy(value) and _truthy(right)
        return value

    def unary(self) -> Any:
        if self.take("!"):
            return not _truthy(self.unary())
        return self.comparison()

    def comparison(self) -> Any:
        left = self.primary()
        token = self.peek()
        if token is None or token[0] != "op" or token[1] not in ("==", "!=", "<", "<=", ">", ">="):
            return left
        self.position += 1
        right = self.primary()
        return _compare(token[1], left, right)

    def primary(self) -> Any:
        token = self.peek()
        if token is None:
            raise self.error()
        self.position += 1
        kind, text = token
        if kind == "op" and text == "(":
            value = self.disjunction()
            if not self.take(")"):
                raise self.error()
            return value
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "string":
            return text[1:-1].replace("\\'", "'").replace('\\"', '"')
        if kind == "path":
            literal = {"true": True, "false": False, "null": None}
            if text in literal:
                return literal[text]
            following = self.peek()
            if following == ("op", "("):
                raise self.error()
            return _resolve(text, self.scope)
        raise self.error()


def _compare(operator: str, left: Any, right: Any) -> bool:
    left = None if left is UNRESOLVED else left
    right = None if right is UNRESOLVED else right
    if operator == "==":
        return bool(left == right)
    if operator == "!=":
        return bool(left != right)
    both_numbers = all(
        isinstance(value, int | float) and not isinstance(value, bool) for value in (left, right)
    )
    both_text = isinstance(left, str) and isinstance(right, str)
    if not (both_numbers or both_text):
        return False
    if operator == "<":
        return bool(left < right)
    if operator == "<=":
        return bool(left <= right)
    if operator == ">":
        return bool(left > right)
    return bool(left >= right)


_STEP = re.compile(r"\.?([A-Za-z_$][A-Za-z0-9_]*)|\[(\d+)\]")


def _resolve(path: str, scope: _Scope) -> Any:
    steps = [(name, index) for name, index in _STEP.findall(path)]
    head, _ = steps[0]
    if head == "$data":
        value: Any = scope.data
        steps = steps[1:]
    elif head == "$root":
        value = scope.root
        steps = steps[1:]
    elif head == "$host":
        value = scope.host
        steps = steps[1:]
    elif head == "$index":
        return scope.index if scope.index is not None else UNRESOLVED
    else:
        value = scope.data
    for name, index in steps:
        if index:
            if not isinstance(value, list) or int(index) >= len(value):
                return UNRESOLVED
            value = value[int(index)]
        elif isinstance(value, Mapping) and name in value:
            value = value[name]
        else:
            return UNRESOLVED
    return value


def _join(path: str, step: str | int) -> str:
    if isinstance(step, int):
        return f"{path}[{step}]"
    return f"{path}.{step}" if path else step
