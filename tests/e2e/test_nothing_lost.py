"""Nothing lost: the host SIGKILLed mid-drain and restarted delivers every queued message
(docs/delivery.md), and the only duplicates are the activities whose receipts say
``possibleDuplicate``.

Real processes: the function host, the local channel (whose Connector answers each POST after
a delay, so POSTs are in flight at the kill), Azurite and the Cosmos DB emulator. The host runs
with short leases (queue message and ledger claim) so recovery takes seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from dev.channel import ChannelControl
from dev.stack import HostProcess, LocalStack
from tests.e2e.test_proactive_delivery import Api, message, started

pytestmark = pytest.mark.e2e

MESSAGES = 300
CONVERSATIONS = 20
KILL_AFTER = 60
"""Activities the channel accepted before the host is killed."""
RECOVERY_DEADLINE_SECONDS = 240.0
SHORT_LEASES = {"DEV_HOST_QUEUE_LEASE_SECONDS": "5", "PROACTIVE_SEND_LEASE_SECONDS": "5"}


@pytest.fixture
async def api(e2e_stack: LocalStack) -> AsyncIterator[Api]:
    e2e_stack.restart_host(SHORT_LEASES)
    try:
        async with aiohttp.ClientSession() as session:
            yield Api(e2e_stack, session)
    finally:
        e2e_stack.restart_host()


def sigkill_and_restart(stack: LocalStack) -> None:
    """SIGKILL the host (a single process: its whole group) and start it again."""
    host = stack.host
    host.process.kill()
    host.process.wait()
    port = int(host.url.rsplit(":", 1)[1])
    stack.host = HostProcess.start(host.environment, port=port, log_file=host.log_file)


async def texts_accepted(channel: ChannelControl, prefix: str) -> Counter[str]:
    accepted = await channel.activities()
    return Counter(
        text
        for record in accepted
        if isinstance(text := (record.get("activity") or {}).get("text"), str)
        and text.startswith(prefix)
    )


async def test_a_host_killed_mid_drain_loses_nothing(api: Api, channel: ChannelControl) -> None:
    conversations = [(await started(channel))[0] for _ in range(CONVERSATIONS)]
    prefix = f"kill-{uuid.uuid4().hex[:8]}-"
    queued: list[dict[str, Any]] = [
        message(conversations[index % CONVERSATIONS], f"{prefix}{index}")
        for index in range(MESSAGES)
    ]
    # Every POST is answered after 0.3 s: at the kill, a batch of them is in flight.
    await channel.set_fault(delay_seconds=0.3, times=None)

    await api.enqueue(*queued)
    deadline = time.monotonic() + RECOVERY_DEADLINE_SECONDS
    while sum((await texts_accepted(channel, prefix)).values()) < KILL_AFTER:
        assert time.monotonic() < deadline, "the drain did not start"
        await asyncio.sleep(0.05)
    sigkill_and_restart(api.stack)
    await channel.clear_faults()

    while len(counts := await texts_accepted(channel, prefix)) < MESSAGES:
        assert time.monotonic() < deadline, f"{len(counts)} of {MESSAGES} delivered"
        await asyncio.sleep(0.5)
    receipts = {item["id"]: await api.final_receipt(item["id"]) for item in queued}

    duplicated = {text for text, count in counts.items() if count > 1}
    marked = {
        item["activities"][0]["text"]
        for item in queued
        if receipts[item["id"]]["possibleDuplicate"]
    }
    print(
        f"\nkill test: {len(counts)} of {MESSAGES} delivered, {len(duplicated)} duplicated, "
        f"{len(marked)} receipts possibleDuplicate"
    )
    assert all(receipt["status"] == "Delivered" for receipt in receipts.values())
    assert duplicated <= marked
    assert all(
        receipts[item["id"]]["activities"][0]["possibleDuplicate"]
        for item in queued
        if item["activities"][0]["text"] in duplicated
    )


async def test_503_with_retry_after_is_retried_until_delivered(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, _ = await started(channel)
    prefix = f"outage-{uuid.uuid4().hex[:8]}-"
    queued = [message(conversation_id, f"{prefix}{index}") for index in range(5)]
    await channel.set_fault(status=503, retry_after=2, times=5, conversation_id=conversation_id)

    await api.enqueue(*queued)
    receipts = [await api.final_receipt(item["id"]) for item in queued]

    assert [receipt["status"] for receipt in receipts] == ["Delivered"] * 5
    assert not any(receipt["possibleDuplicate"] for receipt in receipts)
    posts = await channel.requests(conversation_id)
    assert [
        p["status"] for p in posts if (p["activity"] or {}).get("text", "").startswith(prefix)
    ].count(503) == 5


async def test_at_most_once_a_500_is_poisoned_with_the_reason(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, _ = await started(channel)
    queued = message(conversation_id, f"once-{uuid.uuid4().hex}", delivery="atMostOnce")
    await channel.set_fault(status=500, times=1, conversation_id=conversation_id)

    await api.enqueue(queued)
    receipt = await api.final_receipt(queued["id"])

    assert receipt["status"] == "Unconfirmed"
    assert receipt["delivery"] == "atMostOnce"
    assert receipt["lastError"]["code"]
