"""The assistant in process against the emulators: reminders kept in the Cosmos DB emulator,
and calendar reminders put on a real Azurite queue (read back once they are due)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.proactive.message import ProactiveMessage, parse_message
from bot.references import ReferenceStore
from bot.references.capture import ReferenceCapture
from bot.samples.assistant import Assistant
from bot.samples.skills.briefing import BriefingSkill
from bot.samples.skills.calendar import CalendarSkill
from bot.samples.skills.reminders import RemindersSkill
from bot.schedules.service import ScheduleService
from bot.schedules.store import ScheduleStore
from bot.settings import Settings, get_settings
from bot.skills import SkillSet, load_event_map
from bot.storage.queues import queue, queue_service
from tests.transcripts import TRANSCRIPTS, Transcript, play
from tests.transcripts.in_process import InProcessChannel
from tests.unit.skills.harness import EVENTS_FILE, shipped_manifests, write_calendar

pytestmark = pytest.mark.services

DEADLINE_SECONDS = 20.0
LEAD = timedelta(minutes=12) - timedelta(seconds=2)
"""The reminder of a meeting 12 minutes ahead is due 2 s after the event."""


@pytest.fixture
async def queue_name(bot_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A proactive queue of the test's own (``PROACTIVE_QUEUE_NAME``)."""
    del bot_settings
    name = f"skills-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("PROACTIVE_QUEUE_NAME", name)
    get_settings.cache_clear()
    client = queue(name)
    await client.create_queue()
    try:
        yield name
    finally:
        await client.delete_queue()
        await queue_service.aclose()


def assistant_factory(calendar: Path) -> Assistant:
    manifests = shipped_manifests()
    skills = [
        CalendarSkill(manifests["calendar"], source_path=calendar, reminder_lead=LEAD),
        RemindersSkill(
            manifests["reminders"],
            service=ScheduleService(store=ScheduleStore(), references=ReferenceStore()),
        ),
        BriefingSkill(manifests["briefing"]),
    ]
    return Assistant(SkillSet(skills, load_event_map(EVENTS_FILE, skills)))


async def test_device_start_puts_the_reminder_on_the_queue_under_one_id(
    queue_name: str, tmp_path: Path
) -> None:
    calendar = write_calendar(tmp_path / "calendar.json", datetime.now(UTC))
    channel = InProcessChannel(
        lambda: assistant_factory(calendar), middleware=lambda: [ReferenceCapture(ReferenceStore())]
    )
    await channel.open()

    await channel.send_event("DeviceStart", None)
    await channel.send_event("DeviceStart", None)

    client = queue(queue_name)
    received: list[ProactiveMessage] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    while len(received) < 2 and time.monotonic() < deadline:
        async for item in client.receive_messages(max_messages=2):
            received.append(parse_message(item.content))
            await client.delete_message(item)
        await asyncio.sleep(0.2)
    first, second = received
    assert first.id == second.id  # one reminder, whatever the number of DeviceStarts
    assert first.conversation is not None
    assert first.conversation.conversation_id == channel.conversation.id
    assert first.not_before is not None
    assert first.expires_at is not None
    assert first.expires_at - first.not_before == LEAD
    assert json.loads(first.to_json())["activities"][0]["text"].startswith(
        "Reminder: 'Design review' starts at "
    )


async def test_reminders_are_made_and_stopped_in_the_emulator(
    bot_settings: Settings, tmp_path: Path
) -> None:
    del bot_settings
    calendar = write_calendar(tmp_path / "calendar.json", datetime.now(UTC))
    channel = InProcessChannel(
        lambda: assistant_factory(calendar), middleware=lambda: [ReferenceCapture(ReferenceStore())]
    )

    await play(Transcript.load(TRANSCRIPTS / "assistant" / "reminder_in_skill.transcript"), channel)

    assert (
        await ScheduleService(store=ScheduleStore(), references=ReferenceStore()).list_all(
            channel_id="msteams", conversation_id=channel.conversation.id
        )
        == []
    )
