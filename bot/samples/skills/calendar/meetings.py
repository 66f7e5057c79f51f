"""Meetings, and the calendar file they are read from (JSON or iCalendar).

The JSON form (``.json``)::

    {"events": [
      {"id": "design-review", "title": "Design review",
       "start": "2026-11-23T10:00:00+01:00", "end": "2026-11-23T11:00:00+01:00",
       "location": "Room 4"}
    ]}

``start`` and ``end`` are ISO 8601 with a zone, or relative to the moment the file is read
(``"in 12 minutes"``, ``"tomorrow 09:30"`` in the user's zone; see
:mod:`bot.samples.skills.calendar.relative`), so a calendar can stay current on any day. The
iCalendar form (``.ics``) is what calendar apps export; see
:mod:`bot.samples.skills.calendar.ics` for what of it is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from bot.samples.skills.calendar import relative


@dataclass(frozen=True)
class Meeting:
    """One event of the calendar.

    Attributes:
        id: Its id in the calendar (``UID`` in iCalendar).
        title: What it is called.
        start: When it starts (UTC).
        end: When it ends (UTC), if known.
        location: Where, if known.
    """

    id: str
    title: str
    start: datetime
    end: datetime | None = None
    location: str | None = None


class CalendarSourceError(Exception):
    """The calendar file is missing or cannot be read; the message says which and why."""


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Annotated[str, Field(min_length=1, max_length=256)]
    title: Annotated[str, Field(min_length=1, max_length=256)]
    start: AwareDatetime
    end: AwareDatetime | None = None
    location: Annotated[str, Field(max_length=256)] | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _resolve_relative(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str) or not relative.is_relative(value):
            return value
        context = info.context or {}
        now = context.get("now") or datetime.now(UTC)
        return relative.resolve(value, now=now, zone=context.get("zone") or UTC)


class _Calendar(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    events: list[_Event]


def parse_json_calendar(
    text: str, *, now: datetime | None = None, zone: tzinfo = UTC
) -> list[Meeting]:
    """The meetings of a JSON calendar.

    Args:
        text: The calendar.
        now: The moment relative times count from; the current time when omitted.
        zone: The user's zone, for relative times of day (``tomorrow 09:30``).

    Raises:
        ValueError: It is not a calendar; the message names the first bad field.
    """
    try:
        calendar = _Calendar.model_validate_json(
            text, context={"now": now or datetime.now(UTC), "zone": zone}
        )
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        location = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{location}: {first['msg']}") from None
    return [
        Meeting(
            id=event.id,
            title=event.title,
            start=event.start.astimezone(UTC),
            end=event.end.astimezone(UTC) if event.end else None,
            location=event.location,
        )
        for event in calendar.events
    ]


async def read_calendar(
    path: Path, *, floating_zone: tzinfo = UTC, now: datetime | None = None
) -> list[Meeting]:
    """The meetings of a calendar file, by its suffix: ``.ics`` or JSON.

    Read at each call (in a thread), so an edited file counts at once, and relative times
    (JSON only) are resolved against ``now``.

    Args:
        path: The file.
        floating_zone: The user's zone: of iCalendar times that name none, and of relative
            times of day.
        now: The moment relative times count from; the current time when omitted.

    Raises:
        CalendarSourceError: The file is missing, unreadable or not a calendar.
    """
    from bot.samples.skills.calendar.ics import parse_ics

    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
    except OSError as error:
        raise CalendarSourceError(f"{path}: cannot be read ({type(error).__name__})") from None
    try:
        if path.suffix.lower() == ".ics":
            return parse_ics(text, floating_zone=floating_zone)
        return parse_json_calendar(text, now=now, zone=floating_zone)
    except ValueError as error:
        raise CalendarSourceError(f"{path}: not a calendar: {error}") from None


def starting_within(meetings: Sequence[Meeting], now: datetime, window: timedelta) -> list[Meeting]:
    """The meetings that start after ``now`` and no later than ``now + window``, soonest first."""
    return sorted(
        (meeting for meeting in meetings if now < meeting.start <= now + window),
        key=lambda meeting: (meeting.start, meeting.title),
    )


def next_meetings(meetings: Sequence[Meeting], now: datetime) -> list[Meeting]:
    """The meetings that start after ``now``, soonest first."""
    return sorted(
        (meeting for meeting in meetings if meeting.start > now),
        key=lambda meeting: (meeting.start, meeting.title),
    )
