"""The schedule tick against the Cosmos DB emulator and Azurite: each occurrence sent once.

Every test gets its own schedules container and its own queue, so the due query sees only
the test's documents and the queue only its messages.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.delivery import AlreadyDone, Claim, DeliveryLedger
from bot.proactive.enqueue import enqueue
from bot.proactive.message import ProactiveMessage, parse_message
from bot.schedules.documents import new_document
from bot.schedules.messages import occurrence_id
from bot.schedules.service import validate_fields
from bot.schedules.store import ScheduleStore
from bot.schedules.tick import DEFAULT_CLAIM_LEASE, ScheduleTicker
from bot.settings import Settings
from bot.storage import cosmos, queues

pytestmark = pytest.mark.services

CREATED = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
EIGHT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
NOW = EIGHT + timedelta(seconds=5)
AFTER_THE_LEASE = NOW + DEFAULT_CLAIM_LEASE + timedelta(seconds=1)


@dataclass
class Harness:
    """A schedules container and a queue of the test's own."""

    store: ScheduleStore
    container_name: str
    queue_name: str

    async def enqueue(self, message: ProactiveMessage) -> None:
        await enqueue(message, queue=queues.queue(self.queue_name))

    def ticker(self, **options: Any) -> ScheduleTicker:
        return ScheduleTicker(
            ScheduleStore(container=lambda: cosmos.container(self.container_name)),
            options.pop("enqueue", self.enqueue),
            **options,
        )

    async def seed(self, count: int, cron: str = "0 0 8 * * *", **fields: Any) -> list[str]:
        ids = [f"t{uuid.uuid4().hex[:12]}" for _ in range(count)]
        body = {
            "conversation": {"channelId": "msteams", "conversationId": "a:1"},
            "cron": cron,
            "activities": [{"type": "message", "text": "Stand-up at {localTime}"}],
            **fields,
        }
        semaphore = asyncio.Semaphore(16)

        async def create(schedule_id: str) -> None:
            async with semaphore:
                await self.store.create(new_document(schedule_id, validate_fields(body), CREATED))

        await asyncio.gather(*(create(schedule_id) for schedule_id in ids))
        return ids

    async def messages(self) -> list[dict[str, Any]]:
        client = queues.queue(self.queue_name)
        found = []
        async for message in client.receive_messages(messages_per_page=32, visibility_timeout=600):
            found.append(json.loads(message.content))
        return found

    async def document(self, schedule_id: str) -> dict[str, Any]:
        document = await self.store.read(schedule_id)
        assert document is not None
        return document


@pytest.fixture
async def harness(bot_settings: Settings) -> AsyncIterator[Harness]:
    from azure.cosmos import PartitionKey

    del bot_settings
    container_name = f"schedules-{uuid.uuid4().hex[:10]}"
    queue_name = f"schedules-{uuid.uuid4().hex[:10]}"
    database = cosmos.database()
    await database.create_container(id=container_name, partition_key=PartitionKey(path="/id"))
    await queues.queue(queue_name).create_queue()
    try:
        yield Harness(
            ScheduleStore(container=lambda: cosmos.container(container_name)),
            container_name,
            queue_name,
        )
    finally:
        await database.delete_container(container_name)
        await queues.queue(queue_name).delete_queue()
        await queues.queue_service.aclose()


async def test_a_tick_enqueues_one_message_per_due_occurrence_with_the_derived_id(
    harness: Harness,
) -> None:
    due = await harness.seed(4)
    not_due = await harness.seed(3, cron="0 0 9 * * *")

    report = await harness.ticker().tick(NOW)

    assert (report.claimed, report.enqueued, report.documents_read) == (4, 4, 4)
    messages = await harness.messages()
    assert sorted(message["id"] for message in messages) == sorted(
        occurrence_id(schedule_id, EIGHT) for schedule_id in due
    )
    for message in messages:
        parsed = parse_message(message)  # the contract's message, as the sender reads it
        assert parsed.conversation is not None
        assert message["activities"] == [{"type": "message", "text": "Stand-up at 08:00"}]
    for schedule_id in due:
        document = await harness.document(schedule_id)
        assert document["nextRunAt"] == "2026-11-24T08:00:00.000000Z"
        assert document["lastRunAt"] == "2026-11-23T08:00:00.000000Z"
        assert document["runCount"] == 1
        assert "pending" not in document
    for schedule_id in not_due:
        assert (await harness.document(schedule_id))["runCount"] == 0

    again = await harness.ticker().tick(NOW + timedelta(seconds=30))
    assert (again.documents_read, again.enqueued) == (0, 0)
    assert await harness.messages() == []


async def test_two_ticks_at_once_send_each_occurrence_once(harness: Harness) -> None:
    ids = await harness.seed(12)

    first, second = await asyncio.gather(
        harness.ticker(concurrency=4).tick(NOW), harness.ticker(concurrency=4).tick(NOW)
    )

    assert first.claimed + second.claimed == 12
    assert first.enqueued + second.enqueued == 12
    counts = Counter(message["id"] for message in await harness.messages())
    assert counts == Counter(occurrence_id(schedule_id, EIGHT) for schedule_id in ids)
    for schedule_id in ids:
        assert (await harness.document(schedule_id))["runCount"] == 1


