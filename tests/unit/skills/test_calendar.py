"""The calendar skill: reading calendars, wording, DeviceStart and its proactive reminders."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.proactive.message import ID_PATTERN, ConversationTarget, parse_message
from bot.samples.skills.calendar import (
    Meeting,
    read_calendar,
    relative,
    reminder_id,
    reminder_message,
)
from bot.samples.skills.calendar.ics import parse_ics
from bot.samples.skills.calendar.meetings import (
    next_meetings,
    parse_json_calendar,
    starting_within,
)
from bot.samples.skills.calendar.wording import day_and_time, time_until, window_text
from tests.unit.skills.harness import NOW, REMINDER_LEAD, AssistantWorld, write_calendar

BERLIN = ZoneInfo("Europe/Berlin")
TARGET = ConversationTarget(channel_id="msteams", conversation_id="a:1xyz", tenant_id="t-1")
MEETING = Meeting(id="design-review", title="Design review", start=NOW + timedelta(minutes=12))

ICS = """BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:utc@example.com
SUMMARY:Design review\\, round 2
DTSTART:20261123T100000Z
DTEND:20261123T110000Z
LOCATION:Room 4
END:VEVENT
BEGIN:VEVENT
UID:berlin@example.com
SUMMARY:Lunch with a very long title that the exporter folded over
  two lines
