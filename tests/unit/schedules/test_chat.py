"""The chat handler's pure parts: the user's zone, and answers that need no storage."""

from __future__ import annotations

from typing import Any

import pytest

from bot.references import ReferenceStore
from bot.schedules.chat import HELP_TEXT, handle_schedule_command
from bot.schedules.service import ScheduleService
from bot.schedules.store import ScheduleStore
from bot.schema import Activity
from bot.time_zones import user_time_zone
from bot.turn import InMemorySender, TurnContext


def message(text: str | None, **fields: Any) -> Activity:
    return Activity.from_wire(
        {
            "type": "message",
            "text": text,
            "channelId": "msteams",
            "serviceUrl": "https://smba.trafficmanager.net/emea/",
            "conversation": {"id": "a:1"},
            "from": {"id": "29:user"},
            "recipient": {"id": "28:bot"},
            **fields,
        }
    )


class Unused(ScheduleService):
    """A service whose use fails the test: these answers must not touch storage."""

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("_") or name in ("store",):
            return super().__getattribute__(name)
        raise AssertionError(f"the service was used: {name}")


async def reply_to(text: str | None, **fields: Any) -> tuple[bool, list[str]]:
    sender = InMemorySender()
    context = TurnContext(message(text, **fields), sender)
    handled = await handle_schedule_command(
        context, service=Unused(store=ScheduleStore(), references=ReferenceStore())
    )
    return handled, [sent.activity.text or "" for sent in sender.sent]


@pytest.mark.parametrize(
    ("fields", "zone"),
    [
        ({"localTimezone": "Europe/Berlin"}, "Europe/Berlin"),
        ({"entities": [{"type": "clientInfo", "timezone": "Asia/Tokyo"}]}, "Asia/Tokyo"),
        (
            {
                "localTimezone": "Not/AZone",
                "entities": [{"type": "clientInfo", "timezone": "America/Chicago"}],
            },
            "America/Chicago",
        ),
        ({"localTimezone": ""}, "UTC"),
        ({}, "UTC"),
    ],
)
def test_the_users_time_zone(fields: dict[str, Any], zone: str) -> None:
    assert user_time_zone(message("hi", **fields)) == zone


def test_the_default_zone_is_a_parameter() -> None:
    assert user_time_zone(message("hi"), "Europe/London") == "Europe/London"


async def test_other_messages_are_left_to_the_bot() -> None:
    assert await reply_to("hello there") == (False, [])
    assert await reply_to(None) == (False, [])


async def test_other_activity_types_are_left_to_the_bot() -> None:
    sender = InMemorySender()
    event = Activity.from_wire({**message("list my reminders").to_wire(), "type": "event"})
    assert not await handle_schedule_command(
        TurnContext(event, sender),
        service=Unused(store=ScheduleStore(), references=ReferenceStore()),
    )


async def test_a_command_that_is_not_understood_says_what_and_shows_an_example() -> None:
    handled, replies = await reply_to("remind me to call mom tomorrow at 9")
    assert handled
    assert len(replies) == 1
    assert "one-off reminders" in replies[0]
    assert 'For example: "remind me every Monday at 12:00 to submit my timesheet"' in replies[0]


async def test_help() -> None:
    assert await reply_to("help reminders") == (True, [HELP_TEXT])


async def test_the_bots_mention_is_ignored() -> None:
    handled, replies = await reply_to(
        "<at>Bot</at> remind me every day at 25 to sleep",
        entities=[{"type": "mention", "text": "<at>Bot</at>", "mentioned": {"id": "28:bot"}}],
    )
    assert handled
    assert '"25" is not a time of day' in replies[0]
