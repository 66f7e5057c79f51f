"""Cron schedules through the real host (auth ON): timer tick, queue trigger, local Connector.

The stack's timer ticks every second and schedules may fire every second
(``SCHEDULE_MIN_INTERVAL_SECONDS=1``). Conversations are started by the channel's users, so
their references are captured by the real ``/api/messages`` pipeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from dev.channel import ChannelControl
from tests.e2e.host_api import Api, started

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 40.0


async def create(api: Api, conversation_id: str, cron: str, text: str) -> dict[str, Any]:
    """A schedule of ``text`` to the conversation, created through ``POST /api/schedules``."""
    status, _, body = await api.call(
        "POST",
        "/api/schedules",
        {
            "conversation": {"channelId": "msteams", "conversationId": conversation_id},
            "cron": cron,
            "activities": [{"type": "message", "text": text}],
        },
    )
    assert status == 201, body
    assert isinstance(body, dict)
    return body


def texts(records: list[dict[str, Any]], prefix: str) -> list[str]:
    found = [str(record["activity"].get("text") or "") for record in records]
    return [text for text in found if text.startswith(prefix)]


async def test_a_schedule_every_two_seconds_delivers_each_occurrence_once_until_deleted(
    api: Api, channel: ChannelControl
) -> None:
    conversation_id = (await started(channel))[0]
    created = await create(api, conversation_id, "*/2 * * * * *", "tick {utcTime}")

    records = await channel.wait_for_activities(conversation_id, 1 + 3, timeout=WAIT_SECONDS)
    ticks = texts(records, "tick ")
    assert len(ticks) >= 3
    occurrences = [datetime.fromisoformat(text.removeprefix("tick ")) for text in ticks]
    assert len(set(occurrences)) == len(occurrences), "an occurrence arrived twice"
    assert all(moment.second % 2 == 0 for moment in occurrences)
    assert all(record["authorized"] for record in records)
    status, _, current = await api.call("GET", f"/api/schedules/{created['id']}")
    assert status == 200
    assert current["runCount"] >= len(ticks)

    assert (await api.call("DELETE", f"/api/schedules/{created['id']}"))[0] == 204
    delivered_at_delete = len(await channel.activities(conversation_id))

    # Another schedule's deliveries show the tick and the queue kept running meanwhile.
    control_conversation = (await started(channel))[0]
    control = await create(api, control_conversation, "*/2 * * * * *", "control {utcTime}")
    await channel.wait_for_activities(control_conversation, 1 + 3, timeout=WAIT_SECONDS)
    assert (await api.call("DELETE", f"/api/schedules/{control['id']}"))[0] == 204

    after = await channel.activities(conversation_id)
    # At most the occurrence that was already claimed when the delete came in.
    assert len(after) <= delivered_at_delete + 1
    assert len(set(texts(after, "tick "))) == len(texts(after, "tick "))
    status, _, error = await api.call("GET", f"/api/schedules/{created['id']}")
    assert (status, error["error"]["code"]) == (404, "ScheduleNotFound")


async def test_a_reminder_made_in_chat_is_listed_by_the_api_and_arrives_in_that_chat(
    api: Api, channel: ChannelControl
) -> None:
    said = await channel.say(None, "every 2 seconds send me ping", timezone="Europe/Berlin")
    conversation_id = str(said["conversationId"])
    assert said["response"]["status"] == 200
    # The bot answers within its turn, so the answer is recorded once "say" returns.
    answers = texts(await channel.activities(conversation_id), "")
    confirmations = texts(
        await channel.activities(conversation_id), "OK, reminder 1: every 2 seconds (Europe/Berlin)"
    )
    assert len(confirmations) == 1, (
        f"the bot answered {answers!r}: is bot.schedules.chat.handle_schedule_command wired "
        "into the bot's message handling?"
    )
    (confirmation,) = confirmations
    assert '"ping"' in confirmation

    status, _, page = await api.call(
        "GET", f"/api/schedules?conversationId={conversation_id}&channelId=msteams"
    )
    assert status == 200
    (listed,) = page["schedules"]
    assert (listed["cron"], listed["timeZone"]) == ("*/2 * * * * *", "Europe/Berlin")
    assert listed["conversation"]["conversationId"] == conversation_id

    records = await channel.wait_for_activities(conversation_id, 2 + 2, timeout=WAIT_SECONDS)
    scheduled = texts(records, "Scheduled message for ")
    assert len(scheduled) >= 2
    assert all(text.endswith(": ping") for text in scheduled)

    await channel.say(conversation_id, "stop reminder 1", timezone="Europe/Berlin")
    assert texts(await channel.activities(conversation_id), "Stopped reminder 1: every 2 seconds")
    status, _, page = await api.call("GET", f"/api/schedules?conversationId={conversation_id}")
    assert (status, page["schedules"]) == (200, [])