DTSTART;TZID=Europe/Berlin:20261123T120000
END:VEVENT
BEGIN:VEVENT
SUMMARY:Floating
DTSTART:20261123T150000
END:VEVENT
BEGIN:VEVENT
UID:holiday@example.com
SUMMARY:Holiday
DTSTART;VALUE=DATE:20261124
END:VEVENT
BEGIN:VEVENT
UID:cancelled@example.com
SUMMARY:Cancelled
STATUS:CANCELLED
DTSTART:20261123T130000Z
END:VEVENT
END:VCALENDAR
"""


def test_an_ics_calendar_gives_its_timed_events_in_utc() -> None:
    meetings = parse_ics(ICS, floating_zone=BERLIN)

    assert [(meeting.id, meeting.title) for meeting in meetings[:2]] == [
        ("utc@example.com", "Design review, round 2"),
        (
            "berlin@example.com",
            "Lunch with a very long title that the exporter folded over two lines",
        ),
    ]
    assert meetings[0].start == datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert meetings[0].end == datetime(2026, 11, 23, 11, tzinfo=UTC)
    assert meetings[0].location == "Room 4"
    assert meetings[1].start == datetime(2026, 11, 23, 11, tzinfo=UTC)
    assert meetings[2].title == "Floating"
    assert meetings[2].start == datetime(2026, 11, 23, 14, tzinfo=UTC)
    assert meetings[2].id.startswith("ics-")
    assert len(meetings) == 3  # the all-day and the cancelled event are skipped


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("BEGIN:VEVENT\nEND:VEVENT\n", "there is no BEGIN:VCALENDAR"),
        (
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=Mars/Base:20261123T100000\nEND:VEVENT\n",
            "line 4: TZID 'Mars/Base' is not an IANA time zone",
        ),
        ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:tomorrow\nEND:VEVENT\n", "line 4: 'tomorrow'"),
        ("BEGIN:VCALENDAR\nno colon here\n", "line 2: no ':'"),
    ],
)
def test_an_unreadable_ics_says_where(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_ics(text)


def test_a_json_calendar_needs_zones_on_its_times() -> None:
    meetings = parse_json_calendar(
        '{"events": [{"id": "m", "title": "M", "start": "2026-11-23T10:00:00+01:00"}]}'
    )
    assert meetings == [Meeting(id="m", title="M", start=datetime(2026, 11, 23, 9, tzinfo=UTC))]

    with pytest.raises(ValueError, match=r"events\.0\.start"):
        parse_json_calendar('{"events": [{"id": "m", "title": "M", "start": "2026-11-23T10:00"}]}')


def test_upcoming_meetings_are_those_after_now_within_the_window_soonest_first() -> None:
    later = Meeting(id="b", title="B", start=NOW + timedelta(minutes=50))
    past = Meeting(id="c", title="C", start=NOW - timedelta(minutes=1))
    far = Meeting(id="d", title="D", start=NOW + timedelta(hours=2))

    assert starting_within([later, past, far, MEETING], NOW, timedelta(hours=1)) == [MEETING, later]
    assert next_meetings([far, past, MEETING], NOW) == [MEETING, far]


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=20), "in less than a minute"),
        (timedelta(seconds=90), "in 2 minutes"),
        (timedelta(minutes=1), "in 1 minute"),
        (timedelta(seconds=717), "in 12 minutes"),
        (timedelta(minutes=61), "in 1 hour"),
        (timedelta(hours=30), "in 1 day"),
    ],
)
def test_time_until(delta: timedelta, text: str) -> None:
    assert time_until(delta) == text


def test_days_are_said_in_the_users_zone() -> None:
    late = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # 23:30 in Berlin

    assert day_and_time(late + timedelta(minutes=20), late, UTC) == "today at 22:50"
    assert day_and_time(late + timedelta(minutes=40), late, BERLIN) == "tomorrow at 00:10"
    assert day_and_time(late + timedelta(days=3), late, UTC) == "on Thu 26 Nov at 22:30"
    assert window_text(timedelta(hours=1)) == "the next hour"
    assert window_text(timedelta(minutes=90)) == "the next 90 minutes"


def test_a_reminder_id_is_stable_for_a_meeting_in_a_conversation() -> None:
    same = reminder_id(TARGET, MEETING)

    assert re.fullmatch(ID_PATTERN, same)
    assert same == reminder_id(TARGET, Meeting(id=MEETING.id, title="renamed", start=MEETING.start))
    moved = Meeting(id=MEETING.id, title=MEETING.title, start=MEETING.start + timedelta(hours=1))
    assert reminder_id(TARGET, moved) != same
    other = TARGET.model_copy(update={"conversation_id": "a:1other"})
    assert reminder_id(other, MEETING) != same
    assert "a:1xyz" not in same


def test_a_reminder_is_due_the_lead_before_the_meeting_and_expires_when_it_starts() -> None:
    message = reminder_message(TARGET, MEETING, timedelta(minutes=10), BERLIN)

    assert message.not_before == MEETING.start - timedelta(minutes=10)
    assert message.expires_at == MEETING.start
    assert message.conversation == TARGET
    assert [activity.text for activity in message.activity_list] == [
        "Reminder: 'Design review' starts at 11:00 (in 10 minutes)."
    ]
    assert parse_message(message.to_json()) == message  # a valid queue message on the wire


async def test_device_start_answers_at_once_and_queues_one_reminder(tmp_path: Path) -> None:
    world = AssistantWorld(write_calendar(tmp_path / "calendar.json", NOW))
    channel = world.channel()
    await channel.open()

    await channel.send_event("DeviceStart", None)

    texts = [activity.text for activity in channel.sender.activities]
    assert "You have 'Design review' at 10:00 (in 12 minutes)." in texts
    (message,) = world.queue.messages
    assert message.not_before == NOW + timedelta(minutes=12) - REMINDER_LEAD
    assert message.conversation is not None
    assert message.conversation.conversation_id == channel.conversation.id
    await world.queue.drain()


async def test_a_repeated_device_start_queues_the_same_id_so_one_reminder_arrives(
    tmp_path: Path,
) -> None:
    world = AssistantWorld(write_calendar(tmp_path / "calendar.json", NOW))
    channel = world.channel()
    await channel.open()

    await channel.send_event("DeviceStart", None)
    await channel.send_event("DeviceStart", None)
    await world.queue.drain()

    first, second = world.queue.messages
    assert first.id == second.id
    reminders = [
        activity.text
        for activity in channel.sender.activities
        if activity.text and activity.text.startswith("Reminder:")
    ]
    assert reminders == ["Reminder: 'Design review' starts at 10:00 (in 12 minutes)."]


async def test_a_meeting_nearer_than_the_lead_gets_its_reminder_at_once(tmp_path: Path) -> None:
    # Issue 12's case: the meeting is 5 minutes ahead, the lead is 10 minutes.
    calendar = write_calendar(tmp_path / "calendar.json", NOW - timedelta(minutes=7))
    world = AssistantWorld(calendar, reminder_lead=timedelta(minutes=10))
    channel = world.channel()

    await channel.send_event("DeviceStart", None)
    await world.queue.drain()

    (message,) = world.queue.messages
    assert message.not_before is None  # due at once: the queue makes it visible now
    assert message.expires_at == NOW + timedelta(minutes=5)
    texts = channel.sender.texts
    assert texts[0] == "You have 'Design review' at 09:53 (in 5 minutes)."
    assert "Reminder: 'Design review' starts at 09:53 (in 5 minutes)." in texts


def test_a_reminder_whose_lead_has_passed_is_due_now_and_says_what_is_left() -> None:
    now = MEETING.start - timedelta(minutes=4)

    late = reminder_message(TARGET, MEETING, timedelta(minutes=10), UTC, now)
    on_time = reminder_message(TARGET, MEETING, timedelta(minutes=3), UTC, now)

    assert late.not_before is None
    assert late.activity_list[0].text == "Reminder: 'Design review' starts at 10:00 (in 4 minutes)."
    assert on_time.not_before == MEETING.start - timedelta(minutes=3)
    assert on_time.activity_list[0].text == (
        "Reminder: 'Design review' starts at 10:00 (in 3 minutes)."
    )
    assert parse_message(late.to_json()) == late


async def test_nothing_in_the_next_hour_is_said_so(tmp_path: Path) -> None:
    world = AssistantWorld(write_calendar(tmp_path / "calendar.json", NOW + timedelta(hours=2)))
    channel = world.channel()

    await channel.send_event("DeviceStart", None)

    assert channel.sender.activities[0].text == "Nothing on your calendar in the next hour."
    assert world.queue.messages == []


async def test_an_ics_calendar_works_as_a_json_one(tmp_path: Path) -> None:
    path = tmp_path / "calendar.ics"
    path.write_text(
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nSUMMARY:Stand-up\n"
        "DTSTART:20261123T100500Z\nEND:VEVENT\nEND:VCALENDAR\n",
        encoding="utf-8",
    )
    world = AssistantWorld(path)
    channel = world.channel()

    await channel.say("what's next on my calendar?")

    assert channel.sender.texts == [
        "Next on your calendar: 'Stand-up' today at 10:05 (in 17 minutes)."
    ]


async def test_an_unreadable_calendar_is_said_and_the_skill_ends(tmp_path: Path) -> None:
    world = AssistantWorld(tmp_path / "missing.json")
    channel = world.channel()

    await channel.say("what's next on my calendar?")
    await channel.say("hi")

    assert channel.sender.texts == [
        "Sorry, I could not read your calendar.",
        'I don\'t know how to help with "hi" yet. Say "help" to see what I can do.',
    ]


SAMPLE_CALENDAR = Path(__file__).resolve().parents[3] / "config" / "calendar.sample.json"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 12 minutes", NOW + timedelta(minutes=12)),
        ("In 1 minute", NOW + timedelta(minutes=1)),
        ("in 1 hour 30 minutes", NOW + timedelta(minutes=90)),
        ("in  2 days", NOW + timedelta(days=2)),
        ("tomorrow 09:30", datetime(2026, 11, 24, 8, 30, tzinfo=UTC)),  # 09:30 in Berlin
        ("today 7:05", datetime(2026, 11, 23, 6, 5, tzinfo=UTC)),
    ],
)
def test_relative_times_count_from_now_in_the_users_zone(text: str, expected: datetime) -> None:
    assert relative.resolve(text, now=NOW, zone=BERLIN) == expected


def test_tomorrow_is_the_users_tomorrow() -> None:
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # already the 24th in Berlin

    assert relative.resolve("tomorrow 09:30", now=late, zone=BERLIN) == datetime(
        2026, 11, 25, 8, 30, tzinfo=UTC
    )
    assert relative.resolve("tomorrow 09:30", now=late, zone=UTC) == datetime(
        2026, 11, 24, 9, 30, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["in a while", "in 12", "soon", "tomorrow 25:00", "today"])
def test_an_unreadable_relative_time_names_the_field_and_the_forms(text: str) -> None:
    document = json.dumps({"events": [{"id": "m", "title": "M", "start": text}]})

    with pytest.raises(ValueError, match=r"events\.0\.start: .*'in 12 minutes'"):
        parse_json_calendar(document, now=NOW)


def test_absolute_and_relative_times_mix_in_one_json_calendar() -> None:
    document = json.dumps(
        {
            "events": [
                {"id": "a", "title": "A", "start": "2026-11-23T10:00:00+01:00"},
                {"id": "r", "title": "R", "start": "in 5 minutes", "end": "in 35 minutes"},
            ]
        }
    )

    absolute, moving = parse_json_calendar(document, now=NOW, zone=BERLIN)

    assert absolute.start == datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert (moving.start, moving.end) == (NOW + timedelta(minutes=5), NOW + timedelta(minutes=35))


@pytest.mark.parametrize(
    ("now", "zone"),
    [
        (NOW, "UTC"),
        (datetime(2027, 3, 28, 0, 55, tzinfo=UTC), "Europe/Berlin"),  # the spring-forward night
        (datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC), "Pacific/Kiritimati"),
        (datetime(2028, 2, 29, 7, 50, tzinfo=UTC), "America/Los_Angeles"),
    ],
)
async def test_the_sample_calendar_has_a_meeting_within_the_hour_on_any_day(
    now: datetime, zone: str
) -> None:
    meetings = await read_calendar(SAMPLE_CALENDAR, floating_zone=ZoneInfo(zone), now=now)

    upcoming = starting_within(meetings, now, timedelta(hours=1))
    assert upcoming
    # With the default 10-minute lead the first reminder is due within five minutes.
    first = reminder_message(TARGET, upcoming[0], timedelta(minutes=10), ZoneInfo(zone), now)
    assert first.not_before is not None
    assert now < first.not_before <= now + timedelta(minutes=5)
    assert next_meetings(meetings, now + timedelta(hours=2))  # and more to come tomorrow


async def test_device_start_with_the_sample_calendar_answers_and_reminds(tmp_path: Path) -> None:
    world = AssistantWorld(SAMPLE_CALENDAR, reminder_lead=timedelta(minutes=10))
    channel = world.channel()

    await channel.send_event("DeviceStart", None)
    await world.queue.drain()

    texts = channel.sender.texts
    assert texts[:2] == [
        "You have 'Design review' at 10:00 (in 12 minutes).",
        "You have '1:1 with Grace' at 10:33 (in 45 minutes).",
    ]
    assert [message.not_before for message in world.queue.messages] == [
        NOW + timedelta(minutes=2),
        NOW + timedelta(minutes=35),
    ]
