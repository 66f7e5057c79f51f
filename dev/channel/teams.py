"""The local channel playing Teams teams: channels, members, threads and the bot's lifecycle.

Control routes (under ``/_channel``):

* ``POST /teams`` ``{"name", "channels": ["Announcements"], "members": 30, "installBot": true}``
  makes a team (General plus the named channels, ``members`` new users in each) and, with
  ``installBot``, adds the bot: the bot receives the ``conversationUpdate`` (``teamMemberAdded``)
  Teams sends.
* ``POST /teams/{teamId}/events`` ``{"eventType", "channelId"?}``: ``teamDeleted``,
  ``teamArchived``, ``teamUnarchived``, ``teamRestored``, ``channelDeleted``, ``channelCreated``,
  ``botRemoved``, ``botAdded``: the channel's state changes and the bot receives the
  ``conversationUpdate`` Teams sends for it.
* ``POST /teams/{teamId}/channels/{channelId}/messages`` ``{"text"}``: a user starts a thread
  that mentions the bot; the bot receives it as ``<channel>;messageid=<root>``.
* ``POST /installations`` ``{"conversationId", "action": "add" | "remove"}``: the bot is added
  to or removed from a personal chat or group chat (``installationUpdate``).
"""

from __future__ import annotations

from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from dev.channel import activities
from dev.channel.conversations import (
    THREAD_MARKER,
    Conversation,
    Team,
    new_channel_id,
    new_user,
)
from dev.channel.responses import error_response, json_response
from dev.channel.state import STATE_KEY, ChannelState
from dev.channel.user_client import BotResponse

TEAM_EVENTS = frozenset(
    {
        "teamDeleted",
        "teamArchived",
        "teamUnarchived",
        "teamRestored",
        "channelDeleted",
        "channelCreated",
        "botRemoved",
        "botAdded",
    }
)


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class TeamRequest(_Body):
    """``POST /_channel/teams``."""

    name: str = "Contoso"
    channels: list[str] = Field(default_factory=list)
    members: int = Field(3, ge=0, le=1000)
    install_bot: bool = True


class TeamEventRequest(_Body):
    """``POST /_channel/teams/{teamId}/events``."""

    event_type: str
    channel_id: str | None = None


class ChannelMessageRequest(_Body):
    """``POST /_channel/teams/{teamId}/channels/{channelId}/messages``."""

    text: str = "hello bot"


class InstallationRequest(_Body):
    """``POST /_channel/installations``."""

    conversation_id: str
    action: str = "add"


def team_json(team: Team) -> dict[str, Any]:
    """A team as the control API shows it."""
    return {
        "id": team.id,
        "name": team.name,
        "tenantId": team.tenant_id,
        "botInstalled": team.bot_installed,
        "channels": [
            {"id": channel.id, "name": channel.name, "threads": list(channel.threads)}
            for channel in team.channels
        ],
        "members": [
            {
                "id": member.id,
                "name": member.name,
                "aadObjectId": member.aad_object_id,
                "userPrincipalName": member.teams_member().get("userPrincipalName"),
            }
            for member in team.members
        ],
    }


def _state(request: web.Request) -> ChannelState:
    return request.app[STATE_KEY]


_Model = TypeVar("_Model", bound=_Body)


async def _parse(request: web.Request, model: type[_Model]) -> _Model | web.Response:
    try:
        return model.model_validate_json((await request.text()) or "{}")
    except ValidationError as error:
        return error_response(400, "BadArgument", str(error).splitlines()[0])


def _channel(state: ChannelState, team: Team, name: str, members: list[Any]) -> Conversation:
    return Conversation(
        id=team.id if not team.channels else new_channel_id(),
        channel_id=state.config.channel_id,
        tenant_id=team.tenant_id,
        conversation_type="channel",
        members=[*members, state.users.bot],
        team_id=team.id,
        name=name,
    )


def _update(
    state: ChannelState, team: Team, event_type: str, channel: Conversation | None
) -> dict[str, Any]:
    """The ``conversationUpdate`` Teams sends the bot for a team event."""
    general = team.channels[0]
    sender = general.users[0] if general.users else state.users.bot
    activity = activities.conversation_update(
        general, user=sender, bot=state.users.bot, service_url=state.service_url
    )
    activity["channelData"] = {**team.channel_data(channel), "eventType": event_type}
    activity.pop("membersAdded", None)
    bot = state.users.bot.channel_account()
    if event_type in ("botAdded", "teamMemberAdded"):
        activity["membersAdded"] = [bot]
        activity["channelData"]["eventType"] = "teamMemberAdded"
    elif event_type == "botRemoved":
        activity["membersRemoved"] = [bot]
        activity["channelData"]["eventType"] = "teamMemberRemoved"
    return activity


async def _post(state: ChannelState, activity: dict[str, Any]) -> BotResponse | web.Response:
    try:
        return await state.users.post(activity)
    except (aiohttp.ClientError, TimeoutError) as error:
        return error_response(502, "BotUnreachable", f"the bot did not answer: {error!r}")


