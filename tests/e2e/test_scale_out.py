"""Three function hosts on the same emulators, queues and timer, as three scaled-out instances.

The channel enforces the Teams limits (50/s per tenant; 7/1 s, 8/2 s, 60/30 s per
conversation) and answers 429 to any request above them; the hosts share each tenant's budget
through leases and each conversation's through its send log in Cosmos DB (docs/rate-limits.md).
What is asserted is counted at the connector: every message once, no 429, and no window of
its receipt times holding more than the limit (plus a tolerance of 4% of the limit for the
channel's receipt stamp, taken a moment after its rate check). Nothing is asserted on timing;
figures are printed.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from bench.broadcast import arrival_span
from dev.channel import ChannelControl
from dev.stack import LocalStack
from tests.e2e.conftest import running_stack
from tests.e2e.host_api import Api, message
from tests.e2e.test_broadcast import broadcast, seed

pytestmark = pytest.mark.e2e

HOSTS = 3
TENANT_RPS = 50
DEADLINE_SECONDS = 90.0
SHORT_LEASES = {"DEV_HOST_QUEUE_LEASE_SECONDS": "5", "PROACTIVE_SEND_LEASE_SECONDS": "5"}
"""A killed host's dequeued messages come back after the queue's message lease (10 minutes
by default, docs/delivery.md); short here, as this test is about the rate budget."""


@pytest.fixture(scope="module")
def scaled_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(
        tmp_path_factory.mktemp("scale-out"), hosts=HOSTS, settings=SHORT_LEASES
    ) as stack:
        yield stack


@pytest.fixture
async def control(scaled_stack: LocalStack) -> AsyncIterator[ChannelControl]:
    async with ChannelControl(scaled_stack.channel.connector_url) as channel:
        await channel.set_rate_limits(True, reset=True)
        yield channel
        await channel.set_rate_limits(False, reset=True)


@pytest.fixture
async def api(scaled_stack: LocalStack) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(scaled_stack, session)


def most_in_any_window(records: list[dict[str, Any]], seconds: float) -> int:
    moments = sorted(
        datetime.fromisoformat(r["receivedAt"]).timestamp() for r in records if r["status"] == 201
    )
    most = first = 0
    for last, moment in enumerate(moments):
        while moments[first] <= moment - seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


def longest_pause(records: list[dict[str, Any]]) -> float:
    moments = sorted(
        datetime.fromisoformat(r["receivedAt"]).timestamp() for r in records if r["status"] == 201
    )
    return max((b - a for a, b in itertools.pairwise(moments)), default=0.0)


def tally(records: list[dict[str, Any]]) -> tuple[Counter[str], list[dict[str, Any]]]:
    """How often each text was accepted, and the requests answered 429."""
    counts = Counter(r["activity"]["text"] for r in records if r["status"] == 201)
    return counts, [r for r in records if r["status"] == 429]


def tolerance(limit: int) -> int:
    return math.ceil(limit * 0.04)


async def delivered(
    channel: ChannelControl, texts: set[str], conversation: str | None = None
) -> list[dict[str, Any]]:
    """Poll the connector until every text arrived (or the deadline); its requests."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        records = [
            r
            for r in await channel.requests(conversation)
            if (r["activity"] or {}).get("text") in texts
        ]
        arrived = {r["activity"]["text"] for r in records if r["status"] == 201}
        if arrived == texts or time.monotonic() > deadline:
            return records
        await asyncio.sleep(0.5)


async def enqueue_to_tenant(
    stack: LocalStack, api: Api, control: ChannelControl, count: int
) -> tuple[set[str], str]:
    tenant, conversations = await seed(stack, control, "scale", count)
    run = uuid.uuid4().hex[:6]
    messages = [
        message(conversation, f"drain {run} {index}")
        for index, conversation in enumerate(sorted(conversations))
    ]
    await api.enqueue(*messages)
    return {m["activities"][0]["text"] for m in messages}, tenant


async def test_600_queued_messages_reach_the_connector_once_within_the_tenant_limit(
    scaled_stack: LocalStack, api: Api, control: ChannelControl
) -> None:
    texts, _ = await enqueue_to_tenant(scaled_stack, api, control, 600)
    records = await delivered(control, texts)

    counts, throttled = tally(records)
    most = most_in_any_window(records, 1.0)
    print(
        f"\n{HOSTS} hosts drained 600: first to last {arrival_span(records):.2f} s, "
        f"at most {most} in any 1 s (limit {TENANT_RPS}), {len(throttled)} x 429"
    )
    assert set(counts) == texts  # none lost
    assert max(counts.values()) == 1  # none twice
    assert throttled == []
    assert most <= TENANT_RPS + tolerance(TENANT_RPS)


