"""The control and inspection API, under ``/_channel/`` on the connector server.

Tests and ``make run`` drive the channel through it: read what the bot sent, inject faults,
turn the rate limits on, look at and revoke bot tokens, mint channel tokens (good or bad), and
make a user talk to the bot. Bodies are JSON with camelCase names; errors use the
``{"error": {"code", "message"}}`` shape.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from dev.channel.card_views import answered_card, refresh_invoke_value, shown_card
from dev.channel.conversations import Conversation, Member
from dev.channel.issuer import TokenDefect
from dev.channel.page_guard import cross_site_refusal
from dev.channel.recorder import RecordedRequest
from dev.channel.responses import error_response, json_response
from dev.channel.state import STATE_KEY, ChannelState
from dev.channel.teams import add_team_routes
from dev.channel.user_client import BotResponse

PREFIX = "/_channel"
MAX_WAIT_SECONDS = 120.0


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class FaultRequest(_Body):
    """``POST /_channel/faults``: see :class:`dev.channel.faults.Fault`."""

    status: int | None = None
    code: str | None = None
    message: str | None = None
    times: int | None = 1
    retry_after: int | None = None
    delay_seconds: float = 0.0
    location: str | None = None
    conversation_id: str | None = None
    operation: str | None = None
    after_seconds: float = 0.0
    for_seconds: float | None = None


class RateLimitRequest(_Body):
    """``PUT /_channel/rate-limits``."""

    enabled: bool
    reset: bool = False


class ChannelTokenRequest(_Body):
    """``POST /_channel/channel-token``: a token as the issuer would sign it."""

    service_url: str | None = None
    audience: str | None = None
    defect: TokenDefect | None = None
    lifetime_seconds: int = Field(3600, ge=1)
    issued_seconds_ago: int = 0
    omit_claims: list[str] = Field(default_factory=list)
    extra_claims: dict[str, Any] = Field(default_factory=dict)


class ConversationRequest(_Body):
    """``POST /_channel/conversations``: a user starts a conversation with the bot."""

    conversation_id: str | None = None
    user_id: str | None = None
    user_name: str = "Ada Lovelace"
    conversation_type: str = "personal"
    timezone: str | None = None


class SayRequest(_Body):
    """``POST /_channel/say``: a user sends the bot a text message."""

    conversation_id: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    text: str
    timezone: str | None = None


class EventRequest(_Body):
    """``POST /_channel/event``: a user's client sends the bot an event (``DeviceStart``)."""

    conversation_id: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    name: str = Field(min_length=1)
    value: Any = None
    timezone: str | None = None


class InvokeRequest(_Body):
    """``POST /_channel/invoke``: a user's client sends an invoke (a card button's
    ``adaptiveCard/action``) about the message ``replyToId``."""

    conversation_id: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    name: str = Field(min_length=1)
    value: Any = None
    reply_to_id: str | None = None
    timezone: str | None = None


class ViewRequest(_Body):
    """``POST /_channel/view``: a user's client shows the card message ``activityId`` (with
    the automatic ``refresh`` Teams runs for the users the card lists)."""

    conversation_id: str = Field(min_length=1)
    activity_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    user_name: str | None = None


_Model = TypeVar("_Model", bound=_Body)


class _BadRequest(Exception):
    pass


async def _parse(request: web.Request, model: type[_Model]) -> _Model:
    try:
        raw = await request.text()
        return model.model_validate_json(raw or "{}")
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
            for item in error.errors()
        )
        raise _BadRequest(problems) from None


def _state(request: web.Request) -> ChannelState:
    return request.app[STATE_KEY]


def _records(records: list[RecordedRequest]) -> dict[str, Any]:
    return {"count": len(records), "activities": [record.to_json() for record in records]}


async def _info(request: web.Request) -> web.Response:
    state = _state(request)
    config = state.config
    return json_response(
        {
            "appId": config.app_id,
            "channelId": config.channel_id,
            "tenantId": config.tenant_id,
            "botUrl": config.bot_url,
            "botSample": config.bot_sample,
            "authRequired": config.auth_required,
            "rateLimits": state.limiter.enabled,
            "connectorUrl": state.connector_url,
            "serviceUrl": state.service_url,
            "controlUrl": state.connector_url + PREFIX,
            "issuerUrl": state.issuer.base_url,
            "openIdMetadataUrl": state.issuer.openid_metadata_url,
            "jwksUrl": state.issuer.jwks_url,
            "tokenIssuer": state.issuer.issuer,
            "tokenAuthority": state.tokens.authority(),
            "tokenEndpoint": state.tokens.token_endpoint(),
            "caCertPath": str(state.tls.ca_cert_path),
            "caBundlePath": str(state.tls.ca_bundle_path),
        }
    )


async def _activities(request: web.Request) -> web.Response:
    conversation_id = request.query.get("conversationId")
    return json_response(_records(_state(request).recorder.activities(conversation_id)))


