"""A transcript channel through the local stack: the real function host, auth on.

Messages go through the local channel's own user client (``ChannelControl.say``): signed with
a channel token, posted to ``/api/messages``. Events, which the control API does not send, are
posted by a :class:`~dev.channel.user_client.UserClient` in this process with a token minted by
the channel's issuer, to the same conversation. What the bot sends is what the channel's
connector recorded. ``[restart]`` restarts the function host (state must survive it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp

from dev.channel import ChannelControl, UserClient
from dev.channel.conversations import Conversation, Member
from dev.stack import LocalStack


class LocalStackChannel:
    """Plays one conversation against the bot in the local function host.

    Args:
        stack: The running stack.
        control: The local channel's control client.
        session: HTTP session for events.
        host_settings: Settings the host runs with after a ``[restart]`` (the sample bot...).
        user_name: The user's display name.
    """

    def __init__(
        self,
        stack: LocalStack,
        control: ChannelControl,
        session: aiohttp.ClientSession,
        *,
        host_settings: Mapping[str, str] | None = None,
        user_name: str = "Ada Lovelace",
    ) -> None:
        self._stack = stack
        self._control = control
        self._session = session
        self._host_settings = dict(host_settings or {})
        self._user_name = user_name
        self._conversation: Conversation | None = None
        self._users: UserClient | None = None
        self.restarts = 0

    @property
    def conversation_id(self) -> str:
        """The conversation's id (after :meth:`open`)."""
        if self._conversation is None:
            raise RuntimeError("the conversation is not open")
        return self._conversation.id

    async def open(self) -> None:
        """The user starts the conversation through the channel."""
        started = await self._control.start_conversation(user_name=self._user_name)
        _check_answer("conversationUpdate", started.get("started"))
        info = await self._control.info()
        described = started["conversation"]
        tenant_id = described.get("tenantId") or info["tenantId"]
        self._conversation = Conversation(
            id=started["conversationId"],
            channel_id=described.get("channelId") or info["channelId"],
            tenant_id=tenant_id,
            conversation_type=described.get("conversationType", "personal"),
            members=[Member.from_account(member, tenant_id) for member in described["members"]],
            started=True,
        )
        bot = next(member for member in self._conversation.members if member.role == "bot")
        self._users = UserClient(
            self._session,
            bot_url=self._stack.messages_url,
            service_url=info["serviceUrl"],
            app_id=info["appId"],
            tokens=self._channel_token,
            channel_id=self._conversation.channel_id,
            tenant_id=tenant_id,
            bot_name=bot.name,
            bot_id=bot.id,
        )

    async def _channel_token(self, service_url: str) -> str:
        return await self._control.channel_token(service_url)

    async def say(self, text: str) -> None:
        """The user sends a message through the channel."""
        said = await self._control.say(self.conversation_id, text)
        _check_answer("message", said.get("response"))

    async def send_event(self, name: str, value: Any) -> None:
        """The user's client posts an event, signed by the channel's issuer."""
        assert self._conversation is not None
        assert self._users is not None
        user = self._conversation.users[0]
        response = await self._users.send_event(self._conversation, name, value, user=user)
        _check_answer("event", response.to_json())

    async def restart(self) -> None:
        """Stop the function host and start a new one (it blocks, so in a thread)."""
        self.restarts += 1
        await asyncio.to_thread(self._stack.restart_host, self._host_settings)

    async def bot_activities(self) -> list[dict[str, Any]]:
        """What the connector recorded for the conversation."""
        records = await self._control.activities(self.conversation_id)
        return [dict(record["activity"]) for record in records]

    async def wait_for_bot_activities(self, count: int, timeout: float) -> None:  # noqa: ASYNC109
        """Long-poll the channel until it recorded ``count`` activities, or ``timeout``."""
        try:
            await self._control.wait_for_activities(self.conversation_id, count, timeout)
        except TimeoutError:
            return


def _check_answer(what: str, answer: Mapping[str, Any] | None) -> None:
    status = int((answer or {}).get("status", 0))
    if not 200 <= status < 300:
        raise AssertionError(f"the bot answered the {what} with HTTP {status}: {answer}")
