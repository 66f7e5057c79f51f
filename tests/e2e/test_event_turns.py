"""Proactive turns that compute the message when they fire, through the real host (auth ON).

A queue message or a schedule carries an ``event`` instead of activities: the echo sample's
``Briefing`` handler composes the briefing (the time it fired, today's meetings) in a proactive
turn, and what it sends is delivered under the message's id, once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp
import pytest

from dev.channel import ChannelControl
from dev.stack import LocalStack
from tests.e2e.host_api import Api, started

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 40.0
BRIEFING = "Your briefing for "


def briefings(records: list[dict[str, Any]]) -> list[str]:
    found = [str((record["activity"] or {}).get("text") or "") for record in records]
    return [text for text in found if BRIEFING in text]


async def test_an_event_message_three_times_runs_one_turn_and_sends_once(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, _ = await started(channel)
    delivery_id = f"e2e-event-{uuid.uuid4().hex}"
    queued: dict[str, Any] = {
        "version": 1,
        "id": delivery_id,
        "conversation": {"channelId": "msteams", "conversationId": conversation_id},
        "event": {"name": "Briefing", "value": {"timeZone": "Europe/Berlin"}},
    }

    await api.enqueue(queued, queued)
    await api.enqueue(queued)

    receipt = await api.final_receipt(delivery_id)
    assert receipt["status"] == "Delivered"
    await api.queue_drained()
    records = await channel.activities(conversation_id)
    [text] = briefings(records)
    assert "(Europe/Berlin)" in text
    assert receipt["activityIds"] == [
        r["activityId"] for r in records if BRIEFING in str(r["activity"].get("text"))
    ]


async def test_a_briefing_schedule_computes_each_occurrence_when_it_fires(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, _ = await started(channel)
    status, _, created = await api.call(
        "POST",
        "/api/schedules",
        {
            "conversation": {"channelId": "msteams", "conversationId": conversation_id},
            "cron": "*/2 * * * * *",
            "event": {"name": "Briefing"},
        },
    )
    assert status == 201, created
    assert created["event"] == {"name": "Briefing"}
    assert "activities" not in created

    records = await channel.wait_for_activities(conversation_id, 1 + 3, timeout=WAIT_SECONDS)
    await api.call("DELETE", f"/api/schedules/{created['id']}")

    texts = briefings(records)
    assert len(texts) >= 3
    # Computed at each fire time, not stored: the texts name the second they were computed in.
    # Two occurrences a late timer fires in the same second may read alike, three do not.
    assert len(set(texts)) >= 2


async def test_saying_send_me_a_briefing_makes_a_schedule_of_the_event(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id, _ = await started(channel)

    said = await channel.say(conversation_id, "every day at 8:30 send me a briefing")

    assert said["response"]["status"] == 200
    status, _, listed = await api.call(
        "GET", f"/api/schedules?channelId=msteams&conversationId={conversation_id}"
    )
    assert status == 200, listed
    [schedule] = listed["schedules"]
    assert schedule["event"]["name"] == "Briefing"
    assert "activities" not in schedule
    await api.call("DELETE", f"/api/schedules/{schedule['id']}")


KILLED_CONVERSATIONS = 30
KILL_AFTER = 8
SHORT_LEASES = {"DEV_HOST_QUEUE_LEASE_SECONDS": "5", "PROACTIVE_SEND_LEASE_SECONDS": "5"}
"""A killed host's claims and queue leases end in seconds, not minutes."""


async def test_a_host_killed_while_turns_run_sends_each_computation_and_only_it(
    e2e_stack: LocalStack, channel: ChannelControl
) -> None:
    from tests.e2e.test_nothing_lost import restart, sigkill

    e2e_stack.restart_host(SHORT_LEASES)
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(e2e_stack, session)
            conversations = [(await started(channel))[0] for _ in range(KILLED_CONVERSATIONS)]
            queued: list[dict[str, Any]] = [
                {
                    "version": 1,
                    "id": f"e2e-kill-event-{uuid.uuid4().hex}",
                    "conversation": {"channelId": "msteams", "conversationId": conversation},
                    "event": {"name": "Briefing"},
                }
                for conversation in conversations
            ]
            # Every POST is answered after 0.3 s: at the kill, turns and sends are in flight.
            await channel.set_fault(delay_seconds=0.3, times=None)
            await api.enqueue(*queued)
            deadline = time.monotonic() + 240
            while len(briefings(await channel.activities())) < KILL_AFTER:
                assert time.monotonic() < deadline, "the drain did not start"
                await asyncio.sleep(0.05)
            sigkill(api.stack)
            restart(api.stack)
            await channel.clear_faults()
            receipts = {item["id"]: await api.final_receipt(item["id"]) for item in queued}
    finally:
        e2e_stack.restart_host()

    records = await channel.activities()
    duplicated = 0
    for item in queued:
        conversation = item["conversation"]["conversationId"]
        texts = briefings([r for r in records if r["conversationId"] == conversation])
        receipt = receipts[item["id"]]
        assert receipt["status"] == "Delivered"
        assert texts, f"no briefing in {conversation}"
        # Whatever was sent is the one computation the ledger holds, never a second turn's.
        assert len(set(texts)) == 1
        if len(texts) > 1:
            duplicated += 1
            assert receipt["possibleDuplicate"]
    print(f"\nkill during event turns: {len(queued)} delivered, {duplicated} possibleDuplicate")
