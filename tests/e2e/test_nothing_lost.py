"""Nothing lost (docs/delivery.md): a host SIGKILLed mid-drain and restarted delivers every
queued message, the only duplicates being the activities whose POST was in flight at the kill
(their receipts, and only theirs, say ``possibleDuplicate``); a Connector outage of 503 with
``Retry-After``, then 502, then 504 delivers every message, never retrying before the
``Retry-After`` it was given, or, under ``atMostOnce``, ends ``Unconfirmed`` in the poison
queue with the reason.

Real processes: the function host, the local channel (whose Connector holds answers or fails
them on cue and records every request with its answer), Azurite and the Cosmos DB emulator.
The host runs on a queue of its own with short leases (queue message and ledger claim) and a
short retry backoff, so recovery and outages take seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from dev.channel import ChannelControl
from dev.stack import HostProcess, LocalStack
from tests.e2e.host_api import Api, message, started

pytestmark = pytest.mark.e2e

MESSAGES = 300
CONVERSATIONS = 20
KILL_AFTER = 60
"""Activities the channel accepted before the Connector starts holding POSTs open."""
HOLD_SECONDS = 120.0
"""The hold: longer than the test needs; clearing the fault answers the held POSTs at once."""
SETTLED_SECONDS = 4.0
"""The held POSTs unchanged this long: every send the host runs is held at the Connector, none
is between its in-flight mark and its POST (a rate-governor wait ends within 3 s,
``THROTTLE_MAX_WAIT_SECONDS``)."""
RECOVERY_DEADLINE_SECONDS = 240.0
HOST_SETTINGS = {
    "DEV_HOST_QUEUE_LEASE_SECONDS": "5",
    "PROACTIVE_SEND_LEASE_SECONDS": "5",
    # Backoff without Retry-After: 1-2 s, and enough attempts to outlast a 20 s outage.
    "PROACTIVE_RETRY_MAX_DELAY_SECONDS": "2",
    "PROACTIVE_MAX_ATTEMPTS": "40",
}
OUTAGE: tuple[tuple[int, int | None, float], ...] = (
    (503, 2, 10.0),
    (502, None, 5.0),
    (504, None, 5.0),
)
"""(status, Retry-After, seconds): 503 with Retry-After: 2 for 10 s, then 502 for 5 s, then 504
for 5 s, then the Connector answers again."""
AMBIGUOUS = (502, 504)
OUTAGE_DEADLINE_SECONDS = 120.0
CLOCK_ROUNDING = timedelta(milliseconds=1)
"""The channel records times to the millisecond."""

Record = dict[str, Any]


@pytest.fixture(scope="module")
def lossless_host(e2e_stack: LocalStack) -> Iterator[LocalStack]:
    """The stack's host restarted with :data:`HOST_SETTINGS` on a queue of its own (so its
    poison queue holds only this module's entries), restored afterwards."""
    queue_name = f"nothing-lost-{uuid.uuid4().hex[:8]}"
    e2e_stack.restart_host({**HOST_SETTINGS, "PROACTIVE_QUEUE_NAME": queue_name})
    try:
        yield e2e_stack
    finally:
        e2e_stack.restart_host()


@pytest.fixture
async def api(lossless_host: LocalStack) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(lossless_host, session)


def sigkill(stack: LocalStack) -> datetime:
    """SIGKILL the host (a single process: its whole group); returns when it was dead."""
    stack.host.process.kill()
    stack.host.process.wait()
    return datetime.now(UTC)


def restart(stack: LocalStack) -> None:
    """Start the killed host again, as it was."""
    host = stack.host
    port = int(host.url.rsplit(":", 1)[1])
    stack.host = HostProcess.start(host.environment, port=port, log_file=host.log_file)


def text_of(record: Record) -> str | None:
    text = (record.get("activity") or {}).get("text")
    return text if isinstance(text, str) else None


async def texts_accepted(channel: ChannelControl, prefix: str) -> Counter[str]:
    return Counter(
        text
        for record in await channel.activities()
        if (text := text_of(record)) is not None and text.startswith(prefix)
    )


async def posts_by_text(channel: ChannelControl, prefix: str) -> dict[str, list[Record]]:
    """Every POST of the activities whose text starts with ``prefix``, in arrival order."""
    posts: dict[str, list[Record]] = defaultdict(list)
    for record in await channel.requests():
        if (text := text_of(record)) is not None and text.startswith(prefix):
            posts[text].append(record)
    return {text: sorted(items, key=lambda r: r["sequence"]) for text, items in posts.items()}


def at(record: Record, key: str) -> datetime:
    return datetime.fromisoformat(record[key])


