"""Relative times in a JSON calendar: ``in 12 minutes``, ``tomorrow 09:30``.

A calendar whose times are relative is always current: the sample calendar
(``config/calendar.sample.json``) has a meeting 12 minutes ahead whenever it is read, so the
``DeviceStart`` scenario works on any day without editing dates. The forms (case does not
matter):

* ``in <n> <unit>`` with ``minute(s)``, ``hour(s)`` or ``day(s)``, and sums of them
  (``in 1 hour 30 minutes``): that long after the moment the calendar is read;
* ``today HH:MM`` and ``tomorrow HH:MM``: that time of day in the user's time zone (the
  activity's ``localTimezone``, else ``DEFAULT_TIMEZONE``), which may already be past for
  ``today``.

A relative time is resolved each time the calendar is read, so its meeting moves with the
clock: a second ``DeviceStart`` a minute later sees it 12 minutes ahead again, and its reminder
(whose id holds the start) is a new one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, tzinfo

FORMS = "'in 12 minutes', 'in 1 hour 30 minutes', 'today 16:00' or 'tomorrow 09:30'"
"""The forms, as error messages name them."""

_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_AMOUNT = re.compile(r"(\d{1,5})\s*(minute|hour|day)s?", re.IGNORECASE)
_IN = re.compile(r"in((?:\s+\d{1,5}\s*(?:minute|hour|day)s?)+)", re.IGNORECASE)
_DAY_AND_TIME = re.compile(r"(today|tomorrow)\s+([01]?\d|2[0-3]):([0-5]\d)", re.IGNORECASE)


def is_relative(text: str) -> bool:
    """Whether ``text`` is meant as a relative time: it starts with a letter.

    ISO 8601 times start with a digit, so anything else is read (or refused) as relative.
    """
    stripped = text.strip()
    return bool(stripped) and stripped[0].isalpha()


def resolve(text: str, *, now: datetime, zone: tzinfo) -> datetime:
    """The moment (UTC) a relative time names.

    Args:
        text: ``in 12 minutes``, ``today 16:00``, ``tomorrow 09:30``...
        now: The moment the calendar is read (aware).
        zone: The user's time zone, for ``today`` and ``tomorrow``.

    Raises:
        ValueError: ``text`` is none of the forms; the message lists them.
    """
    stripped = " ".join(text.split())
    match = _IN.fullmatch(stripped)
    if match:
        offset = sum(
            (int(amount) * _UNITS[unit.lower()] for amount, unit in _AMOUNT.findall(match[1])),
            timedelta(),
        )
        return (now + offset).astimezone(UTC)
    match = _DAY_AND_TIME.fullmatch(stripped)
    if match:
        day = now.astimezone(zone).date()
        if match[1].lower() == "tomorrow":
            day += timedelta(days=1)
        local = datetime.combine(day, time(int(match[2]), int(match[3])), tzinfo=zone)
        return local.astimezone(UTC)
    raise ValueError(f"{text!r} is not a relative time ({FORMS})")