async def _requests(request: web.Request) -> web.Response:
    conversation_id = request.query.get("conversationId")
    return json_response(_records(_state(request).recorder.requests(conversation_id)))


async def _in_flight(request: web.Request) -> web.Response:
    return json_response({"count": _state(request).recorder.in_flight})


async def _wait(request: web.Request) -> web.Response:
    query = request.query
    try:
        count = int(query.get("count", "1"))
        timeout = min(float(query.get("timeout", "10")), MAX_WAIT_SECONDS)
    except ValueError:
        raise _BadRequest("count and timeout must be numbers") from None
    conversation_id = query.get("conversationId")
    recorder = _state(request).recorder
    try:
        found = await recorder.wait_for(count, timeout, conversation_id)
    except TimeoutError:
        found = recorder.activities(conversation_id)
        return json_response({**_records(found), "complete": False})
    return json_response({**_records(found), "complete": True})


async def _clear(request: web.Request) -> web.Response:
    _state(request).recorder.clear()
    return web.Response(status=204)


async def _reset(request: web.Request) -> web.Response:
    state = _state(request)
    state.recorder.clear()
    state.faults.clear()
    state.limiter.reset()
    state.tokens.reset_stats()
    return web.Response(status=204)


async def _list_faults(request: web.Request) -> web.Response:
    return json_response({"faults": [fault.to_json() for fault in _state(request).faults.faults()]})


async def _add_fault(request: web.Request) -> web.Response:
    body = await _parse(request, FaultRequest)
    try:
        fault = _state(request).faults.add(**body.model_dump())
    except ValueError as error:
        raise _BadRequest(str(error)) from None
    return json_response(fault.to_json(), 201)


async def _clear_faults(request: web.Request) -> web.Response:
    _state(request).faults.clear()
    return web.Response(status=204)


async def _remove_fault(request: web.Request) -> web.Response:
    if not _state(request).faults.remove(request.match_info["fault_id"]):
        return error_response(404, "NotFound", "no active fault with this id")
    return web.Response(status=204)


async def _get_rate_limits(request: web.Request) -> web.Response:
    return json_response({"enabled": _state(request).limiter.enabled})


async def _set_rate_limits(request: web.Request) -> web.Response:
    body = await _parse(request, RateLimitRequest)
    limiter = _state(request).limiter
    limiter.enabled = body.enabled
    if body.reset:
        limiter.reset()
    return json_response({"enabled": limiter.enabled})


async def _token_stats(request: web.Request) -> web.Response:
    return json_response(_state(request).tokens.stats.to_json())


async def _revoke_tokens(request: web.Request) -> web.Response:
    revoked = _state(request).tokens.revoke_all()
    return json_response({"revoked": revoked})


async def _reset_token_stats(request: web.Request) -> web.Response:
    _state(request).tokens.reset_stats()
    return web.Response(status=204)


async def _channel_token(request: web.Request) -> web.Response:
    body = await _parse(request, ChannelTokenRequest)
    state = _state(request)
    issued_at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(
        seconds=body.issued_seconds_ago
    )
    token = state.issuer.mint(
        body.service_url or state.service_url,
        body.audience or state.config.app_id,
        defect=body.defect,
        lifetime=datetime.timedelta(seconds=body.lifetime_seconds),
        issued_at=issued_at,
        omit_claims=body.omit_claims,
        extra_claims=body.extra_claims,
    )
    return json_response({"token": token})


async def _rotate_issuer_key(request: web.Request) -> web.Response:
    key = _state(request).issuer.rotate()
    return json_response({"kid": key.kid})


def _conversation_json(conversation: Conversation) -> dict[str, Any]:
    return {
        **conversation.account(),
        "channelId": conversation.channel_id,
        "members": [member.channel_account() for member in conversation.members],
        "started": conversation.started,
        "name": conversation.name,
        "teamId": conversation.team_id,
    }


async def _list_conversations(request: web.Request) -> web.Response:
    conversations = _state(request).directory.all()
    return json_response({"conversations": [_conversation_json(item) for item in conversations]})


def _user(conversation: Conversation, user_id: str | None, user_name: str | None) -> Member:
    if user_id is None:
        return conversation.users[0]
    return conversation.member(user_id) or Member(
        id=user_id,
        name=user_name or "Grace Hopper",
        aad_object_id=str(uuid.uuid4()),
        tenant_id=conversation.tenant_id,
    )


