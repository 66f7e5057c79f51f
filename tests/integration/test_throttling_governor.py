"""The rate governor against the real local Connector enforcing the Teams limits.

The local channel runs in process with its rate limiter on; the proactive service sends
through the real ledger (Cosmos DB emulator) and Connector client. Where the Teams windows
would take minutes, the governor and the channel's limiter share one virtual clock: sleeps
take no time, and the schedule is exactly the one real time would give.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, cast

import pytest

from bot.channel_limits import DEFAULT_LIMITS, TEAMS_LIMITS, ChannelLimits
from bot.connector.sender import ConnectorSender
from bot.delivery.computed_sends import ComputedSends
from bot.delivery.sent_cards import SentCards
from bot.proactive.delivery import Outcome
from bot.proactive.message import ConversationTarget
from bot.proactive.queue_sender import QueueAction, QueueSender
from bot.proactive.service import ProactiveService
from bot.storage.queues import queue
from bot.throttling.config import GovernorConfig
from bot.throttling.governor import RateGovernor, RateLimitedError, SendKey
from bot.throttling.sender import GovernedSender
from bot.throttling.store import ThrottleRecords
from dev.channel import TeamsRateLimiter
from tests.integration.test_proactive_support import TENANT, Proactive
from tests.unit.throttling.virtual_time import VirtualTime

if TYPE_CHECKING:
    from azure.storage.queue.aio import QueueClient

pytestmark = pytest.mark.services

TOLERANCE = 0.15


def governed_service(proactive: Proactive, governor: RateGovernor) -> ProactiveService:
    return ProactiveService(
        store=proactive.store,
        ledger=proactive.ledger,
        computed=ComputedSends(),
        sent_cards=SentCards(),
        sender=GovernedSender(ConnectorSender(), lambda: governor),
    )


def texts(records: list[dict[str, object]]) -> list[str]:
    return [str(cast("dict[str, object]", record["activity"])["text"]) for record in records]


def limits_with_cap(cap: float) -> dict[str, ChannelLimits]:
    return {
        **DEFAULT_LIMITS,
        "msteams": ChannelLimits(TEAMS_LIMITS.conversation, TEAMS_LIMITS.tenant, cap),
    }


async def test_200_messages_to_one_conversation_arrive_in_order_at_the_windows_pace(
    proactive: Proactive,
) -> None:
    """The 200th message cannot go before 94 s (7/1 s, 8/2 s, 60/30 s): the governor sends
    it then, in order, without one 429 from the Connector."""
    clock = VirtualTime()
    proactive.channel.state.limiter = TeamsRateLimiter(enabled=True, clock=clock.clock)
    governor = RateGovernor(
        GovernorConfig(max_wait_seconds=float("inf"), margin_seconds=0.0),
        shared=False,
        clock=clock.clock,
        sleep=clock.sleep,
    )
    service = governed_service(proactive, governor)
    stored = await proactive.conversation()
    target = ConversationTarget(
        channel_id="msteams", conversation_id=stored.conversation_id, tenant_id=TENANT
    )
    started = clock.now

    async def send_all() -> None:
        for first in range(0, 200, 50):
            outcome = await service.deliver(
                target,
                [{"type": "message", "text": str(index)} for index in range(first, first + 50)],
                delivery_id=f"ordered-{uuid.uuid4().hex}",
            )
            assert outcome.outcome is Outcome.DELIVERED

    await clock.run(send_all())

    requests = await proactive.control.requests(stored.conversation_id)
    assert [record["status"] for record in requests] == [201] * 200
    assert texts(requests) == [str(index) for index in range(200)]
    # The last send's permit came when the windows allowed it, not a moment later.
    assert clock.now - started == pytest.approx(94.0)
    assert 94.0 <= clock.now - started <= 94.0 * (1 + TOLERANCE)
    assert governor.stats.deferred == 0


async def test_a_queue_message_that_would_wait_too_long_is_requeued_not_slept_on(
    proactive: Proactive,
) -> None:
    """Nine activities to one conversation, no in-process wait allowed: seven fit the first
    second, the rest come back on the queue (visibility delay) until they fit, in order."""
    await proactive.control.set_rate_limits(True, reset=True)
    governor = RateGovernor(GovernorConfig(max_wait_seconds=0.0), shared=False)
    service = governed_service(proactive, governor)
    name = f"throttle-test-{uuid.uuid4().hex[:12]}"
    main, poison = queue(name), queue(name + "-poison")
    await main.create_queue()
    await poison.create_queue()
    sender = QueueSender(
        service,
        queue=lambda: main,
        poison_queue=lambda: poison,
        queue_name=name,
    )
    stored = await proactive.conversation()
    delivery_id = f"paced-{uuid.uuid4().hex}"
    body = json.dumps(
        {
            "version": 1,
            "id": delivery_id,
            "conversation": {"channelId": "msteams", "conversationId": stored.conversation_id},
            "activities": [{"type": "message", "text": str(index)} for index in range(9)],
        }
    ).encode()
    try:
        first = await sender.process(body)

        assert first.action is QueueAction.REQUEUED
        assert first.delay_seconds is not None
        assert first.delay_seconds >= 1
        receipt = await proactive.ledger.get_receipt(delivery_id)
        assert receipt is not None
        assert receipt.status == "Retrying"
        assert receipt.last_error is not None
        assert receipt.last_error.code == "RateLimited"
        assert len(await proactive.control.activities(stored.conversation_id)) == 7

        result = first
        for _ in range(5):
            result = await sender.process(await next_visible(main))
            if result.action is not QueueAction.REQUEUED:
                break

        assert result.action is QueueAction.DELIVERED
        requests = await proactive.control.requests(stored.conversation_id)
        assert [record["status"] for record in requests] == [201] * 9
        assert texts(requests) == [str(index) for index in range(9)]
    finally:
        await proactive.control.set_rate_limits(False, reset=True)
        await main.delete_queue()
        await poison.delete_queue()


async def next_visible(client: QueueClient) -> bytes:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        async for item in client.receive_messages(max_messages=1):
            await client.delete_message(item)
            return cast(bytes, item.content)
        await asyncio.sleep(0.1)
    raise AssertionError("the deferred message did not come back")


async def test_a_429_in_one_instance_slows_the_tenant_in_another(proactive: Proactive) -> None:
    """The Connector's 429 is shared through Cosmos DB: another instance, which never saw
    it, holds its sends to the tenant back too.

    A tenant of its own: the record it writes is shared through the session's one emulator,
    and would hold back for 20 s every later test sending to the common tenant.
    """
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    config = GovernorConfig(limits=limits_with_cap(30.0))
    first = RateGovernor(config, records=ThrottleRecords())
    second = RateGovernor(config, records=ThrottleRecords())
    stored = await proactive.conversation(tenant_id=tenant)
    await proactive.control.set_fault(
        status=429, retry_after=20, times=1, conversation_id=stored.conversation_id
    )

    outcome = await governed_service(proactive, first).deliver(
        ConversationTarget(
            channel_id="msteams", conversation_id=stored.conversation_id, tenant_id=tenant
        ),
        [{"type": "message", "text": "hello"}],
    )

    assert outcome.outcome is Outcome.RETRY
    assert first.stats.throttled == 1
    with pytest.raises(RateLimitedError) as held:
        async with second.permit(SendKey("msteams", tenant, "a:1another")):
            pass
    assert 10 < held.value.retry_after <= 20


async def test_shared_records_are_read_once_per_cache_period_and_never_shortened(
    proactive: Proactive,
) -> None:
    del proactive
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    writer = ThrottleRecords()
    reader = ThrottleRecords(cache_seconds=60)
    later = datetime.now(UTC) + timedelta(seconds=30)
    earlier = later - timedelta(seconds=20)

    assert await reader.until("msteams", tenant) is None
    await writer.record("msteams", tenant, later)
    await writer.record("msteams", tenant, earlier)  # a shorter one changes nothing

    fresh = ThrottleRecords()
    until = await fresh.until("msteams", tenant)
    assert until is not None
    assert abs((until - later).total_seconds()) < 0.001
    # The reader's "none" is cached: one point read for any number of sends.
    reads = await asyncio.gather(*(reader.until("msteams", tenant) for _ in range(100)))
    assert set(reads) == {None}
    assert reader.reads == 1