async def _create_team(request: web.Request) -> web.Response:
    state = _state(request)
    body = await _parse(request, TeamRequest)
    if isinstance(body, web.Response):
        return body
    tenant_id = state.users.tenant_id
    members = [new_user(f"Member{index} Contoso", tenant_id) for index in range(body.members)]
    team = Team(id=new_channel_id(), name=body.name, tenant_id=tenant_id)
    for name in ["General", *body.channels]:
        team.channels.append(_channel(state, team, name, members))
    state.directory.add_team(team)
    answer: dict[str, Any] = {}
    if body.install_bot:
        team.bot_installed = True
        posted = await _post(state, _update(state, team, "botAdded", team.channels[0]))
        if isinstance(posted, web.Response):
            return posted
        answer["installed"] = posted.to_json()
    return json_response({**team_json(team), **answer}, 201)


async def _team_event(request: web.Request) -> web.Response:
    state = _state(request)
    team = state.directory.teams.get(request.match_info["team_id"])
    if team is None:
        return error_response(404, "NotFound", "no such team")
    body = await _parse(request, TeamEventRequest)
    if isinstance(body, web.Response):
        return body
    if body.event_type not in TEAM_EVENTS:
        return error_response(400, "BadArgument", f"eventType: one of {sorted(TEAM_EVENTS)}")
    channel = None
    if body.channel_id is not None:
        channel = next((item for item in team.channels if item.id == body.channel_id), None)
        if channel is None:
            return error_response(404, "NotFound", "no such channel in the team")
    if body.event_type == "channelCreated" and channel is None:
        channel = _channel(state, team, "New channel", team.members)
        team.channels.append(channel)
        state.directory.add(channel)
    activity = _update(state, team, body.event_type, channel)
    # The channel's state changes as Teams' would, before the bot hears of it.
    if body.event_type == "channelDeleted" and channel is not None and channel.id != team.id:
        team.channels.remove(channel)
        state.directory.remove(channel.id)
    elif body.event_type == "botRemoved":
        team.bot_installed = False
    elif body.event_type == "botAdded":
        team.bot_installed = True
    elif body.event_type == "teamDeleted":
        for item in team.channels:
            state.directory.remove(item.id)
    elif body.event_type == "teamRestored":
        for item in team.channels:
            state.directory.add(item)
    posted = await _post(state, activity)
    if isinstance(posted, web.Response):
        return posted
    return json_response({"team": team_json(team), "bot": posted.to_json()})


async def _channel_message(request: web.Request) -> web.Response:
    state = _state(request)
    team = state.directory.teams.get(request.match_info["team_id"])
    channel_id = request.match_info["channel_id"]
    channel = (
        next((item for item in team.channels if item.id == channel_id), None) if team else None
    )
    if team is None or channel is None:
        return error_response(404, "NotFound", "no such team or channel")
    body = await _parse(request, ChannelMessageRequest)
    if isinstance(body, web.Response):
        return body
    root = activities.new_activity_id()
    channel.threads.append(root)
    sender = channel.users[0]
    activity = activities.message(
        channel, user=sender, bot=state.users.bot, service_url=state.service_url, text=body.text
    )
    activity["id"] = root
    activity["conversation"]["id"] = f"{channel.id}{THREAD_MARKER}{root}"
    activity["channelData"] = {**team.channel_data(channel), "teamsChannelId": channel.id}
    posted = await _post(state, activity)
    if isinstance(posted, web.Response):
        return posted
    return json_response(
        {"conversationId": activity["conversation"]["id"], "rootId": root, "bot": posted.to_json()}
    )


async def _installation(request: web.Request) -> web.Response:
    state = _state(request)
    body = await _parse(request, InstallationRequest)
    if isinstance(body, web.Response):
        return body
    conversation = state.directory.get(body.conversation_id)
    if conversation is None or body.action not in ("add", "remove"):
        return error_response(400, "BadArgument", "a known conversationId and add or remove")
    sender = conversation.users[0]
    activity = activities.conversation_update(
        conversation, user=sender, bot=state.users.bot, service_url=state.service_url
    )
    activity["type"] = "installationUpdate"
    activity["action"] = body.action
    activity.pop("membersAdded", None)
    posted = await _post(state, activity)
    if isinstance(posted, web.Response):
        return posted
    return json_response({"bot": posted.to_json()})


async def _list_teams(request: web.Request) -> web.Response:
    teams = _state(request).directory.teams.values()
    return json_response({"teams": [team_json(team) for team in teams]})


def add_team_routes(app: web.Application, prefix: str) -> None:
    """Route the Teams control API under ``prefix``."""
    app.router.add_route("GET", prefix + "/teams", _list_teams)
    app.router.add_route("POST", prefix + "/teams", _create_team)
    app.router.add_route("POST", prefix + "/teams/{team_id}/events", _team_event)
    app.router.add_route(
        "POST", prefix + "/teams/{team_id}/channels/{channel_id}/messages", _channel_message
    )
    app.router.add_route("POST", prefix + "/installations", _installation)
