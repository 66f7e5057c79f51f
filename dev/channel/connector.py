"""The Bot Connector REST surface the bot sends to (``/v3/conversations/...``).

Every request goes through the same steps, in the order the real service applies them:
parse the raw path, check the bearer token (401), apply an injected fault, apply the Teams
rate limits (429 ``Throttled``), then do the operation and record it. Activity ids are
``act-<n>``. Conversation ids are matched on the raw path (see
:mod:`dev.channel.connector_paths`), so an id with ``/`` stays one id.
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from dev.channel.connector_paths import ConnectorRoute, Operation, PathError, parse_connector_path
from dev.channel.conversations import THREAD_MARKER, Conversation, Member, new_conversation_id
from dev.channel.faults import Fault
from dev.channel.recorder import RecordedRequest
from dev.channel.responses import error_response, json_response
from dev.channel.state import STATE_KEY, ChannelState

logger = logging.getLogger(__name__)

MAX_ACTIVITY_BYTES = 100 * 1024
"""Teams refuses messages over about 100 KB with 413 ``MessageSizeTooBig``."""

DEFAULT_PAGE_SIZE = 200
"""Members per page when the bot does not ask for a size."""


@dataclass
class _Exchange:
    """One request on its way through the connector, and what to record about it."""

    request: web.Request
    state: ChannelState
    arrived: datetime.datetime
    route: ConnectorRoute | None = None
    body: dict[str, Any] | None = None
    authorized: bool = False

    @property
    def authorization_scheme(self) -> str | None:
        header = self.request.headers.get("Authorization")
        return header.split(" ", 1)[0] if header else None

    def record(
        self,
        status: int,
        *,
        error_code: str | None = None,
        activity: dict[str, Any] | None = None,
        activity_id: str | None = None,
        conversation_id: str | None = None,
        retry_after: int | None = None,
    ) -> RecordedRequest:
        route = self.route
        return self.state.recorder.record(
            method=self.request.method,
            path=self.request.raw_path.split("?", 1)[0],
            operation=str(route.operation) if route else "unknown",
            conversation_id=conversation_id or (route.conversation_id if route else None),
            activity_id=activity_id or (route.activity_id if route else None),
            reply_to_id=route.activity_id
            if route and route.operation is Operation.REPLY_TO_ACTIVITY
            else None,
            activity=activity,
            has_authorization="Authorization" in self.request.headers,
            authorization_scheme=self.authorization_scheme,
            authorized=self.authorized,
            status=status,
            error_code=error_code,
            retry_after=retry_after,
            received_at=self.arrived,
        )

    def fail(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        retry_after = (headers or {}).get("Retry-After")
        self.record(
            status,
            error_code=code,
            activity=self.body,
            retry_after=int(retry_after) if retry_after is not None else None,
        )
        return error_response(status, code, message, headers)


def _check_token(exchange: _Exchange) -> str | None:
    header = exchange.request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        return "no Authorization header"
    if scheme.lower() != "bearer" or not token.strip():
        return "Authorization is not a bearer token"
    return exchange.state.tokens.verify(token.strip())


async def _read_body(exchange: _Exchange) -> web.Response | None:
    request = exchange.request
    if request.method not in ("POST", "PUT"):
        return None
    raw = await request.read()
    if len(raw) > MAX_ACTIVITY_BYTES:
        return exchange.fail(413, "MessageSizeTooBig", "Request entity too large.")
    try:
        body = json.loads(raw)
    except ValueError:
        return exchange.fail(400, "BadArgument", "The body is not JSON.")
    if not isinstance(body, dict):
        return exchange.fail(400, "BadArgument", "The body must be a JSON object.")
    exchange.body = body
    return None


def _fault_response(exchange: _Exchange, fault: Fault) -> web.Response:
    status = fault.status or 500
    code = fault.error_code() or "ServiceError"
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if 300 <= status < 400:
        headers["Location"] = fault.location or exchange.state.redirect_sink_url
        exchange.record(status, error_code=code, activity=exchange.body)
        return web.Response(status=status, headers=headers)
    return exchange.fail(status, code, fault.error_message(), headers)


def _tenant_of(exchange: _Exchange) -> str:
    route, state, body = exchange.route, exchange.state, exchange.body or {}
    if route and route.conversation_id:
        conversation = state.directory.get(route.conversation_id)
        if conversation is not None:
            return conversation.tenant_id
    tenant = body.get("tenantId") or (body.get("conversation") or {}).get("tenantId")
    tenant = tenant or ((body.get("channelData") or {}).get("tenant") or {}).get("id")
    return str(tenant or state.config.tenant_id)


def _known_conversation(exchange: _Exchange) -> Conversation | web.Response | None:
    """The route's conversation, None when unknown but accepted, or a 404 answer."""
    state, route = exchange.state, exchange.route
    assert route is not None
    assert route.conversation_id is not None
    conversation = state.directory.get(route.conversation_id)
    if conversation is None and not state.config.accept_unknown_conversations:
        return exchange.fail(404, "ConversationNotFound", "Conversation not found.")
    return conversation