async def test_a_tick_that_dies_after_the_claim_is_finished_by_a_later_tick(
    harness: Harness,
) -> None:
    ids = await harness.seed(3)

    async def die(message: ProactiveMessage) -> None:
        raise ConnectionError("the worker died before the enqueue")

    crashed = await harness.ticker(enqueue=die).tick(NOW)
    assert (crashed.claimed, crashed.enqueued, crashed.failures) == (3, 0, 3)
    assert await harness.messages() == []
    pending = (await harness.document(ids[0]))["pending"]
    assert pending["messageId"] == occurrence_id(ids[0], EIGHT)

    # While the dead tick's claim lasts, the documents are not even due.
    meanwhile = await harness.ticker().tick(NOW + timedelta(seconds=30))
    assert (meanwhile.documents_read, meanwhile.enqueued, meanwhile.recovered) == (0, 0, 0)

    later = await harness.ticker().tick(AFTER_THE_LEASE)
    assert later.recovered == 3
    assert later.claimed == 0  # the next occurrence is tomorrow
    messages = await harness.messages()
    assert sorted(message["id"] for message in messages) == sorted(
        occurrence_id(schedule_id, EIGHT) for schedule_id in ids
    )
    for schedule_id in ids:
        document = await harness.document(schedule_id)
        assert "pending" not in document
        assert document["runCount"] == 1
        assert document["nextRunAt"] == "2026-11-24T08:00:00.000000Z"
    assert (await harness.ticker().tick(AFTER_THE_LEASE)).documents_read == 0


async def test_a_tick_that_dies_after_the_enqueue_sends_copies_the_ledger_sends_once(
    harness: Harness,
) -> None:
    (schedule_id,) = await harness.seed(1)

    async def enqueue_then_die(message: ProactiveMessage) -> None:
        await harness.enqueue(message)
        raise ConnectionError("the worker died before confirming")

    crashed = await harness.ticker(enqueue=enqueue_then_die).tick(NOW)
    assert crashed.failures == 1
    recovered = await harness.ticker().tick(AFTER_THE_LEASE)
    assert recovered.recovered == 1

    copies = await harness.messages()
    assert len(copies) == 2
    assert copies[0] == copies[1]  # the very message the claim stored, id and all
    # The proactive sender's ledger lets one copy through and turns the other into a no-op.
    ledger = DeliveryLedger()
    outcomes = []
    for copy in copies:
        message = parse_message(copy)
        claim = await ledger.claim(
            message.id, len(message.activity_list), now=NOW, payload_hash=message.payload_hash()
        )
        if isinstance(claim, Claim):
            await ledger.begin(claim, now=NOW)
            await ledger.record_sent(claim, 0, f"sent-{schedule_id}", now=NOW)
            await ledger.complete(claim, now=NOW)
        outcomes.append(type(claim))
    assert outcomes == [Claim, AlreadyDone]


async def test_a_busy_tick_pages_and_leaves_the_rest_to_the_next(harness: Harness) -> None:
    ids = await harness.seed(25)
    seen: list[int] = []
    for _ in range(10):
        report = await harness.ticker(page_size=10, budget=timedelta(0)).tick(NOW)
        if report.documents_read == 0:
            break
        assert report.pages == 1
        assert report.documents_read <= 10
        assert report.budget_spent
        seen.append(report.enqueued)
    assert sum(seen) == 25
    assert len(seen) >= 3
    counts = Counter(message["id"] for message in await harness.messages())
    assert counts == Counter(occurrence_id(schedule_id, EIGHT) for schedule_id in ids)


async def test_the_due_query_reads_only_due_documents(harness: Harness) -> None:
    await harness.seed(60, cron="0 0 9 * * *")
    await harness.seed(40, enabled=False)
    due = await harness.seed(3)
    ticker = harness.ticker()

    report = await ticker.tick(NOW)

    assert report.documents_read == ticker.store.stats.documents == 3
    assert report.enqueued == 3
    assert len(await harness.messages()) == len(due)


async def test_misfire_policies(harness: Harness) -> None:
    (skip,) = await harness.seed(1, cron="0 0 * * * *", misfirePolicy="skip")
    (latest,) = await harness.seed(
        1, cron="0 0 * * * *", misfirePolicy="sendLatest", misfireGraceSeconds=3600
    )
    (too_late,) = await harness.seed(
        1, cron="0 0 * * * *", misfirePolicy="sendLatest", misfireGraceSeconds=600
    )
    three_hours_late = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)

    report = await harness.ticker(tolerance=timedelta(minutes=2)).tick(three_hours_late)

    assert (report.claimed, report.missed) == (1, 2)
    (message,) = await harness.messages()
    assert message["id"] == occurrence_id(latest, datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    for schedule_id in (skip, latest, too_late):
        document = await harness.document(schedule_id)
        assert document["nextRunAt"] == "2026-11-23T11:00:00.000000Z"
    assert (await harness.document(skip))["runCount"] == 0
    assert (await harness.document(latest))["runCount"] == 1
