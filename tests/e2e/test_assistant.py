"""The assistant end to end: skills, events and proactive reminders through the local host.

The module restarts the session's host with ``BOT_SAMPLE=assistant``, a calendar file it writes
(``CALENDAR_SOURCE_PATH``) and a reminder lead in seconds (``CALENDAR_REMINDER_LEAD_SECONDS``),
and restores the default bot afterwards. Each transcript gets a fresh conversation started by
the channel's user; before each, the calendar is written again with 'Design review' 12 minutes
ahead, so ``DeviceStart`` answers at once and the reminder, due the lead (717 s) before the
meeting, reaches the channel's connector about 3 s later through the real queue and the queue
trigger. State (the skills' dialog stacks) is in the Cosmos DB emulator, so ``[restart]``
survives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.proactive.message import ConversationTarget
from bot.samples.skills.calendar import Meeting, reminder_id
from dev.channel import ChannelControl
from dev.stack import LocalStack, StackError
from tests.transcripts import Transcript, parse, play, transcripts_of
from tests.transcripts.local_stack import LocalStackChannel
from tests.unit.skills.harness import MEETING_LEAD, REMINDER_LEAD, write_calendar

pytestmark = pytest.mark.e2e

PROBE_ANSWER = 'I don\'t know how to help with "hi" yet. Say "help" to see what I can do.'
"""What the assistant answers "hi"; anything else means the host runs another bot."""


@dataclass(frozen=True)
class AssistantHost:
    """The session's stack running the assistant, and the calendar file it reads."""

    stack: LocalStack
    calendar: Path
    settings: dict[str, str]


@pytest.fixture(scope="module")
def assistant_host(
    e2e_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AssistantHost]:
    """The host restarted with the assistant; the default bot again afterwards."""
    calendar = write_calendar(
        tmp_path_factory.mktemp("assistant") / "calendar.json", datetime.now(UTC)
    )
    settings = {
        "BOT_SAMPLE": "assistant",
        "CALENDAR_SOURCE_PATH": str(calendar),
        "CALENDAR_REMINDER_LEAD_SECONDS": str(int(REMINDER_LEAD.total_seconds())),
    }
    try:
        e2e_stack.restart_host(settings)
    except StackError as error:
        e2e_stack.restart_host()  # the rest of the session needs a host
        reason = str(error).splitlines()[0]
        pytest.skip(
            f"the host does not start with BOT_SAMPLE=assistant ({reason}); "
            "bot/settings.py must accept it"
        )
    try:
        yield AssistantHost(e2e_stack, calendar, settings)
    finally:
        e2e_stack.restart_host()


@pytest.fixture
async def assistant(
    assistant_host: AssistantHost, channel: ChannelControl, session: aiohttp.ClientSession
) -> LocalStackChannel:
    """A fresh conversation with the assistant, with a meeting 12 minutes ahead."""
    probe = LocalStackChannel(
        assistant_host.stack, channel, session, host_settings=assistant_host.settings
    )
    await probe.open()
    await probe.say("hi")
    replies = [activity.get("text") for activity in await probe.bot_activities()]
    if PROBE_ANSWER not in replies:
        pytest.skip("the host ignores BOT_SAMPLE=assistant: another bot answered")
    write_calendar(assistant_host.calendar, datetime.now(UTC))
    return LocalStackChannel(
        assistant_host.stack, channel, session, host_settings=assistant_host.settings
    )


@pytest.mark.parametrize("path", transcripts_of("assistant"), ids=lambda path: path.stem)
async def test_assistant_transcript(assistant: LocalStackChannel, path: Path) -> None:
    await play(Transcript.load(path), assistant)


async def test_the_reminder_is_the_delivery_of_its_derived_id(
    assistant_host: AssistantHost, assistant: LocalStackChannel, channel: ChannelControl
) -> None:
    now = datetime.now(UTC)
    write_calendar(assistant_host.calendar, now)
    transcript = parse(
        'event: DeviceStart {"location": "car"}\n'
        r"bot matches: You have 'Design review' at \d\d:\d\d \(in 12 minutes\)\."
        "\n"
        r"bot matches: Good (morning|afternoon|evening), Ada! .*"
        "\n"
        r"proactive matches: Reminder: 'Design review' starts at .*"
        "\n",
        source="device_start_receipt",
    )
    await play(transcript, assistant)

    info = await channel.info()
    (described,) = [
        item for item in await channel.conversations() if item["id"] == assistant.conversation_id
    ]
    target = ConversationTarget(
        channel_id=described.get("channelId") or info["channelId"],
        conversation_id=assistant.conversation_id,
        tenant_id=described.get("tenantId") or info["tenantId"],
    )
    meeting = Meeting(id="design-review", title="Design review", start=now + MEETING_LEAD)
    async with (
        aiohttp.ClientSession() as client,
        client.get(
            f"{assistant_host.stack.host.url}/api/deliveries/{reminder_id(target, meeting)}"
        ) as response,
    ):
        receipt = await response.json()

    assert response.status == 200, receipt
    assert receipt["status"] == "Delivered"


async def test_a_meeting_nearer_than_the_lead_is_reminded_at_once(
    assistant_host: AssistantHost, assistant: LocalStackChannel
) -> None:
    # The meeting is 5 minutes ahead, the lead (717 s) has passed: the reminder is due now.
    write_calendar(assistant_host.calendar, datetime.now(UTC) - timedelta(minutes=7))
    transcript = parse(
        'event: DeviceStart {"location": "car"}\n'
        r"bot matches: You have 'Design review' at \d\d:\d\d \(in 5 minutes\)\."
        "\n"
        r"bot matches: Good (morning|afternoon|evening), Ada! .*"
        "\n"
        r"proactive matches: Reminder: 'Design review' starts at \d\d:\d\d \(in 5 minutes\)\."
        "\n",
        source="device_start_inside_the_lead",
    )
    await play(transcript, assistant)