def _deliver(exchange: _Exchange, status: int) -> web.Response:
    """Record an activity the bot sent and answer its new id."""
    state, route, body = exchange.state, exchange.route, exchange.body
    assert route is not None
    assert route.conversation_id is not None
    assert body is not None
    if not isinstance(body.get("type"), str) or not body["type"]:
        return exchange.fail(400, "BadArgument", "The activity has no type.")
    known = _known_conversation(exchange)
    if isinstance(known, web.Response):
        return known
    activity_id = state.recorder.next_activity_id()
    state.activity_ids.setdefault(route.conversation_id, set()).add(activity_id)
    if known is not None and known.conversation_type == "channel":
        if route.conversation_id == known.id and route.operation is Operation.SEND_TO_CONVERSATION:
            # A post to the channel itself starts a thread; its first message is the root.
            known.threads.append(activity_id)
        elif THREAD_MARKER in route.conversation_id:
            root = route.conversation_id.split(THREAD_MARKER, 1)[1]
            if root not in known.threads:
                return exchange.fail(404, "ConversationNotFound", "Thread not found.")
    exchange.record(status, activity=body, activity_id=activity_id)
    return json_response({"id": activity_id}, status)


def _update(exchange: _Exchange) -> web.Response:
    state, route, body = exchange.state, exchange.route, exchange.body
    assert route is not None
    assert route.conversation_id
    assert route.activity_id
    assert body is not None
    if route.activity_id not in state.activity_ids.get(route.conversation_id, set()):
        return exchange.fail(
            404, "ActivityNotFoundInConversation", "Activity not found in conversation."
        )
    exchange.record(200, activity=body)
    return json_response({"id": route.activity_id}, 200)


def _delete(exchange: _Exchange) -> web.Response:
    state, route = exchange.state, exchange.route
    assert route is not None
    assert route.conversation_id
    assert route.activity_id
    delivered = state.activity_ids.get(route.conversation_id, set())
    if route.activity_id not in delivered:
        return exchange.fail(
            404, "ActivityNotFoundInConversation", "Activity not found in conversation."
        )
    delivered.discard(route.activity_id)
    exchange.record(200)
    return web.Response(status=200)


