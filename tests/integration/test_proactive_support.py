"""Shared set-up of the proactive integration tests (no tests of its own).

A real local channel (:mod:`dev.channel`: Bot Connector, HTTPS token endpoint, issuer) is
started per test on free ports; the bot's settings point at it and at the local Cosmos DB
emulator and Azurite (``bot_settings``). Conversations are made known to both sides: the
channel's directory (so the Connector accepts sends) and the reference store (as a captured
inbound turn would).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import application_turns
from bot.delivery import DeliveryLedger
from bot.delivery.computed_sends import ComputedSends
from bot.delivery.sent_cards import SentCards
from bot.http_session import http_session
from bot.proactive.service import ProactiveService
from bot.references import ReferenceStore, StoredReference
from bot.schema import ChannelAccount, ConversationAccount, ConversationReference
from bot.settings import Settings, get_settings
from bot.storage.queues import queue_service
from bot.throttling.store import ThrottleRecords
from dev.channel import (
    ChannelConfig,
    ChannelControl,
    ChannelKeys,
    Conversation,
    Member,
    RunningChannel,
    start_channel,
)
from tests.integration.conftest import TEST_SETTINGS

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP_ID = TEST_SETTINGS["MicrosoftAppId"]
CALLER_CLAIMS = {"aud": APP_ID, "iss": "https://api.botframework.com", "tid": TENANT}


@dataclass
class Proactive:
    """Everything a proactive test needs, running."""

    channel: RunningChannel
    control: ChannelControl
    settings: Settings
    store: ReferenceStore
    ledger: DeliveryLedger
    service: ProactiveService
    conversations: list[str] = field(default_factory=list)

    async def conversation(
        self,
        *,
        conversation_id: str | None = None,
        user_id: str | None = None,
        channel_id: str = "msteams",
        tenant_id: str | None = TENANT,
        service_url: str | None = None,
        known_to_channel: bool = True,
        captured_at: datetime | None = None,
    ) -> StoredReference:
        """A conversation the channel knows and the bot has captured, as after a user's turn."""
        conversation_id = conversation_id or f"a:1{uuid.uuid4().hex}"
        user = Member(
            id=user_id or f"29:1{uuid.uuid4().hex}", name="Ada Lovelace", tenant_id=tenant_id
        )
        if known_to_channel:
            self.channel.state.directory.add(
                Conversation(
                    id=conversation_id,
                    channel_id=channel_id,
                    tenant_id=tenant_id or TENANT,
                    members=[user, Member(id=f"28:{APP_ID}", name="Bot", role="bot")],
                    started=True,
                )
            )
        reference = ConversationReference(
            channel_id=channel_id,
            service_url=service_url or self.channel.service_url,
            conversation=ConversationAccount(
                id=conversation_id, tenant_id=tenant_id, conversation_type="personal"
            ),
            user=ChannelAccount(id=user.id, name=user.name),
            bot=ChannelAccount(id=f"28:{APP_ID}", name="Bot"),
        )
        await self.store.capture(reference, CALLER_CLAIMS, now=captured_at or datetime.now(UTC))
        stored = await self.store.get(channel_id, conversation_id, tenant_id)
        assert stored is not None
        self.conversations.append(conversation_id)
        return stored

    async def posts(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        """Every request the connector received for the conversation (refused ones too)."""
        return [
            record
            for record in await self.control.requests(conversation_id)
            if record["operation"] != "unknown"
        ]


@asynccontextmanager
async def running_proactive(
    keys: ChannelKeys, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Proactive]:
    """A local channel, the bot's settings pointing at it, and a proactive service.

    Use inside a test module's own fixture, after ``bot_settings``::

        @pytest.fixture
        async def proactive(bot_settings, channel_keys, monkeypatch):
            async with running_proactive(channel_keys, monkeypatch) as running:
                yield running
    """
    channel = await start_channel(
        ChannelConfig(app_id=APP_ID, app_password=TEST_SETTINGS["MicrosoftAppPassword"], keys=keys)
    )
    control = ChannelControl(channel.control_url)
    try:
        for name, value in channel.bot_settings().items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        settings = get_settings()
        store = ReferenceStore()
        ledger = DeliveryLedger()
        yield Proactive(
            channel=channel,
            control=control,
            settings=settings,
            store=store,
            ledger=ledger,
            service=ProactiveService(
                store=store,
                ledger=ledger,
                computed=ComputedSends(),
                sent_cards=SentCards(),
                adapter=application_turns,
            ),
        )
        await assert_tenant_not_left_throttled(settings)
    finally:
        await control.aclose()
        await http_session.aclose()
        await queue_service.aclose()
        await channel.aclose()


async def assert_tenant_not_left_throttled(settings: Settings) -> None:
    """Fail a test that leaves :data:`TENANT` throttled longer than a send may wait.

    Throttle records live in the session's one Cosmos DB emulator, and the process-wide
    governor of every later test reads them before it sends to the common tenant: a record
    reaching past the governor's longest in-process wait defers that test's sends (requeued,
    HTTP 429), whichever test comes next. A test that needs a long throttle takes a tenant of
    its own.
    """
    until = await ThrottleRecords().until("msteams", TENANT)
    if until is None or math.isinf(settings.throttle_max_wait_seconds):
        return
    waits_until = datetime.now(UTC) + timedelta(seconds=settings.throttle_max_wait_seconds)
    assert until <= waits_until, (
        f"the test left the common tenant throttled until {until:%H:%M:%S.%f} (shared with "
        "every later test through Cosmos DB): throttle a tenant of its own"
    )
