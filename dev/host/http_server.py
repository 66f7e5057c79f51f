"""The HTTP side of the host: an aiohttp app that hands requests to HTTP functions.

Each request becomes an ``azure.functions.HttpRequest`` and the returned ``HttpResponse``
becomes the answer. Misses and failures answer in the project's error shape: unknown route
404, wrong method 405 (with ``Allow``), a function that raises 500 with no stack trace (the
traceback goes to the log). ``GET /admin/host/status`` answers ``{"state": "Running"}`` once
every listener has started, as the real host's status endpoint does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import azure.functions as func
from aiohttp import web

from bot.http_responses import error_response
from dev.host.app import HttpFunction
from dev.host.invocation import invoke
from dev.host.routes import RouteMiss, RouteTable

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 100 * 1024 * 1024
"""The real host's request size limit (100 MB)."""

STATUS_PATH = "/admin/host/status"
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection"})
_HTTP_REASON = "This function was programmatically called via the host APIs."


def build_route_table(functions: tuple[HttpFunction, ...], prefix: str) -> RouteTable[HttpFunction]:
    """The route table of the HTTP functions.

    Raises:
        RouteError: A route template is not supported.
    """
    table: RouteTable[HttpFunction] = RouteTable(prefix)
    for function in functions:
        table.add(function.route, function.methods, function)
    return table


def to_web_response(response: func.HttpResponse) -> web.Response:
    """Convert a function's ``HttpResponse`` into an aiohttp response."""
    headers = {
        name: value for name, value in response.headers.items() if name.lower() not in _HOP_BY_HOP
    }
    if not any(name.lower() == "content-type" for name in headers):
        textual = response.mimetype.startswith("text/") or response.mimetype.endswith("json")
        headers["Content-Type"] = (
            f"{response.mimetype}; charset={response.charset}" if textual else response.mimetype
        )
    return web.Response(status=response.status_code, headers=headers, body=response.get_body())


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return to_web_response(error_response(status, code, message, headers))


def _to_function_request(
    request: web.Request, body: bytes, params: dict[str, str]
) -> func.HttpRequest:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return func.HttpRequest(
        request.method,
        str(request.url),
        headers=headers,
        params={name: request.query[name] for name in request.query},
        route_params=params,
        body=body,
    )


def _from_result(result: object) -> web.Response:
    if isinstance(result, func.HttpResponse):
        return to_web_response(result)
    if result is None:
        return web.Response(status=204)
    if isinstance(result, str | bytes):
        return to_web_response(func.HttpResponse(result))
    raise TypeError(f"an HTTP function returned {type(result).__name__}, not an HttpResponse")


def build_web_app(table: RouteTable[HttpFunction], state: Callable[[], str]) -> web.Application:
    """The aiohttp application serving ``table``.

    Args:
        table: The routes of the HTTP functions.
        state: The host's state for the status endpoint: ``Initialized``, ``Running`` or
            ``Stopping``; only ``Running`` answers 200.
    """

    async def dispatch(request: web.Request) -> web.StreamResponse:
        if request.path.lower() == STATUS_PATH:
            if request.method != "GET":
                return _error(
                    405, "MethodNotAllowed", f"{STATUS_PATH} answers GET", {"Allow": "GET"}
                )
            current = state()
            return web.json_response(
                {"state": current}, status=200 if current == "Running" else 503
            )
        found = table.resolve(request.method, request.path)
        if isinstance(found, RouteMiss):
            if found.status == 405:
                allowed = ", ".join(sorted(found.allowed))
                return _error(
                    405,
                    "MethodNotAllowed",
                    f"{request.path} does not answer {request.method}; it answers {allowed}",
                    {"Allow": allowed},
                )
            return _error(404, "NotFound", f"no function serves {request.path}")
        function = found.route.target
        body = await request.read()
        failed = f"function '{function.name}' failed; see the host log"
        arguments = _to_function_request(request, body, found.params)
        try:
            result = await invoke(function, arguments, _HTTP_REASON)
        except Exception:  # the traceback is in the log; the body never carries it
            return _error(500, "InternalServerError", failed)
        try:
            return _from_result(result)
        except TypeError as error:
            logger.error("function '%s': %s", function.name, error)
            return _error(500, "InternalServerError", failed)

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_route("*", "/{path:.*}", dispatch)
    return app


def describe_routes(table: RouteTable[HttpFunction], base_url: str) -> list[str]:
    """One line per HTTP function, as ``func start`` lists them."""
    lines = []
    for route in sorted(table.routes, key=lambda item: item.target.name.lower()):
        methods = (
            ",".join(sorted(route.methods))
            if route.methods
            else "GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS"
        )
        lines.append(f"{route.target.name}: [{methods}] {base_url}{table.url_path(route)}")
    return lines