def _create_conversation(exchange: _Exchange) -> web.Response:
    state, body = exchange.state, exchange.body
    assert body is not None
    members = body.get("members") or []
    if not isinstance(members, list) or not all(
        isinstance(member, dict) and member.get("id") for member in members
    ):
        return exchange.fail(400, "BadArgument", "members must be a list of accounts with ids.")
    channel_data = body.get("channelData") or {}
    tenant_id = _tenant_of(exchange)
    is_group = bool(body.get("isGroup"))
    in_channel = bool((channel_data.get("channel") or {}).get("id"))
    if not members and not in_channel:
        return exchange.fail(400, "BadArgument", "A conversation needs members or a channel.")
    if not is_group and len(members) != 1:
        return exchange.fail(400, "BadArgument", "A 1:1 conversation needs exactly one member.")
    bot_account = body.get("bot") or {"id": state.users.bot.id, "name": state.users.bot.name}
    conversation: Conversation | None = None
    if not is_group:
        # Teams takes the user's 29: id or Entra object id, and answers the existing 1:1
        # chat rather than creating a second one.
        known = state.directory.find_user(tenant_id, str(members[0]["id"]))
        if known is not None:
            installed = (known.aad_object_id or "").lower() in state.personal_installs
            if not installed and not state.directory.bot_reaches(tenant_id, known):
                return exchange.fail(
                    403,
                    "Forbidden",
                    "The bot is not installed for the user (personal scope or a shared team).",
                )
            members = [known.channel_account()]
        conversation = state.directory.find_personal(tenant_id, str(members[0]["id"]))
    if conversation is None:
        conversation_type = "channel" if in_channel else ("groupChat" if is_group else "personal")
        conversation = Conversation(
            id=new_conversation_id(conversation_type),
            channel_id=state.config.channel_id,
            tenant_id=tenant_id,
            conversation_type=conversation_type,
            members=[Member.from_account(member, tenant_id) for member in members],
        )
        conversation.add_member(Member.from_account({**bot_account, "role": "bot"}, None))
        state.directory.add(conversation)
    answer: dict[str, Any] = {"id": conversation.id, "serviceUrl": state.service_url}
    activity = body.get("activity")
    activity_id = None
    if isinstance(activity, dict):
        activity_id = state.recorder.next_activity_id()
        state.activity_ids.setdefault(conversation.id, set()).add(activity_id)
        answer["activityId"] = activity_id
    exchange.record(
        201,
        activity=activity if isinstance(activity, dict) else None,
        activity_id=activity_id,
        conversation_id=conversation.id,
    )
    return json_response(answer, 201)


def _members(exchange: _Exchange) -> web.Response:
    route = exchange.route
    assert route is not None
    assert route.conversation_id is not None
    conversation = exchange.state.directory.get(route.conversation_id)
    if conversation is None:
        return exchange.fail(404, "ConversationNotFound", "Conversation not found.")
    members = [member.teams_member() for member in conversation.members]
    if route.operation is Operation.GET_MEMBER:
        found = conversation.member(route.member_id or "")
        if found is None:
            return exchange.fail(
                404, "MemberNotFoundInConversation", "Member not found in conversation."
            )
        exchange.record(200)
        return json_response(found.teams_member())
    if route.operation is Operation.GET_MEMBERS:
        exchange.record(200)
        return json_response(members)
    query = exchange.request.query
    try:
        size = int(query.get("pageSize", DEFAULT_PAGE_SIZE))
        start = int(query.get("continuationToken") or 0)
    except ValueError:
        return exchange.fail(400, "BadArgument", "pageSize and continuationToken are numbers.")
    if size < 1 or start < 0:
        return exchange.fail(400, "BadArgument", "pageSize must be positive.")
    page: dict[str, Any] = {"members": members[start : start + size]}
    if start + size < len(members):
        page["continuationToken"] = str(start + size)
    exchange.record(200)
    return json_response(page)


def _team(exchange: _Exchange) -> web.Response:
    route = exchange.route
    assert route is not None
    team = exchange.state.directory.teams.get(route.conversation_id or "")
    if team is None or not team.bot_installed:
        # Teams answers 403 to a bot that is not (or no longer) in the team.
        return exchange.fail(403, "BotNotInConversationRoster", "The bot is not in the team.")
    exchange.record(200)
    if route.operation is Operation.GET_TEAM_DETAILS:
        return json_response({"id": team.id, "name": team.name, "aadGroupId": team.id})
    channels = [
        {"id": channel.id, "name": None if index == 0 else channel.name}
        for index, channel in enumerate(team.channels)
    ]
    return json_response({"conversations": channels})


