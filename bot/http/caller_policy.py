"""One caller policy for every management route, applied where the routes are registered.

Every HTTP route but ``/api/messages`` (the channel's JWT, checked in code) and ``/api/health``
(anonymous, cheap) is a management route: the function key is the floor, and when
``PROACTIVE_API_AUDIENCE`` is set the caller also needs an app-only Entra ID token with the app
role of the route's action (:mod:`bot.auth.api_callers`). :class:`CallerPolicyApp` is the
function app: its ``route`` decorator wraps each management route in the check before the
handler runs, and refuses at start-up a route that is neither in :data:`ROUTE_ACTIONS` nor in
:data:`OPEN_ROUTES`, so a new route cannot forget the policy. A method may need another action
than its route's reading one (:data:`METHOD_ACTIONS`: editing a delivery needs the send role).

The check comes first, before the body is even measured: an unauthenticated caller learns
nothing about the body's rules. Answers: 401 (no, bad or misdirected token, with
``WWW-Authenticate: Bearer``), 403 (a delegated token, a missing role, an app not allowed),
503 (signing keys unavailable), 500 ``ServerMisconfigured`` when the settings are incomplete.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func

from bot.auth.api_callers import ApiAction
from bot.http_responses import error_response
from bot.startup import StartupCheckedApp

logger = logging.getLogger(__name__)

ROUTE_ACTIONS: dict[str, ApiAction] = {
    "sendactivity": ApiAction.SEND,
    "sendtoreference": ApiAction.SEND,
    "broadcasts": ApiAction.SEND,
    "broadcasts/{operationId}": ApiAction.READ,
    "broadcasts/{operationId}/cancel": ApiAction.SEND,
    "references": ApiAction.READ,
    "deliveries/{id}": ApiAction.READ,
    "schedules": ApiAction.SCHEDULES,
    "schedules/{id}": ApiAction.SCHEDULES,
}
"""The action (and so the app role) of every management route, by route template."""

METHOD_ACTIONS: dict[tuple[str, str], ApiAction] = {
    ("deliveries/{id}", "PATCH"): ApiAction.SEND,
    ("deliveries/{id}", "DELETE"): ApiAction.SEND,
    ("broadcasts/{operationId}", "PATCH"): ApiAction.SEND,
    ("broadcasts/{operationId}", "DELETE"): ApiAction.SEND,
}
"""Where a method of a route template needs another action than :data:`ROUTE_ACTIONS` says
(reading a receipt is not editing what it sent). One function serves one action: a route
whose methods need different actions is registered as one function per action."""


def action_of(route: str, method: str) -> ApiAction | None:
    """The action of ``method`` on ``route``; ``None`` when the route has no policy."""
    return METHOD_ACTIONS.get((route, method.upper()), ROUTE_ACTIONS.get(route))


OPEN_ROUTES = frozenset({"messages", "health"})
"""Routes with no function key and no caller policy: each authenticates in its own way."""

Handler = Callable[[func.HttpRequest], Awaitable[func.HttpResponse]]
POLICY_ATTRIBUTE = "__caller_policy__"
"""Set on a wrapped handler to its :class:`ApiAction` (tests read it)."""


async def refused_caller(req: func.HttpRequest, action: ApiAction) -> func.HttpResponse | None:
    """The answer to a caller not allowed ``action``; ``None`` when the caller may go on."""
    from bot.auth.api_callers import api_caller_authenticator
    from bot.auth.errors import AuthenticationError
    from bot.settings import SettingsError

    try:
        authenticator = api_caller_authenticator()
    except SettingsError as error:
        logger.error("management API: %s", error)
        return error_response(
            500, "ServerMisconfigured", "The API's authentication is misconfigured."
        )
    try:
        await authenticator.authenticate(req.headers.get("Authorization"), action)
    except AuthenticationError as error:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return error_response(error.status, error.code, error.message, headers)
    return None


def guarded(action: ApiAction, handler: Handler) -> Handler:
    """``handler`` behind the caller check of ``action``."""

    @functools.wraps(handler)
    async def check_then_handle(req: func.HttpRequest) -> func.HttpResponse:
        refused = await refused_caller(req, action)
        if refused is not None:
            return refused
        return await handler(req)

    setattr(check_then_handle, POLICY_ATTRIBUTE, action)
    return check_then_handle


class CallerPolicyApp(StartupCheckedApp):
    """A ``FunctionApp`` whose HTTP routes get the caller policy by their route template.

    On a misconfigured app (:mod:`bot.startup`) every function answers for the failure first,
    and every function runs in its invocation's trace context (:mod:`bot.traced_app`).

    Raises:
        ValueError: At registration, for a route in neither :data:`ROUTE_ACTIONS` nor
            :data:`OPEN_ROUTES`, or an open route that asks for a function key (or the
            reverse): the app does not start.
    """

    def route(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """As ``FunctionApp.route``; the handler is wrapped in its route's caller check."""
        route = kwargs.get("route", args[0] if args else None)
        auth_level = kwargs.get("auth_level")
        register = super().route(*args, **kwargs)
        anonymous = auth_level in (func.AuthLevel.ANONYMOUS, "anonymous", "ANONYMOUS")
        if route in OPEN_ROUTES:
            if not anonymous:
                raise ValueError(f"route {route!r} authenticates in code: make it anonymous")
            return register
        methods = kwargs.get("methods") or ["GET", "POST", "PUT", "PATCH", "DELETE"]
        actions = {action_of(str(route), str(getattr(m, "value", m))) for m in methods}
        if None in actions:
            raise ValueError(
                f"route {route!r} has no caller policy: add it to "
                "bot.http.caller_policy.ROUTE_ACTIONS (or OPEN_ROUTES)"
            )
        if len(actions) != 1:
            raise ValueError(
                f"route {route!r}: its methods need different actions; register one "
                "function per action (bot.http.caller_policy.METHOD_ACTIONS)"
            )
        action = next(iter(actions))
        if action is None:  # excluded above; keeps the type checker sure
            raise ValueError(f"route {route!r} has no caller policy")
        if anonymous:
            raise ValueError(f"route {route!r} is a management route: it needs a function key")

        def wrap(handler: Handler) -> Any:
            return register(guarded(action, handler))

        return wrap
