"""Bodies of the Connector's conversation operations (create, list, members)."""

from __future__ import annotations

from typing import Any

from bot.schema.accounts import ChannelAccount
from bot.schema.activity import Activity
from bot.schema.wire_model import WireModel


class ConversationParameters(WireModel):
    """The body of ``POST /v3/conversations``: start a conversation."""

    is_group: bool | None = None
    bot: ChannelAccount | None = None
    members: list[ChannelAccount] | None = None
    topic_name: str | None = None
    tenant_id: str | None = None
    activity: Activity | None = None
    """An activity to post as the conversation's first message."""
    channel_data: Any = None


class ConversationResourceResponse(WireModel):
    """The answer to ``POST /v3/conversations``."""

    id: str | None = None
    """The new conversation's id."""
    activity_id: str | None = None
    service_url: str | None = None


class ConversationMembers(WireModel):
    """A conversation and its members, one entry of :class:`ConversationsResult`."""

    id: str | None = None
    members: list[ChannelAccount] | None = None


class ConversationsResult(WireModel):
    """A page of the conversations the bot takes part in (``GET /v3/conversations``)."""

    continuation_token: str | None = None
    conversations: list[ConversationMembers] | None = None


class PagedMembersResult(WireModel):
    """A page of a conversation's members (``GET .../pagedmembers``)."""

    continuation_token: str | None = None
    members: list[ChannelAccount] | None = None


class ChannelInfo(WireModel):
    """A Teams channel of a team (``GET /v3/teams/{teamId}/conversations``).

    The General channel has no ``name``; its id is the team's id.
    """

    id: str | None = None
    name: str | None = None


class ConversationList(WireModel):
    """The channels of a team (``GET /v3/teams/{teamId}/conversations``)."""

    conversations: list[ChannelInfo] | None = None