async def _talk(
    request: web.Request, body: ConversationRequest | SayRequest | EventRequest | InvokeRequest
) -> web.Response:
    state = _state(request)
    users = state.users
    conversation = state.directory.get(body.conversation_id) if body.conversation_id else None
    started: BotResponse | None = None
    try:
        if conversation is None:
            name = body.user_name or "Ada Lovelace"
            first_user = (
                # A user the channel knows (a team's member) keeps their object id.
                state.directory.find_user(users.tenant_id, body.user_id)
                or Member(
                    id=body.user_id,
                    name=name,
                    aad_object_id=str(uuid.uuid4()),
                    tenant_id=users.tenant_id,
                )
                if body.user_id
                else None
            )
            conversation = users.new_conversation(
                conversation_id=body.conversation_id,
                user=first_user,
                user_name=name,
                conversation_type=getattr(body, "conversation_type", "personal"),
            )
        user = _user(conversation, body.user_id, body.user_name)
        if not conversation.started or conversation.member(user.id) is None:
            conversation.add_member(user)
            started = await users.start(conversation, user=user, timezone=body.timezone)
        said: BotResponse | None = None
        if started is None or started.status < 300:
            if isinstance(body, SayRequest):
                said = await users.say(conversation, body.text, user=user, timezone=body.timezone)
            elif isinstance(body, EventRequest):
                said = await users.send_event(
                    conversation, body.name, body.value, user=user, timezone=body.timezone
                )
            elif isinstance(body, InvokeRequest):
                said = await users.send_invoke(
                    conversation,
                    body.name,
                    body.value,
                    reply_to_id=body.reply_to_id,
                    user=user,
                    timezone=body.timezone,
                )
    except (aiohttp.ClientError, TimeoutError) as error:
        return error_response(
            502, "BotUnreachable", f"the bot at {users.bot_url} did not answer: {error!r}"
        )
    return json_response(
        {
            "conversationId": conversation.id,
            "userId": user.id,
            "conversation": _conversation_json(conversation),
            "started": started.to_json() if started else None,
            "response": said.to_json() if said else None,
        }
    )


async def _start_conversation(request: web.Request) -> web.Response:
    return await _talk(request, await _parse(request, ConversationRequest))


async def _say(request: web.Request) -> web.Response:
    return await _talk(request, await _parse(request, SayRequest))


async def _event(request: web.Request) -> web.Response:
    return await _talk(request, await _parse(request, EventRequest))


async def _invoke(request: web.Request) -> web.Response:
    return await _talk(request, await _parse(request, InvokeRequest))


async def _view(request: web.Request) -> web.Response:
    body = await _parse(request, ViewRequest)
    state = _state(request)
    conversation = state.directory.get(body.conversation_id)
    if conversation is None:
        return error_response(404, "ConversationNotFound", "no such conversation")
    card = shown_card(state.recorder.requests(body.conversation_id), body.activity_id)
    if card is None:
        return error_response(404, "CardNotFound", "the message shows no Adaptive Card")
    value = refresh_invoke_value(card, body.user_id)
    said: BotResponse | None = None
    if value is not None:
        try:
            said = await state.users.send_invoke(
                conversation,
                "adaptiveCard/action",
                value,
                reply_to_id=body.activity_id,
                user=_user(conversation, body.user_id, body.user_name),
            )
        except (aiohttp.ClientError, TimeoutError) as error:
            return error_response(
                502, "BotUnreachable", f"the bot at {state.users.bot_url} did not answer: {error!r}"
            )
    refreshed = answered_card(said.body) if said is not None and said.status == 200 else None
    return json_response(
        {
            "card": refreshed or card,
            "refreshed": refreshed is not None,
            "response": said.to_json() if said else None,
        }
    )


@web.middleware
async def _bad_requests(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith(PREFIX + "/"):
        refused = cross_site_refusal(request)
        if refused is not None:
            return refused
    try:
        response: web.StreamResponse = await handler(request)
    except _BadRequest as error:
        return error_response(400, "BadArgument", str(error))
    return response


def add_control_routes(app: web.Application) -> None:
    """Route the ``/_channel/...`` API on the connector server."""
    app.middlewares.append(_bad_requests)
    routes = [
        ("GET", "/info", _info),
        ("GET", "/activities", _activities),
        ("GET", "/activities/wait", _wait),
        ("GET", "/requests", _requests),
        ("GET", "/requests/in-flight", _in_flight),
        ("POST", "/clear", _clear),
        ("POST", "/reset", _reset),
        ("GET", "/faults", _list_faults),
        ("POST", "/faults", _add_fault),
        ("DELETE", "/faults", _clear_faults),
        ("DELETE", "/faults/{fault_id}", _remove_fault),
        ("GET", "/rate-limits", _get_rate_limits),
        ("PUT", "/rate-limits", _set_rate_limits),
        ("GET", "/tokens", _token_stats),
        ("POST", "/tokens/revoke", _revoke_tokens),
        ("POST", "/tokens/reset", _reset_token_stats),
        ("POST", "/channel-token", _channel_token),
        ("POST", "/issuer/rotate", _rotate_issuer_key),
        ("GET", "/conversations", _list_conversations),
        ("POST", "/conversations", _start_conversation),
        ("POST", "/say", _say),
        ("POST", "/event", _event),
        ("POST", "/invoke", _invoke),
        ("POST", "/view", _view),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, PREFIX + path, handler)
    add_team_routes(app, PREFIX)
