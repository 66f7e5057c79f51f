"""A user talking to the bot through the channel: signed activities to ``/api/messages``.

:class:`UserClient` builds Teams-shaped activities (see :mod:`dev.channel.activities`), signs
each POST with a fresh channel token, as the Bot Connector does, and returns the bot's HTTP
answer. The bot's replies do not come back here: they arrive at the connector, which records
them (wait for them with :meth:`dev.channel.recorder.ActivityRecorder.wait_for` or
:meth:`dev.channel.control_client.ChannelControl.wait_for_activities`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from dev.channel import activities
from dev.channel.config import DEFAULT_TENANT_ID
from dev.channel.conversations import (
    Conversation,
    ConversationDirectory,
    Member,
    new_conversation_id,
    new_user,
)

TokenProvider = Callable[[str], Awaitable[str]]
"""Returns a channel token for an activity with the given serviceUrl."""

CHANNEL_TOKEN = "channel"  # noqa: S105 - a mode name, not a credential
"""``authorization=CHANNEL_TOKEN``: sign the request with a fresh, valid channel token."""


@dataclass(frozen=True)
class BotResponse:
    """The bot's HTTP answer to one activity.

    Attributes:
        status: The HTTP status.
        body: The JSON body, the text when it is not JSON, or None when empty.
        headers: The response headers.
        activity: The activity that was posted.
    """

    status: int
    body: Any
    headers: Mapping[str, str] = field(repr=False)
    activity: dict[str, Any] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """Status and body, for the control API."""
        return {"status": self.status, "body": self.body, "activityId": self.activity.get("id")}


class UserClient:
    """Plays users against the bot's ``/api/messages``.

    Args:
        session: The HTTP session to post with (the caller closes it).
        bot_url: The bot's messaging endpoint.
        service_url: The serviceUrl put on activities: this channel's connector.
        app_id: The bot's app id (token audience and bot account id).
        tokens: Mints channel tokens; None sends no ``Authorization`` header (bots running
            with ``BOT_AUTH_DISABLED=true``).
        channel_id: ``channelId`` of the activities.
        tenant_id: Tenant of new conversations.
        bot_name: The bot's display name.
        bot_id: The bot's account id; ``app_id`` when not given.
        directory: Where new conversations are registered, so the connector knows them.
        timeout: Seconds to wait for the bot's answer.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        bot_url: str,
        service_url: str,
        app_id: str,
        tokens: TokenProvider | None,
        channel_id: str = "msteams",
        tenant_id: str = DEFAULT_TENANT_ID,
        bot_name: str = "Proactive Bot",
        bot_id: str | None = None,
        directory: ConversationDirectory | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._session = session
        self.bot_url = bot_url
        self.service_url = service_url
        self.app_id = app_id
        self._tokens = tokens
        self.channel_id = channel_id
        self.tenant_id = tenant_id
        self.bot = Member(id=bot_id or app_id, name=bot_name, role="bot")
        self.directory = directory if directory is not None else ConversationDirectory()
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def new_conversation(
        self,
        *,
        conversation_id: str | None = None,
        user: Member | None = None,
        user_name: str = "Ada Lovelace",
        conversation_type: str = "personal",
    ) -> Conversation:
        """A new conversation of one user with the bot, registered in the directory.

        Nothing is sent yet: :meth:`start` or :meth:`say` do that.
        """
        conversation = Conversation(
            id=conversation_id or new_conversation_id(conversation_type),
            channel_id=self.channel_id,
            tenant_id=self.tenant_id,
            conversation_type=conversation_type,
            members=[user or new_user(user_name, self.tenant_id), self.bot],
        )
        return self.directory.add(conversation)

    async def start(
        self, conversation: Conversation, *, user: Member | None = None, timezone: str | None = None
    ) -> BotResponse:
        """Send the ``conversationUpdate`` that adds the user and the bot.

        Args:
            conversation: The conversation (see :meth:`new_conversation`).
            user: The user joining; the conversation's first user when not given.
            timezone: IANA time zone of the user, put on the activity when given.
        """
        sender = user or conversation.users[0]
        activity = activities.conversation_update(
            conversation,
            user=sender,
            bot=self.bot,
            service_url=self.service_url,
            timezone=timezone,
        )
        response = await self.post(activity)
        if response.status < 300:
            conversation.started = True
        return response

    async def say(
        self,
        conversation: Conversation,
        text: str,
        *,
        user: Member | None = None,
        timezone: str | None = None,
    ) -> BotResponse:
        """Send a text message from a user of the conversation."""
        sender = user or conversation.users[0]
        conversation.add_member(sender)
        activity = activities.message(
            conversation,
            user=sender,
            bot=self.bot,
            service_url=self.service_url,
            text=text,
            timezone=timezone,
        )
        return await self.post(activity)

    async def send_event(
        self,
        conversation: Conversation,
        name: str,
        value: Any = None,
        *,
        user: Member | None = None,
        timezone: str | None = None,
    ) -> BotResponse:
        """Send an ``event`` activity from a user's client (``DeviceStart`` from a car)."""
        return await self.post(self._named(conversation, name, value, user, timezone))

    async def send_invoke(
        self,
        conversation: Conversation,
        name: str,
        value: Any = None,
        *,
        reply_to_id: str | None = None,
        user: Member | None = None,
        timezone: str | None = None,
    ) -> BotResponse:
        """Send an ``invoke`` from a user's client (a card's ``Action.Execute``, as Teams does);
        the bot's answer is the invoke response."""
        activity = self._named(conversation, name, value, user, timezone)
        return await self.post(activities.as_invoke(activity, reply_to_id))

    def _named(
        self,
        conversation: Conversation,
        name: str,
        value: Any,
        user: Member | None,
        timezone: str | None,
    ) -> dict[str, Any]:
        sender = user or conversation.users[0]
        conversation.add_member(sender)
        return activities.event(
            conversation,
            user=sender,
            bot=self.bot,
            service_url=self.service_url,
            name=name,
            value=value,
            timezone=timezone,
        )

    async def post(
        self,
        activity: dict[str, Any],
        *,
        authorization: str | None = CHANNEL_TOKEN,
        headers: Mapping[str, str] | None = None,
    ) -> BotResponse:
        """POST an activity to the bot as the channel does.

        Args:
            activity: The activity; sent as it is.
            authorization: :data:`CHANNEL_TOKEN` for a fresh valid channel token (or no header
                when the client has no token provider), None for no header, or any other
                string as the whole ``Authorization`` header value (``Bearer <bad token>``).
            headers: Extra request headers.

        Returns:
            The bot's status and body.
        """
        request_headers = {"Content-Type": "application/json", **(headers or {})}
        if authorization == CHANNEL_TOKEN:
            if self._tokens is not None:
                service_url = str(activity.get("serviceUrl", self.service_url))
                request_headers["Authorization"] = "Bearer " + await self._tokens(service_url)
        elif authorization is not None:
            request_headers["Authorization"] = authorization
        async with self._session.post(
            self.bot_url,
            data=json.dumps(activity),
            headers=request_headers,
            timeout=self._timeout,
            allow_redirects=False,
        ) as response:
            raw = await response.read()
            body: Any = None
            if raw:
                text = raw.decode("utf-8", errors="replace")
                try:
                    body = json.loads(text)
                except ValueError:
                    body = text
            return BotResponse(response.status, body, dict(response.headers), activity)
