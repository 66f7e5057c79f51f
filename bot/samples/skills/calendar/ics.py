"""The part of iCalendar (RFC 5545) the calendar skill reads: single timed events.

Read from each ``VEVENT``: ``UID``, ``SUMMARY``, ``DTSTART``, ``DTEND``, ``LOCATION`` and
``STATUS``. Times may be UTC (``...Z``), in a named IANA zone (``DTSTART;TZID=Europe/Berlin:``)
or floating (no zone: the user's). Not read, on purpose, to stay small: recurrence rules
(``RRULE``: only the first occurrence counts), ``VTIMEZONE`` definitions (zones must be IANA
names), all-day events (``VALUE=DATE``: skipped, they are not "in 10 minutes") and cancelled
events (``STATUS:CANCELLED``: skipped).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo

from bot.samples.skills.calendar.meetings import Meeting
from bot.time_zones import find_zone

_DATE = re.compile(r"\d{8}")
_ESCAPES = {"n": "\n", "N": "\n", ",": ",", ";": ";", "\\": "\\"}


def parse_ics(text: str, *, floating_zone: tzinfo = UTC) -> list[Meeting]:
    """The timed events of an iCalendar text.

    Args:
        text: The calendar.
        floating_zone: The zone of times that name none.

    Raises:
        ValueError: A line or a time cannot be read; the message says which line.
    """
    meetings: list[Meeting] = []
    event: dict[str, tuple[dict[str, str], str]] | None = None
    if not text.strip():
        raise ValueError("the file is empty")
    for index, (number, (name, parameters, value)) in enumerate(_content_lines(text)):
        if index == 0 and (name, value.upper()) != ("BEGIN", "VCALENDAR"):
            raise ValueError("there is no BEGIN:VCALENDAR at the start")
        if name == "BEGIN" and value.upper() == "VEVENT":
            event = {}
        elif name == "END" and value.upper() == "VEVENT" and event is not None:
            meeting = _meeting(event, floating_zone, number)
            if meeting is not None:
                meetings.append(meeting)
            event = None
        elif event is not None and name not in event:
            event[name] = (parameters, value)
    return meetings


def _content_lines(text: str) -> Iterator[tuple[int, tuple[str, dict[str, str], str]]]:
    """Unfolded content lines: (line number, (NAME, parameters, value))."""
    logical: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if raw[:1] in (" ", "\t") and logical:
            start, head = logical[-1]
            logical[-1] = (start, head + raw[1:])
        elif raw.strip():
            logical.append((number, raw))
    for number, line in logical:
        head, separator, value = line.partition(":")
        if not separator:
            raise ValueError(f"line {number}: no ':' between the name and the value")
        name, *parameter_parts = head.split(";")
        parameters: dict[str, str] = {}
        for part in parameter_parts:
            key, _, parameter_value = part.partition("=")
            parameters[key.upper()] = parameter_value.strip('"')
        yield number, (name.strip().upper(), parameters, value)


def _meeting(
    event: dict[str, tuple[dict[str, str], str]], floating_zone: tzinfo, line: int
) -> Meeting | None:
    if "DTSTART" not in event:
        raise ValueError(f"line {line}: an event without DTSTART")
    if _text(event, "STATUS").upper() == "CANCELLED":
        return None
    start_parameters, start_value = event["DTSTART"]
    if start_parameters.get("VALUE", "").upper() == "DATE" or _DATE.fullmatch(start_value):
        return None
    start = _time(start_parameters, start_value, floating_zone, line)
    end = None
    if "DTEND" in event:
        end_parameters, end_value = event["DTEND"]
        end = _time(end_parameters, end_value, floating_zone, line)
    title = _text(event, "SUMMARY") or "(no title)"
    uid = _text(event, "UID") or _derived_id(title, start)
    location = _text(event, "LOCATION") or None
    return Meeting(id=uid, title=title, start=start, end=end, location=location)


def _text(event: dict[str, tuple[dict[str, str], str]], name: str) -> str:
    if name not in event:
        return ""
    value = event[name][1]
    out: list[str] = []
    characters = iter(value)
    for character in characters:
        if character == "\\":
            following = next(characters, "")
            out.append(_ESCAPES.get(following, following))
        else:
            out.append(character)
    return "".join(out).strip()


def _time(parameters: dict[str, str], value: str, floating_zone: tzinfo, line: int) -> datetime:
    text = value.strip()
    utc = text.endswith("Z")
    try:
        moment = datetime.strptime(text.removesuffix("Z"), "%Y%m%dT%H%M%S")
    except ValueError:
        raise ValueError(f"line {line}: {text!r} is not an iCalendar date-time") from None
    if utc:
        return moment.replace(tzinfo=UTC)
    zone_name = parameters.get("TZID")
    zone: tzinfo = floating_zone
    if zone_name:
        found = find_zone(zone_name)
        if found is None:
            raise ValueError(f"line {line}: TZID {zone_name!r} is not an IANA time zone")
        zone = found
    return moment.replace(tzinfo=zone).astimezone(UTC)


def _derived_id(title: str, start: datetime) -> str:
    digest = hashlib.sha256(f"{title}\n{start.isoformat()}".encode()).hexdigest()
    return f"ics-{digest[:16]}"
