"""A transcript channel in this process: the adapter, an in-memory sender and in-memory state.

Fast (no HTTP, no emulator), for unit tests::

    channel = InProcessChannel(CounterBot)
    await play(Transcript.load(path), channel)

Activities are built by the local channel's builders (:mod:`dev.channel.activities`), so they
have the shape the bot gets end to end. ``[restart]`` builds a new adapter and a new bot over
the same storage, as a new host process would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from bot.schema import Activity, ConversationReference, ResourceResponse
from bot.state import BotStateMiddleware, MemoryStateStorage, StateStorage
from bot.turn import (
    ActivityHandler,
    BotAdapter,
    ClaimsIdentity,
    InMemorySender,
    Middleware,
    MiddlewareFunction,
    TurnLogic,
)
from dev.channel import activities
from dev.channel.conversations import Conversation, Member, new_conversation_id, new_user

SERVICE_URL = "https://smba.trafficmanager.net/emea/"
BOT = Member(id="28:transcript-bot", name="Transcript Bot", role="bot")
KEY_SECRET = b"in-process-transcripts"
"""The HMAC key of state ids in process, so no settings are needed."""

BotFactory = Callable[[], ActivityHandler | TurnLogic]
"""Builds the bot (an activity handler, or a turn function) for a (re)started host."""


class NotifyingSender(InMemorySender):
    """An in-memory sender whose sends can be awaited (for proactive sends from tasks)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Condition()

    async def send_activities(
        self, reference: ConversationReference, activities: Sequence[Activity]
    ) -> list[ResourceResponse]:
        """Record, then wake whoever waits for activities."""
        responses = await super().send_activities(reference, activities)
        async with self.changed:
            self.changed.notify_all()
        return responses


class InProcessChannel:
    """Plays one conversation against a bot in this process.

    Args:
        bot: Builds the bot; called again on ``[restart]``.
        storage: Bot state storage; in memory by default. It survives restarts.
        middleware: Builds extra middleware (run inside the state middleware) per host.
        channel_id: The conversation's channel.
        user_name: The user's display name.

    Attributes:
        adapter: The current host's adapter (for proactive turns).
        sender: Everything the bot sent.
        storage: The bot state storage.
    """

    def __init__(
        self,
        bot: BotFactory,
        *,
        storage: StateStorage | None = None,
        middleware: Callable[[], Sequence[Middleware | MiddlewareFunction]] = tuple,
        channel_id: str = "msteams",
        user_name: str = "Ada Lovelace",
        tenant_id: str = "tenant-transcripts",
    ) -> None:
        self._bot_factory = bot
        self._middleware = middleware
        self.storage = storage if storage is not None else MemoryStateStorage()
        self.sender = NotifyingSender()
        self.user = new_user(user_name, tenant_id)
        self.conversation = Conversation(
            id=new_conversation_id(),
            channel_id=channel_id,
            tenant_id=tenant_id,
            members=[self.user, BOT],
        )
        self.restarts = 0
        self.adapter, self._logic = self._start_host()

    def _start_host(self) -> tuple[BotAdapter, TurnLogic]:
        adapter = BotAdapter(
            self.sender,
            middleware=[
                BotStateMiddleware(self.storage, secret=KEY_SECRET),
                *self._middleware(),
            ],
        )
        bot = self._bot_factory()
        logic = bot.on_turn if isinstance(bot, ActivityHandler) else bot
        return adapter, logic

    async def _post(self, wire: dict[str, Any]) -> None:
        result = await self.adapter.process_activity(
            Activity.from_wire(wire), ClaimsIdentity.anonymous(), self._logic
        )
        if result.status >= 300:
            raise AssertionError(f"the bot answered {result.status}: {result.body}")

    async def open(self) -> None:
        """The user joins: a ``conversationUpdate`` adding the user and the bot."""
        await self._post(
            activities.conversation_update(
                self.conversation, user=self.user, bot=BOT, service_url=SERVICE_URL
            )
        )

    async def say(self, text: str) -> None:
        """The user sends a message."""
        await self._post(
            activities.message(
                self.conversation, user=self.user, bot=BOT, service_url=SERVICE_URL, text=text
            )
        )

    async def send_event(self, name: str, value: Any) -> None:
        """The user's client sends an event."""
        await self._post(
            activities.event(
                self.conversation,
                user=self.user,
                bot=BOT,
                service_url=SERVICE_URL,
                name=name,
                value=value,
            )
        )

    async def restart(self) -> None:
        """A new adapter and bot over the same storage and sender."""
        self.restarts += 1
        self.adapter, self._logic = self._start_host()

    async def bot_activities(self) -> list[dict[str, Any]]:
        """What the bot sent, as wire JSON."""
        return [activity.to_wire() for activity in self.sender.activities]

    async def wait_for_bot_activities(self, count: int, timeout: float) -> None:  # noqa: ASYNC109
        """Wait for sends made by tasks the bot started (proactive turns)."""
        async with self.sender.changed:
            try:
                async with asyncio.timeout(timeout):
                    await self.sender.changed.wait_for(lambda: len(self.sender.sent) >= count)
            except TimeoutError:
                return
