"""The calendar skill: upcoming meetings from a calendar file, and reminders before them.

* ``DeviceStart`` (a car, a phone, a laptop starting up; routed by the event map): the
  meetings of the next hour are said at once ("You have 'Design review' at 10:00 (in 12
  minutes)."), and each gets a proactive reminder on the queue, due the lead time before it
  (``CALENDAR_REMINDER_LEAD_MINUTES``, or ``..._SECONDS``). A meeting already closer than the
  lead time gets its reminder at once: its lead time has passed, but the reminder is still
  due before the meeting starts.
* "what's next on my calendar?" answers with the next meeting; "... today?" lists the rest of
  today's. The skill ends after each answer.

The meetings come from ``CALENDAR_SOURCE_PATH`` (JSON or iCalendar), read at each request; a
JSON calendar's relative times (``in 12 minutes``) count from that moment.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from bot.dialogs.prompts import answer_text
from bot.dialogs.words import words
from bot.proactive.message import ConversationTarget, ProactiveMessage
from bot.samples.skills.calendar.meetings import (
    CalendarSourceError,
    Meeting,
    next_meetings,
    read_calendar,
    starting_within,
)
from bot.samples.skills.calendar.reminders import reminder_message
from bot.samples.skills.calendar.wording import clock_time, day_and_time, time_until, window_text
from bot.samples.skills.settings import load_assistant_settings
from bot.skills import Skill, SkillManifest
from bot.skills.parameters import TIMEZONE
from bot.time_zones import find_zone
from bot.turn import TurnContext, handles_event

logger = logging.getLogger(__name__)

DEVICE_START = "DeviceStart"
UPCOMING_TEXT = "You have '{title}' at {time} ({until})."
NOTHING_UPCOMING_TEXT = "Nothing on your calendar in {window}."
NEXT_TEXT = "Next on your calendar: '{title}' {when} ({until})."
NOTHING_NEXT_TEXT = "There is nothing coming up on your calendar."
TODAY_HEADER = "The rest of today:"
NOTHING_TODAY_TEXT = "Nothing more on your calendar today."
UNREADABLE_TEXT = "Sorry, I could not read your calendar."

Enqueue = Callable[[ProactiveMessage], Awaitable[object]]
"""Puts a proactive message on the queue."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def _enqueue(message: ProactiveMessage) -> object:
    # Imported here: the queue client is only needed when a reminder is due.
    from bot.proactive.enqueue import enqueue

    return await enqueue(message)


class CalendarConfiguration(BaseModel):
    """The calendar skill's ``configuration`` in the skills file.

    Attributes:
        lookahead_minutes: How far ahead ``DeviceStart`` looks (``lookaheadMinutes``).
    """

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="forbid"
    )

    lookahead_minutes: int = Field(60, ge=1, le=24 * 60)


class CalendarSkill(Skill):
    """Meetings from a calendar file; the proactive "meeting in 10 minutes".

    Args:
        manifest: Its entry in the skills file.
        configuration: Its :class:`CalendarConfiguration`.
        source_path: The calendar file; ``CALENDAR_SOURCE_PATH`` when omitted.
        reminder_lead: How long before a meeting its reminder comes (zero: no reminders);
            from the settings when omitted.
        enqueue: Puts reminders on the proactive queue.
        clock: The current time.
    """

    configuration_model = CalendarConfiguration
    configuration: CalendarConfiguration

    def __init__(
        self,
        manifest: SkillManifest,
        configuration: BaseModel | None = None,
        *,
        source_path: Path | None = None,
        reminder_lead: timedelta | None = None,
        enqueue: Enqueue = _enqueue,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        super().__init__(manifest, configuration)
        if source_path is None or reminder_lead is None:
            settings = load_assistant_settings()
            source_path = source_path or settings.calendar_path
            reminder_lead = settings.reminder_lead if reminder_lead is None else reminder_lead
        self.source_path = source_path
        self.reminder_lead = reminder_lead
        self._enqueue = enqueue
        self._clock = clock

    @property
    def lookahead(self) -> timedelta:
        """How far ahead ``DeviceStart`` looks."""
        return timedelta(minutes=self.configuration.lookahead_minutes)

    @handles_event(DEVICE_START)
    async def on_device_start(self, context: TurnContext) -> None:
        """Say the coming hour's meetings, and queue a reminder before each."""
        zone = self._zone(context)
        now = self._clock()
        meetings = await self._meetings(context, zone, now)
        if meetings is None:
            return
        upcoming = starting_within(meetings, now, self.lookahead)
        if not upcoming:
            await context.send_activity(
                NOTHING_UPCOMING_TEXT.format(window=window_text(self.lookahead))
            )
            return
        for meeting in upcoming:
            await context.send_activity(
                UPCOMING_TEXT.format(
                    title=meeting.title,
                    time=clock_time(meeting.start, zone),
                    until=time_until(meeting.start - now),
                )
            )
        target = _conversation_target(context)
        if target is None or self.reminder_lead <= timedelta(0):
            return
        for meeting in upcoming:
            await self._enqueue(reminder_message(target, meeting, self.reminder_lead, zone, now))

    async def on_message_activity(self, context: TurnContext) -> None:
        """Answer "what's next" (or "today"), then end."""
        zone = self._zone(context)
        now = self._clock()
        meetings = await self._meetings(context, zone, now)
        if meetings is not None:
            if "today" in words(answer_text(context)):
                await context.send_activity(_today(meetings, now, zone))
            else:
                await context.send_activity(_next(meetings, now, zone))
        await self.end(context)

    async def _meetings(
        self, context: TurnContext, zone: tzinfo, now: datetime
    ) -> list[Meeting] | None:
        try:
            return await read_calendar(self.source_path, floating_zone=zone, now=now)
        except CalendarSourceError as error:
            logger.warning("calendar skill: %s", error)
            await context.send_activity(UNREADABLE_TEXT)
            return None

    def _zone(self, context: TurnContext) -> tzinfo:
        name = self.parameter(context, TIMEZONE)
        return (find_zone(name) if name else None) or UTC


def _next(meetings: list[Meeting], now: datetime, zone: tzinfo) -> str:
    coming = next_meetings(meetings, now)
    if not coming:
        return NOTHING_NEXT_TEXT
    meeting = coming[0]
    return NEXT_TEXT.format(
        title=meeting.title,
        when=day_and_time(meeting.start, now, zone),
        until=time_until(meeting.start - now),
    )


def today_text(meetings: list[Meeting], now: datetime, zone: tzinfo) -> str:
    """The rest of today's meetings, one a line (or that there are none)."""
    return _today(meetings, now, zone)


def _today(meetings: list[Meeting], now: datetime, zone: tzinfo) -> str:
    today = now.astimezone(zone).date()
    rest = [
        meeting
        for meeting in next_meetings(meetings, now)
        if meeting.start.astimezone(zone).date() == today
    ]
    if not rest:
        return NOTHING_TODAY_TEXT
    lines = [TODAY_HEADER]
    lines.extend(f"- {clock_time(meeting.start, zone)} {meeting.title}" for meeting in rest)
    return "\n".join(lines)


def _conversation_target(context: TurnContext) -> ConversationTarget | None:
    activity = context.activity
    conversation = activity.conversation
    if not activity.channel_id or conversation is None or not conversation.id:
        return None
    return ConversationTarget(
        channel_id=activity.channel_id,
        conversation_id=conversation.id,
        tenant_id=conversation.tenant_id,
    )
