"""Shared set-up of the broadcast integration tests (no tests of its own).

A broadcast in process against the real services: the bot's settings point at the local
Cosmos DB emulator, Azurite and an in-process local channel; each test has its own proactive
queue (and ``-fanout`` queue). The fan-out queue is drained by calling the fan-out as the
trigger would, and the recipients' messages are delivered by the real queue sender.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import pytest

from bot.broadcast.audience import AudienceReader
from bot.broadcast.fanout import FanOut, FanOutResult
from bot.broadcast.outcomes import BroadcastProgress
from bot.broadcast.service import BroadcastService
from bot.broadcast.store import OperationStore
from bot.connector.sender import ConnectorSender
from bot.delivery.computed_sends import ComputedSends
from bot.delivery.sent_cards import SentCards
from bot.proactive.message import parse_message
from bot.proactive.queue_sender import QueueResult, QueueSender
from bot.proactive.service import ProactiveService
from bot.settings import get_settings
from bot.storage.queues import queue
from bot.throttling.config import GovernorConfig
from bot.throttling.governor import RateGovernor
from bot.throttling.sender import GovernedSender
from dev.channel import ChannelKeys
from tests.integration.test_proactive_support import Proactive, running_proactive

if TYPE_CHECKING:
    from azure.storage.queue.aio import QueueClient

DEADLINE_SECONDS = 20.0
PAGE_SIZE = 5


@dataclass
class Broadcasting:
    """A broadcast service, its fan-out and queues, and a sender for the recipients."""

    proactive: Proactive
    operations: OperationStore
    fan_out: FanOut
    service: BroadcastService
    sender: QueueSender
    proactive_queue: QueueClient
    fanout_queue: QueueClient
    taken: list[bytes] = field(default_factory=list)

    async def drain_fanout(self, fan_out: FanOut | None = None) -> list[FanOutResult]:
        """Process fan-out messages until none is left (as the trigger would)."""
        results: list[FanOutResult] = []
        idle_since = time.monotonic()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            found = False
            async for item in self.fanout_queue.receive_messages(max_messages=16):
                found = True
                results.append(await (fan_out or self.fan_out).process(cast(bytes, item.content)))
                await self.fanout_queue.delete_message(item)
            if found:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 0.5:
                return results
            else:
                await asyncio.sleep(0.05)
        raise AssertionError("the fan-out queue did not drain")

    async def take_messages(self) -> list[bytes]:
        """Every message on the proactive queue, taken off it."""
        bodies: list[bytes] = []
        while True:
            batch = [item async for item in self.proactive_queue.receive_messages(max_messages=32)]
            if not batch:
                break
            for item in batch:
                bodies.append(cast(bytes, item.content))
                await self.proactive_queue.delete_message(item)
        self.taken.extend(bodies)
        return bodies

    async def deliver(self, bodies: list[bytes]) -> list[QueueResult]:
        """Hand each message to the queue sender, as the trigger would."""
        return [await self.sender.process(body) for body in bodies]


def message_ids(bodies: list[bytes]) -> list[str]:
    return [parse_message(body).id for body in bodies]


@asynccontextmanager
async def running_broadcasts(
    keys: ChannelKeys, monkeypatch: pytest.MonkeyPatch, *, page_size: int = PAGE_SIZE
) -> AsyncIterator[Broadcasting]:
    """A local channel, the bot's settings, fresh queues and a broadcast service."""
    name = f"broadcast-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("PROACTIVE_QUEUE_NAME", name)
    get_settings.cache_clear()
    async with running_proactive(keys, monkeypatch) as proactive:
        queues = [queue(name), queue(name + "-fanout"), queue(name + "-poison")]
        for client in queues:
            await client.create_queue()
        operations = OperationStore()
        audience = AudienceReader(proactive.store)
        fan_out = FanOut(operations=operations, audience=audience, page_size=page_size)
        governor = RateGovernor(GovernorConfig(), shared=False)
        sender = QueueSender(
            ProactiveService(
                store=proactive.store,
                ledger=proactive.ledger,
                computed=ComputedSends(),
                sent_cards=SentCards(),
                sender=GovernedSender(ConnectorSender(), lambda: governor),
            ),
            listeners=[BroadcastProgress(operations)],
            queue=lambda: queues[0],
            poison_queue=lambda: queues[2],
            queue_name=name,
        )
        try:
            yield Broadcasting(
                proactive=proactive,
                operations=operations,
                fan_out=fan_out,
                service=BroadcastService(
                    operations=operations, audience=audience, fan_out=lambda: fan_out
                ),
                sender=sender,
                proactive_queue=queues[0],
                fanout_queue=queues[1],
            )
        finally:
            for client in queues:
                await client.delete_queue()