async def final_receipts(api: Api, queued: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each message's receipt once it is no longer ``Sending`` or ``Retrying``."""
    deadline = time.monotonic() + OUTAGE_DEADLINE_SECONDS
    final: dict[str, dict[str, Any]] = {}
    while len(final) < len(queued):
        assert time.monotonic() < deadline, f"{len(final)} of {len(queued)} deliveries finished"
        for item in queued:
            if item["id"] not in final:
                receipt = await api.receipt(item["id"])
                if receipt is not None and receipt["status"] not in ("Sending", "Retrying"):
                    final[item["id"]] = receipt
        await asyncio.sleep(0.5)
    return final


async def poisoned(stack: LocalStack, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The poison entries of the deliveries ``ids``, by id (waits until all are there)."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.queue.aio import QueueClient

    from bot.storage.queues import expand_connection_string

    environment = stack.host.environment
    found: dict[str, dict[str, Any]] = {}
    async with QueueClient.from_connection_string(
        expand_connection_string(environment["AzureWebJobsStorage"]),
        environment["PROACTIVE_QUEUE_NAME"] + "-poison",
    ) as poison:
        deadline = time.monotonic() + OUTAGE_DEADLINE_SECONDS
        while not ids <= found.keys():
            assert time.monotonic() < deadline, f"poisoned: {sorted(found)} of {sorted(ids)}"
            try:
                entries = await poison.peek_messages(max_messages=32)
            except ResourceNotFoundError:  # created with the first entry
                entries = []
            for entry in entries:
                document = json.loads(base64.b64decode(entry.content))
                found[document["reason"]["deliveryId"]] = document
            await asyncio.sleep(0.2)
    return found


async def start_outage(channel: ChannelControl, conversation_id: str) -> None:
    """The Connector fails the conversation's requests as :data:`OUTAGE` says, from now on."""
    after = 0.0
    for status, retry_after, seconds in OUTAGE:
        await channel.set_fault(
            status=status,
            retry_after=retry_after,
            times=None,
            conversation_id=conversation_id,
            after_seconds=after,
            for_seconds=seconds,
        )
        after += seconds


def retries_after_retry_after(posts: dict[str, list[Record]]) -> int:
    """Check that no POST of an activity came sooner after an answer with ``Retry-After`` than
    it said, measured on the Connector's clock; returns how many such retries there were."""
    checked = 0
    for text, attempts in posts.items():
        for answered, retried in itertools.pairwise(attempts):
            if answered["retryAfter"] is None:
                continue
            allowed = at(answered, "answeredAt") + timedelta(seconds=answered["retryAfter"])
            assert at(retried, "receivedAt") >= allowed - CLOCK_ROUNDING, (
                f"{text}: POST {retried['sequence']} at {retried['receivedAt']} came before the "
                f"Retry-After {answered['retryAfter']} s of POST {answered['sequence']} "
                f"(answered at {answered['answeredAt']})"
            )
            checked += 1
    return checked


async def held_and_settled(channel: ChannelControl, deadline: float) -> None:
    """Wait until the Connector holds POSTs open and their number stopped changing."""
    held, since = await channel.in_flight(), time.monotonic()
    while held == 0 or time.monotonic() - since < SETTLED_SECONDS:
        assert time.monotonic() < deadline, "no POST was held"
        await asyncio.sleep(0.1)
        if (now_held := await channel.in_flight()) != held:
            held, since = now_held, time.monotonic()


async def test_a_host_killed_mid_drain_loses_nothing(api: Api, channel: ChannelControl) -> None:
    conversations = [(await started(channel))[0] for _ in range(CONVERSATIONS)]
    prefix = f"kill-{uuid.uuid4().hex[:8]}-"
    queued: list[dict[str, Any]] = [
        message(conversations[index % CONVERSATIONS], f"{prefix}{index}")
        for index in range(MESSAGES)
    ]
    # The Connector answers every POST after 0.3 s while the host drains; then it holds the
    # POSTs open, and the host is killed with them in flight.
    await channel.set_fault(delay_seconds=0.3, times=None)

    await api.enqueue(*queued)
    deadline = time.monotonic() + RECOVERY_DEADLINE_SECONDS
    while sum((await texts_accepted(channel, prefix)).values()) < KILL_AFTER:
        assert time.monotonic() < deadline, "the drain did not start"
        await asyncio.sleep(0.05)
    await channel.clear_faults()
    await channel.set_fault(delay_seconds=HOLD_SECONDS, times=None)
    await held_and_settled(channel, deadline)
    killed_at = sigkill(api.stack)
    await channel.clear_faults()  # the held POSTs are answered, to no one
    restart(api.stack)

    while len(delivered := await texts_accepted(channel, prefix)) < MESSAGES:
        assert time.monotonic() < deadline, f"{len(delivered)} of {MESSAGES} delivered"
        await asyncio.sleep(0.5)
    receipts = {item["id"]: await api.final_receipt(item["id"]) for item in queued}
    # Counted once every receipt is final: a resend may land after each text arrived once.
    counts = await texts_accepted(channel, prefix)

    # In flight at the kill: arrived before the host died, answered after (to no one).
    in_flight = {
        text
        for text, attempts in (await posts_by_text(channel, prefix)).items()
        if any(at(p, "receivedAt") < killed_at < at(p, "answeredAt") for p in attempts)
    }
    duplicated = {text for text, count in counts.items() if count > 1}
    marked = {
        item["activities"][0]["text"]
        for item in queued
        if receipts[item["id"]]["possibleDuplicate"]
    }
    print(
        f"\nkill test: {len(counts)} of {MESSAGES} delivered, {len(in_flight)} POSTs in flight "
        f"at the kill, {len(duplicated)} duplicated, {len(marked)} receipts possibleDuplicate"
    )
    assert in_flight, "no POST was in flight at the kill"
    assert all(receipt["status"] == "Delivered" for receipt in receipts.values())
    assert max(counts.values()) == 2
    # Exactly the POSTs in flight at the kill were sent twice, and exactly their receipts say so.
    assert duplicated == in_flight
    assert marked == in_flight
    assert all(
        receipts[item["id"]]["activities"][0]["possibleDuplicate"]
        for item in queued
        if item["activities"][0]["text"] in duplicated
    )


async def test_an_outage_of_503_502_504_delivers_every_message_at_least_once(
    api: Api, channel: ChannelControl
) -> None:
    conversations = [(await started(channel))[0] for _ in range(3)]
    prefix = f"outage-{uuid.uuid4().hex[:8]}-"
    queued = [message(conversations[index % 3], f"{prefix}{index}") for index in range(12)]
    for conversation_id in conversations:
        await start_outage(channel, conversation_id)

    await api.enqueue(*queued)
    receipts = await final_receipts(api, queued)
    posts = await posts_by_text(channel, prefix)

    retried = retries_after_retry_after(posts)
    print(f"\noutage: {sum(map(len, posts.values()))} POSTs, {retried} after a Retry-After")
    assert retried >= len(queued)  # each met the 503 and came back no sooner than it said
    for item in queued:
        receipt, attempts = receipts[item["id"]], posts[item["activities"][0]["text"]]
        statuses = [p["status"] for p in attempts]
        assert receipt["status"] == "Delivered", (receipt, statuses)
        assert statuses[-1] == 201
        assert set(statuses[:-1]) <= {status for status, *_ in OUTAGE}
        # Sent again after a 502/504 (it may have arrived): marked, and only then.
        assert receipt["possibleDuplicate"] is any(s in AMBIGUOUS for s in statuses)
    assert {s for attempts in posts.values() for s in (p["status"] for p in attempts)} == {
        503,
        502,
        504,
        201,
    }


async def test_an_outage_at_most_once_ends_unconfirmed_in_the_poison_queue_with_the_reason(
    api: Api, channel: ChannelControl
) -> None:
    conversations = [(await started(channel))[0] for _ in range(2)]
    prefix = f"once-{uuid.uuid4().hex[:8]}-"
    queued = [
        message(conversations[index % 2], f"{prefix}{index}", delivery="atMostOnce")
        for index in range(6)
    ]
    for conversation_id in conversations:
        await start_outage(channel, conversation_id)

    await api.enqueue(*queued)
    receipts = await final_receipts(api, queued)
    entries = await poisoned(api.stack, {item["id"] for item in queued})
    posts = await posts_by_text(channel, prefix)

    assert retries_after_retry_after(posts) >= len(queued)
    for item in queued:
        receipt, attempts = receipts[item["id"]], posts[item["activities"][0]["text"]]
        statuses = [p["status"] for p in attempts]
        # 503s are retried (not taken); the first 502/504 may have arrived: never sent again.
        assert set(statuses[:-1]) <= {503}, statuses
        assert statuses[-1] in AMBIGUOUS, statuses
        assert receipt["status"] == "Unconfirmed"
        assert receipt["delivery"] == "atMostOnce"
        assert receipt["lastError"]["code"] == attempts[-1]["errorCode"]
        reason = entries[item["id"]]["reason"]
        assert reason["code"] == attempts[-1]["errorCode"]
        assert "may or may not have been delivered" in reason["message"]
        assert entries[item["id"]]["message"]["id"] == item["id"]