async def test_a_broadcast_to_300_of_one_tenant_sees_no_429(
    scaled_stack: LocalStack, api: Api, control: ChannelControl
) -> None:
    audience = 300
    tenant, audience_ids = await seed(scaled_stack, control, "broadcast", audience)
    body = broadcast(tenant, f"closed on Friday {uuid.uuid4().hex[:6]}")
    status, _, started = await api.call("POST", "/api/broadcasts", body)
    assert status == 202, started
    progress = await api.finished_broadcast(body["operationId"])
    records = [r for r in await control.requests() if r["conversationId"] in audience_ids]

    throttled = [r for r in records if r["status"] == 429]
    most = most_in_any_window(records, 1.0)
    print(
        f"\nbroadcast to {audience} on {HOSTS} hosts: first to last "
        f"{arrival_span(records):.2f} s, at most {most} in any 1 s, {len(throttled)} x 429"
    )
    assert throttled == []
    assert sorted(r["conversationId"] for r in records if r["status"] == 201) == sorted(
        audience_ids
    )
    assert (progress["sent"], progress["failed"]) == (audience, 0)
    assert most <= TENANT_RPS + tolerance(TENANT_RPS)


async def test_100_queued_messages_to_one_conversation_see_no_429(
    api: Api, control: ChannelControl
) -> None:
    begun = await control.start_conversation(user_name="Grace Hopper")
    conversation = str(begun["conversationId"])
    await control.set_rate_limits(True, reset=True)  # the welcome is not counted
    run = uuid.uuid4().hex[:6]
    messages = [message(conversation, f"one {run} {index}") for index in range(100)]
    await api.enqueue(*messages)
    texts = {m["activities"][0]["text"] for m in messages}
    records = await delivered(control, texts, conversation)

    counts, throttled = tally(records)
    print(
        f"\n100 to one conversation on {HOSTS} hosts: first to last "
        f"{arrival_span(records):.2f} s, at most {most_in_any_window(records, 1.0)} in 1 s, "
        f"{most_in_any_window(records, 2.0)} in 2 s, {len(throttled)} x 429"
    )
    assert set(counts) == texts
    assert max(counts.values()) == 1
    assert throttled == []
    assert most_in_any_window(records, 1.0) <= 7
    assert most_in_any_window(records, 2.0) <= 8
    assert most_in_any_window(records, 30.0) <= 60


async def test_a_two_second_schedule_fires_each_occurrence_once_on_three_hosts(
    scaled_stack: LocalStack, api: Api, control: ChannelControl
) -> None:
    """Every host runs the schedule tick each second; each occurrence is claimed by one."""
    begun = await control.start_conversation(user_name="Ada Lovelace")
    conversation = str(begun["conversationId"])
    await control.wait_for_activities(conversation, 1)  # the welcome
    status, _, created = await api.call(
        "POST",
        "/api/schedules",
        {
            "conversation": {"channelId": "msteams", "conversationId": conversation},
            "cron": "*/2 * * * * *",
            "activities": [{"type": "message", "text": "tick {utcTime}"}],
        },
    )
    assert status == 201, created
    try:
        records = await control.wait_for_activities(conversation, 1 + 6, timeout=60)
    finally:
        assert (await api.call("DELETE", f"/api/schedules/{created['id']}"))[0] == 204

    ticks = [
        str(r["activity"].get("text"))
        for r in records
        if str(r["activity"].get("text") or "").startswith("tick ")
    ]
    occurrences = sorted(datetime.fromisoformat(text.removeprefix("tick ")) for text in ticks)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(occurrences)]
    print(f"\n{len(ticks)} occurrences on {HOSTS} hosts, gaps {gaps}")
    assert len(ticks) >= 6
    assert len(set(occurrences)) == len(occurrences), "an occurrence arrived twice"
    assert all(moment.second % 2 == 0 for moment in occurrences)


async def test_a_host_killed_while_sending_does_not_stall_the_tenant(
    scaled_stack: LocalStack, api: Api, control: ChannelControl
) -> None:
    """SIGKILL one host in the middle of a drain: its budget shares lapse after their lease
    and the other hosts deliver the rest (its dequeued messages come back after their
    visibility timeout)."""
    texts, _ = await enqueue_to_tenant(scaled_stack, api, control, 300)
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        arrived = [
            r for r in await control.requests() if (r["activity"] or {}).get("text") in texts
        ]
        if len(arrived) >= 50:
            break
        await asyncio.sleep(0.1)
    scaled_stack.more_hosts[-1].kill()
    records = await delivered(control, texts)

    counts, throttled = tally(records)
    print(
        f"\nkilled a host after 50 of 300: {len(counts)} delivered in "
        f"{arrival_span(records):.2f} s, longest pause between arrivals "
        f"{longest_pause(records):.2f} s (the lease is 10 s), "
        f"{sum(counts.values()) - len(counts)} delivered twice, {len(throttled)} x 429"
    )
    assert set(counts) == texts
    assert throttled == []
