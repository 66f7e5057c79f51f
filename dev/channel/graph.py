"""A small Microsoft Graph on its own HTTPS endpoint, for the bot's app-only calls.

* ``GET /v1.0/users/{id or userPrincipalName}``: a user the channel knows (``id``,
  ``userPrincipalName``, ``displayName``, ``mail``); 404 ``Request_ResourceNotFound`` otherwise.
* ``POST /v1.0/users/{id}/teamwork/installedApps`` ``{"teamsApp@odata.bind": ".../teamsApps/
  {id}"}``: the bot's app installed for the user (201; 409 when it already is). From then on the
  connector lets the bot start a 1:1 chat with them.

Tokens come from the channel's token endpoint with the scope ``https://graph.microsoft.com/
.default`` (audience ``https://graph.microsoft.com``); anything else is a 401. Every request is
recorded like a Connector request (operations ``graphGetUser`` and ``graphInstallApp``), so
tests count lookups and installs.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from aiohttp import web

from dev.channel.config import GRAPH_AUDIENCE
from dev.channel.responses import error_response, json_response
from dev.channel.state import STATE_KEY, ChannelState

GRAPH_PREFIX = "/v1.0"


def _record(request: web.Request, operation: str, status: int, authorized: bool) -> None:
    header = request.headers.get("Authorization")
    request.app[STATE_KEY].recorder.record(
        method=request.method,
        path=request.raw_path.split("?", 1)[0],
        operation=operation,
        conversation_id=None,
        activity_id=None,
        reply_to_id=None,
        activity=None,
        has_authorization=header is not None,
        authorization_scheme=header.split(" ", 1)[0] if header else None,
        authorized=authorized,
        status=status,
        error_code=None if status < 400 else str(status),
        received_at=datetime.datetime.now(datetime.UTC),
    )


def _refused(request: web.Request, operation: str) -> web.Response | None:
    state: ChannelState = request.app[STATE_KEY]
    if not state.config.auth_required:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    reason = (
        state.tokens.verify(token.strip(), GRAPH_AUDIENCE)
        if scheme.lower() == "bearer" and token.strip()
        else "no bearer token"
    )
    if reason is None:
        return None
    _record(request, operation, 401, False)
    return error_response(401, "InvalidAuthenticationToken", "Access token validation failure.")


def _user_json(state: ChannelState, user_id: str) -> dict[str, Any] | None:
    user = state.directory.find_user(state.users.tenant_id, user_id)
    if user is None or user.aad_object_id is None:
        return None
    return {
        "id": user.aad_object_id,
        "displayName": user.name,
        "userPrincipalName": user.upn,
        "mail": user.upn,
    }


async def _get_user(request: web.Request) -> web.Response:
    refused = _refused(request, "graphGetUser")
    if refused is not None:
        return refused
    state: ChannelState = request.app[STATE_KEY]
    found = _user_json(state, request.match_info["user"])
    if found is None:
        _record(request, "graphGetUser", 404, True)
        return error_response(404, "Request_ResourceNotFound", "Resource does not exist.")
    _record(request, "graphGetUser", 200, True)
    return json_response(found)


async def _install_app(request: web.Request) -> web.Response:
    refused = _refused(request, "graphInstallApp")
    if refused is not None:
        return refused
    state: ChannelState = request.app[STATE_KEY]
    found = _user_json(state, request.match_info["user"])
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError:
        body = None
    binding = body.get("teamsApp@odata.bind") if isinstance(body, dict) else None
    if not isinstance(binding, str) or "/appCatalogs/teamsApps/" not in binding:
        _record(request, "graphInstallApp", 400, True)
        return error_response(400, "BadRequest", "teamsApp@odata.bind is required.")
    if found is None:
        _record(request, "graphInstallApp", 404, True)
        return error_response(404, "Request_ResourceNotFound", "Resource does not exist.")
    if found["id"].lower() in state.personal_installs:
        _record(request, "graphInstallApp", 409, True)
        return error_response(409, "Conflict", "The app is already installed for the user.")
    state.personal_installs.add(found["id"].lower())
    _record(request, "graphInstallApp", 201, True)
    return json_response({"id": f"installed-{found['id']}"}, 201)


def build_graph_app(state: ChannelState) -> web.Application:
    """The Graph server's application (served over HTTPS by :mod:`dev.channel.server`)."""
    app = web.Application()
    app[STATE_KEY] = state
    app.router.add_get(GRAPH_PREFIX + "/users/{user}", _get_user)
    app.router.add_post(GRAPH_PREFIX + "/users/{user}/teamwork/installedApps", _install_app)
    return app