async def handle_connector_request(request: web.Request) -> web.Response:
    """Serve one Bot Connector request (every method, every ``/v3/...`` path)."""
    recorder = request.app[STATE_KEY].recorder
    recorder.in_flight += 1
    try:
        return await _answer(request)
    finally:
        recorder.in_flight -= 1


async def _answer(request: web.Request) -> web.Response:
    exchange = _Exchange(request, request.app[STATE_KEY], datetime.datetime.now(datetime.UTC))
    state = exchange.state
    try:
        exchange.route = parse_connector_path(
            request.method, request.raw_path, state.config.service_path
        )
    except PathError as error:
        code = {400: "BadArgument", 405: "MethodNotAllowed"}.get(error.status, "NotFound")
        return exchange.fail(error.status, code, str(error))

    if state.config.auth_required:
        reason = _check_token(exchange)
        if reason is not None:
            logger.info("connector: 401 on %s: %s", exchange.route.operation, reason)
            return exchange.fail(
                401,
                "Unauthorized",
                "Authorization has been denied for this request.",
                {"WWW-Authenticate": 'Bearer realm="local channel"'},
            )
    exchange.authorized = True

    refused = await _read_body(exchange)
    if refused is not None:
        return refused

    route = exchange.route
    fault = state.faults.take(route.conversation_id, str(route.operation))
    if fault is not None:
        if fault.delay_seconds:
            # The delay is the injected fault itself: the bot must cope with a slow service.
            await fault.hold()
        if fault.status is not None:
            return _fault_response(exchange, fault)

    retry_after = state.limiter.check(
        route.conversation_id, _tenant_of(exchange), read=route.operation.is_read
    )
    if retry_after is not None:
        return exchange.fail(
            429, "Throttled", "Too many requests.", {"Retry-After": str(retry_after)}
        )

    match route.operation:
        case Operation.CREATE_CONVERSATION:
            return _create_conversation(exchange)
        case Operation.SEND_TO_CONVERSATION | Operation.REPLY_TO_ACTIVITY:
            return _deliver(exchange, 201)
        case Operation.UPDATE_ACTIVITY:
            return _update(exchange)
        case Operation.DELETE_ACTIVITY:
            return _delete(exchange)
        case Operation.GET_MEMBERS | Operation.GET_PAGED_MEMBERS | Operation.GET_MEMBER:
            return _members(exchange)
        case Operation.GET_TEAM_CHANNELS | Operation.GET_TEAM_DETAILS:
            return _team(exchange)


async def handle_redirect_sink(request: web.Request) -> web.Response:
    """Where injected redirects lead: records whether the bot followed with its token."""
    exchange = _Exchange(request, request.app[STATE_KEY], datetime.datetime.now(datetime.UTC))
    exchange.state.recorder.record(
        method=request.method,
        path=request.raw_path.split("?", 1)[0],
        operation="redirectSink",
        conversation_id=None,
        activity_id=None,
        reply_to_id=None,
        activity=None,
        has_authorization="Authorization" in request.headers,
        authorization_scheme=exchange.authorization_scheme,
        authorized=False,
        status=200,
        error_code=None,
        received_at=exchange.arrived,
    )
    return json_response({"id": "redirected"})


def add_connector_routes(app: web.Application, service_path: str) -> None:
    """Route every Connector path (and the redirect sink) of the connector server."""
    app.router.add_route("*", "/_channel/redirect-sink{tail:.*}", handle_redirect_sink)
    app.router.add_route("*", service_path + "v3/{tail:.*}", handle_connector_request)
    app.router.add_route("*", service_path + "v3", handle_connector_request)
