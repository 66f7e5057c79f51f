"""Reminders made, listed, paused and stopped in chat, against the Cosmos DB emulator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.references import ReferenceStore
from bot.schedules.chat import handle_schedule_command
from bot.schedules.service import ScheduleService
from bot.schedules.store import ScheduleStore
from bot.schema import Activity
from bot.settings import Settings
from bot.turn import InMemorySender, TurnContext

pytestmark = pytest.mark.services

SERVICE_URL = "https://smba.trafficmanager.net/emea/"
CLAIMS = {"aud": "00000000-0000-0000-0000-0000000000b0", "iss": "https://api.botframework.com"}


class Chat:
    """One Teams group chat with the bot, its reference stored as capture stores it."""

    def __init__(self) -> None:
        self.conversation_id = f"19:{uuid.uuid4().hex}@thread.v2"
        self.service = ScheduleService(store=ScheduleStore(), references=ReferenceStore())

    def activity(self, text: str, zone: str | None) -> Activity:
        wire: dict[str, Any] = {
            "type": "message",
            "id": uuid.uuid4().hex,
            "text": text,
            "channelId": "msteams",
            "serviceUrl": SERVICE_URL,
            "from": {"id": "29:ada", "name": "Ada"},
            "recipient": {"id": "28:bot", "name": "Bot"},
            "conversation": {
                "id": self.conversation_id,
                "conversationType": "groupChat",
                "isGroup": True,
                "tenantId": "tenant-1",
            },
        }
        if zone:
            wire["localTimezone"] = zone
        return Activity.from_wire(wire)

    async def start(self) -> None:
        context = TurnContext(self.activity("hi", None), InMemorySender())
        await ReferenceStore().capture(context.reference, CLAIMS, now=datetime.now(UTC))

    async def say(self, text: str, zone: str | None = "Europe/Berlin") -> str:
        sender = InMemorySender()
        handled = await handle_schedule_command(
            TurnContext(self.activity(text, zone), sender), service=self.service
        )
        assert handled, text
        (reply,) = sender.sent
        return reply.activity.text or ""

    async def schedules(self) -> list[dict[str, Any]]:
        page = await self.service.list(conversation_id=self.conversation_id)
        return [schedule.to_api() for schedule in page.schedules]


@pytest.fixture
async def chat(bot_settings: Settings) -> Chat:
    del bot_settings
    chat = Chat()
    await chat.start()
    return chat


async def test_a_reminder_made_in_chat_targets_that_chat_in_the_users_zone(chat: Chat) -> None:
    reply = await chat.say("remind me every Monday at 12:00 to submit my timesheet")

    assert reply.startswith(
        'OK, reminder 1: every Monday at 12:00 (Europe/Berlin): "submit my timesheet".'
    )
    (stored,) = await chat.schedules()
    assert stored["conversation"] == {
        "channelId": "msteams",
        "conversationId": chat.conversation_id,
        "tenantId": "tenant-1",
    }
    assert (stored["cron"], stored["timeZone"]) == ("0 0 12 * * 1", "Europe/Berlin")
    assert stored["activities"] == [{"type": "message", "text": "Reminder: submit my timesheet"}]
    next_run = datetime.fromisoformat(stored["nextRunAt"]).astimezone(ZoneInfo("Europe/Berlin"))
    assert (next_run.strftime("%a %H:%M")) == "Mon 12:00"
    assert f"on {next_run:%a %d %b %Y} at 12:00" in reply


async def test_list_pause_resume_and_stop_by_number(chat: Chat) -> None:
    await chat.say("remind me every Monday at 12:00 to submit my timesheet")
    second = await chat.say("every day at 8:30 send me a briefing", zone=None)
    assert second.startswith('OK, reminder 2: every day at 08:30 (UTC): "a briefing".')

    listing = await chat.say("list my reminders")
    assert listing.splitlines()[0] == "Reminders in this chat:"
    assert listing.splitlines()[1].startswith(
        '1. every Monday at 12:00 (Europe/Berlin): "submit my timesheet", next on Mon'
    )
    assert listing.splitlines()[2].startswith('2. every day at 08:30 (UTC): "a briefing", next')

    assert (await chat.say("pause reminder 2")).startswith("Paused reminder 2:")
    assert "(paused)" in (await chat.say("list my reminders")).splitlines()[2]
    assert (await chat.say("resume reminder 2")).startswith("Resumed reminder 2:")

    assert (await chat.say("stop reminder 1")).startswith(
        'Stopped reminder 1: every Monday at 12:00 (Europe/Berlin): "submit my timesheet"'
    )
    (remaining,) = await chat.schedules()
    assert remaining["name"] == "a briefing"
    assert remaining["enabled"] is True
    # A briefing is composed when it fires: the schedule carries the event, not fixed text.
    assert remaining["event"] == {"name": "Briefing", "value": {"timeZone": "UTC"}}
    assert "activities" not in remaining
    assert "There is no reminder 5 here (there is only 1)" in await chat.say("stop reminder 5")


async def test_an_empty_list_shows_an_example(chat: Chat) -> None:
    assert await chat.say("list my reminders") == (
        'There are no reminders in this chat. For example: "remind me every Monday at 12:00 '
        'to submit my timesheet"'
    )


async def test_a_reminder_more_frequent_than_allowed_is_refused(chat: Chat) -> None:
    reply = await chat.say("every 5 seconds send me ping")
    assert reply.startswith("Sorry, I could not set that reminder: two occurrences are only 5 s")
    assert "at most every 60 s" in reply
    assert await chat.schedules() == []


async def test_a_chat_the_bot_never_stored_gets_an_explanation(bot_settings: Settings) -> None:
    chat = Chat()  # never started: no reference stored
    reply = await chat.say("remind me every day at 9 to stretch")
    assert reply.startswith("Sorry, I could not set that reminder: conversation:")
    assert await chat.schedules() == []
