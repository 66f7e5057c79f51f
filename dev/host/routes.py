"""HTTP route templates and the table that picks a function for a request.

Templates follow the subset of ASP.NET Core routing that Functions routes use: literal
segments, ``{name}``, optional ``{name?}`` (only at the end), constraints ``{name:int}``,
``long``, ``alpha``, ``guid``, ``bool``, and a catch-all ``{*rest}`` (or ``{**rest}``) as the
last segment. Literals match case-insensitively, as in the real host. When several templates
match, the most specific wins: literal before constrained parameter, before parameter, before
optional, before catch-all.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


class RouteError(ValueError):
    """A route template this host cannot serve; the message names the template."""


def _is_int(text: str, bits: int) -> bool:
    if not re.fullmatch(r"-?[0-9]+", text):
        return False
    return -(1 << (bits - 1)) <= int(text) < 1 << (bits - 1)


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


CONSTRAINTS: dict[str, Callable[[str], bool]] = {
    "int": lambda text: _is_int(text, 32),
    "long": lambda text: _is_int(text, 64),
    "alpha": lambda text: re.fullmatch(r"[A-Za-z]+", text) is not None,
    "guid": _is_guid,
    "bool": lambda text: text.lower() in ("true", "false"),
}
"""The route constraints this host understands, by name."""

_LITERAL, _CONSTRAINED, _PARAMETER, _OPTIONAL, _CATCH_ALL = range(5)
"""Segment kinds, in order of precedence (lower is more specific)."""


@dataclass(frozen=True)
class _Segment:
    kind: int
    text: str
    """The literal (lower-cased) or the parameter name."""
    constraint: Callable[[str], bool] | None = None

    def accepts(self, value: str) -> bool:
        if self.kind == _LITERAL:
            return value.lower() == self.text
        return value != "" and (self.constraint is None or self.constraint(value))


def _parse_segment(template: str, raw: str) -> _Segment:
    if not (raw.startswith("{") and raw.endswith("}")):
        if "{" in raw or "}" in raw:
            raise RouteError(
                f"route {template!r}: segment {raw!r} mixes text and a parameter; "
                "use whole-segment parameters"
            )
        return _Segment(_LITERAL, raw.lower())
    inner = raw[1:-1]
    if inner.startswith("*"):
        name = inner.lstrip("*")
        if not name.isidentifier():
            raise RouteError(f"route {template!r}: {raw!r} is not a catch-all parameter")
        return _Segment(_CATCH_ALL, name)
    optional = inner.endswith("?")
    name, _, constraint_name = inner.removesuffix("?").partition(":")
    if not name.isidentifier():
        raise RouteError(f"route {template!r}: {raw!r} is not a route parameter")
    constraint = None
    if constraint_name:
        if constraint_name not in CONSTRAINTS:
            supported = ", ".join(CONSTRAINTS)
            raise RouteError(
                f"route {template!r}: constraint {constraint_name!r} is not supported by the "
                f"local host (supported: {supported})"
            )
        constraint = CONSTRAINTS[constraint_name]
    if optional:
        return _Segment(_OPTIONAL, name, constraint)
    return _Segment(_CONSTRAINED if constraint else _PARAMETER, name, constraint)


def _split(path: str) -> list[str]:
    trimmed = path.strip("/")
    return trimmed.split("/") if trimmed else []


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed route template, such as ``items/{id:int}/{*rest}``."""

    template: str
    segments: tuple[_Segment, ...]

    @classmethod
    def parse(cls, template: str) -> RouteTemplate:
        """Parse a template.

        Raises:
            RouteError: The template uses something this host does not support, or is malformed.
        """
        segments = tuple(_parse_segment(template, raw) for raw in _split(template))
        names = [segment.text for segment in segments if segment.kind != _LITERAL]
        if len(names) != len(set(names)):
            raise RouteError(f"route {template!r}: a parameter name is used twice")
        for index, segment in enumerate(segments):
            rest = segments[index + 1 :]
            if segment.kind == _CATCH_ALL and rest:
                raise RouteError(f"route {template!r}: the catch-all must be the last segment")
            if segment.kind == _OPTIONAL and any(s.kind != _OPTIONAL for s in rest):
                raise RouteError(f"route {template!r}: only trailing parameters can be optional")
        return cls(template, segments)

    @property
    def precedence(self) -> tuple[int, ...]:
        """Sort key: the more specific template sorts first."""
        return tuple(segment.kind for segment in self.segments)

    def match(self, path: str) -> dict[str, str] | None:
        """The route parameters if ``path`` (below the route prefix) matches, else None."""
        parts = _split(path)
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.kind == _CATCH_ALL:
                rest = "/".join(parts[index:])
                if rest:
                    values[segment.text] = rest
                return values
            if index >= len(parts):
                return values if segment.kind == _OPTIONAL else None
            if not segment.accepts(parts[index]):
                return None
            if segment.kind != _LITERAL:
                values[segment.text] = parts[index]
        return values if len(parts) == len(self.segments) else None


@dataclass(frozen=True)
class Route(Generic[T]):
    """A template, the methods it answers (None: all) and what serves it."""

    template: RouteTemplate
    methods: frozenset[str] | None
    target: T


@dataclass(frozen=True)
class RouteMatch(Generic[T]):
    """The route that serves a request, and the values of its parameters."""

    route: Route[T]
    params: dict[str, str]


@dataclass(frozen=True)
class RouteMiss:
    """No route serves the request: 404, or 405 when only the method is wrong."""

    status: int
    allowed: frozenset[str] = field(default_factory=frozenset)


class RouteTable(Generic[T]):
    """The routes of an app, below a route prefix (``api`` unless host.json says otherwise)."""

    def __init__(self, prefix: str = "api") -> None:
        self.prefix = prefix.strip("/")
        self._routes: list[Route[T]] = []

    def add(self, template: str, methods: Iterable[str] | None, target: T) -> Route[T]:
        """Add a route; ``methods`` None or empty means every method.

        Raises:
            RouteError: The template is not supported.
        """
        upper = frozenset(method.upper() for method in methods or ())
        route = Route(RouteTemplate.parse(template), upper or None, target)
        self._routes.append(route)
        # Stable sort: among equally specific templates the first added wins.
        self._routes.sort(key=lambda item: item.template.precedence)
        return route

    @property
    def routes(self) -> tuple[Route[T], ...]:
        """The routes, most specific first."""
        return tuple(self._routes)

    def url_path(self, route: Route[T]) -> str:
        """The path of a route as shown at start-up, for example ``/api/items/{id:int}``."""
        parts = [part for part in (self.prefix, route.template.template.strip("/")) if part]
        return "/" + "/".join(parts)

    def resolve(self, method: str, path: str) -> RouteMatch[T] | RouteMiss:
        """Find the route for a request path (the whole path, prefix included)."""
        relative = self._below_prefix(path)
        if relative is None:
            return RouteMiss(404)
        allowed: set[str] = set()
        for route in self._routes:
            params = route.template.match(relative)
            if params is None:
                continue
            if route.methods is None or method.upper() in route.methods:
                return RouteMatch(route, params)
            allowed.update(route.methods)
        return RouteMiss(405, frozenset(allowed)) if allowed else RouteMiss(404)

    def _below_prefix(self, path: str) -> str | None:
        parts = _split(path)
        if not self.prefix:
            return "/".join(parts)
        prefix = _split(self.prefix)
        head = [part.lower() for part in parts[: len(prefix)]]
        if head != [part.lower() for part in prefix]:
            return None
        return "/".join(parts[len(prefix) :])
