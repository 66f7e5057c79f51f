"""NCRONTAB expressions, as the Azure Functions timer trigger reads them, and their next run.

An expression has 6 fields, ``{second} {minute} {hour} {day} {month} {day-of-week}``, or the
classic 5 (no seconds; the second is then 0). Each field is ``*``, a value, a range ``a-b``,
a step ``*/n``, ``a-b/n`` or ``a/n`` (from ``a`` to the field's maximum), or a comma list of
these. Months may be named ``Jan``..``Dec`` and days of the week ``Sun``..``Sat`` (three-letter
or full names, any case). The day of the week runs 0-6 with 0 = Sunday; 7 is Sunday too.

Day-of-month and day-of-week together: a day must match BOTH (``0 0 9 13 * Fri`` runs only on
Friday the 13th). This is how the NCrontab library behind the Functions timer trigger works
(``CrontabSchedule`` finds the next date from the other fields, then keeps it only if its day
of the week is allowed); classic Vixie cron instead runs when EITHER restricted field matches.

Time zones and daylight saving time: fields are matched against the wall-clock time of the
given zone and occurrences are returned in UTC.

- A wall-clock time that does not exist (the spring-forward gap) fires at the first instant
  after the gap: ``0 30 2 * * *`` in Europe/Berlin on 2024-03-31 fires at 03:00 local. Every
  time inside one gap fires at that same instant, so it fires once.
- A wall-clock time that occurs twice (fall back) fires once, at its first occurrence; the
  repeated hour does not fire again.

Evaluated by hand rather than with ``croniter``: croniter ORs day-of-month with day-of-week by
default, fires a repeated fall-back time twice, and reads seconds last unless told otherwise.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["CronError", "CronExpression"]

_ONE_SECOND = timedelta(seconds=1)
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
"""The longest each month can be (February 29 in leap years); index 0 unused."""


class CronError(ValueError):
    """An expression that is not valid NCRONTAB; the message names the wrong field."""


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    """Full names of the values low..high, matched in any case, whole or first three letters."""

    def value(self, text: str, element: str) -> int:
        if not text:
            raise CronError(f"{self.name} field: {element!r}: a value is missing")
        digits = text.isascii() and text.isdigit()
        number = int(text) if digits else self._named(text, element)
        # 7 is accepted as Sunday in the day-of-week field, as in most crons.
        high = 7 if self.name == "day-of-week" else self.high
        if not self.low <= number <= high:
            raise CronError(
                f"{self.name} field: {element!r}: {number} is outside {self.low}-{self.high}"
            )
        return number

    def _named(self, text: str, element: str) -> int:
        lowered = text.lower()
        for offset, full in enumerate(self.names):
            if lowered in (full.lower(), full[:3].lower()):
                return self.low + offset
        if self.names:
            allowed = ", ".join(full[:3] for full in self.names)
            raise CronError(f"{self.name} field: {element!r}: {text!r} is not one of {allowed}")
        raise CronError(f"{self.name} field: {element!r}: {text!r} is not a number")


_SECOND = _FieldSpec("second", 0, 59)
_MINUTE = _FieldSpec("minute", 0, 59)
_HOUR = _FieldSpec("hour", 0, 23)
_DAY = _FieldSpec("day-of-month", 1, 31)
_MONTH = _FieldSpec(
    "month",
    1,
    12,
    (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
)
_WEEKDAY = _FieldSpec(
    "day-of-week",
    0,
    6,
    ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"),
)
_SIX_FIELDS = (_SECOND, _MINUTE, _HOUR, _DAY, _MONTH, _WEEKDAY)


def _parse_field(spec: _FieldSpec, text: str) -> tuple[int, ...]:
    values: set[int] = set()
    for element in text.split(","):
        values.update(_parse_element(spec, element))
    if spec is _WEEKDAY and 7 in values:
        values.discard(7)
        values.add(0)
    return tuple(sorted(values))


def _parse_element(spec: _FieldSpec, element: str) -> range:
    if not element:
        raise CronError(f"{spec.name} field: empty list element")
    base, slash, step_text = element.partition("/")
    step = 1
    if slash:
        if not (step_text.isascii() and step_text.isdigit()) or int(step_text) == 0:
            raise CronError(f"{spec.name} field: {element!r}: the step must be a whole number > 0")
        step = int(step_text)
    if base == "*":
        return range(spec.low, spec.high + 1, step)
    first_text, dash, last_text = base.partition("-")
    first = spec.value(first_text, element)
    if dash:
        last = spec.value(last_text, element)
        if last < first:
            raise CronError(f"{spec.name} field: {element!r}: the range runs backwards")
    else:
        # "a/n" runs from a to the end of the field, as in NCrontab; a bare "a" is just a.
        last = max(first, spec.high) if slash else first
    return range(first, last + 1, step)


def _next_value(allowed: Sequence[int], current: int) -> int | None:
    """The smallest allowed value greater than ``current``, if any."""
    index = bisect_right(allowed, current)
    return allowed[index] if index < len(allowed) else None


@dataclass(frozen=True)
class CronExpression:
    """A parsed NCRONTAB expression: the allowed values of each field, sorted.

    Build it with :meth:`parse`; ask for occurrences with :meth:`next_after`.
    """

    text: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]
    """Days of the week, 0 = Sunday."""

    @classmethod
    def parse(cls, text: str) -> CronExpression:
        """Parse a 6-field (seconds first) or classic 5-field expression.

        Raises:
            CronError: The expression is not valid; the message names the wrong field.
        """
        parts = text.split()
        if len(parts) == 5:
            parts = ["0", *parts]
        elif len(parts) != 6:
            raise CronError(
                f"expected 6 fields ({{second}} {{minute}} {{hour}} {{day}} {{month}} "
                f"{{day-of-week}}) or 5 (without seconds), got {len(parts)} in {text!r}"
            )
        fields = [_parse_field(spec, part) for spec, part in zip(_SIX_FIELDS, parts, strict=True)]
        expression = cls(text, *fields)
        if expression.days[0] > max(_DAYS_IN_MONTH[month] for month in expression.months):
            raise CronError(
                f"day-of-month field: {parts[3]!r} never occurs in the months {parts[4]!r}"
            )
        return expression

    def matches(self, wall: datetime) -> bool:
        """Whether a wall-clock time (its fields, whatever its zone) is on the schedule."""
        return (
            wall.second in self.seconds
            and wall.minute in self.minutes
            and wall.hour in self.hours
            and wall.day in self.days
            and wall.month in self.months
            and wall.isoweekday() % 7 in self.weekdays
        )

    def next_after(self, moment: datetime, tz: tzinfo | None = None) -> datetime:
        """The first occurrence strictly after ``moment``.

        Args:
            moment: An aware datetime.
            tz: The zone whose wall-clock time the fields describe (a ``ZoneInfo``); UTC if
                None. Daylight saving time follows the rules in the module docstring.

        Returns:
            The occurrence, as an aware datetime in UTC.

        Raises:
            ValueError: ``moment`` is naive.
        """
        if moment.utcoffset() is None:
            raise ValueError("next_after needs an aware datetime (with a tzinfo)")
        if tz is None:
            wall = moment.astimezone(UTC).replace(tzinfo=None)
            return self._next_wall(wall).replace(tzinfo=UTC)
        local = moment.astimezone(tz)
        wall = local.replace(tzinfo=None)
        if local.fold == 1:
            # Second pass through a repeated (fall-back) hour: its wall-clock times fired on
            # the first pass, so look on from where the repetition ends.
            wall = _repeat_end(moment, local, tz) - _ONE_SECOND
        return _to_utc(self._next_wall(wall), tz)

    def _next_wall(self, after: datetime) -> datetime:
        """The first naive wall-clock time strictly after ``after`` that is on the schedule.

        Moves the largest mismatching field to its next allowed value (carrying into the
        next unit when there is none) and resets the smaller fields, until all match.
        """
        current = after.replace(microsecond=0) + _ONE_SECOND
        while True:
            if current.month not in self.months:
                month = _next_value(self.months, current.month)
                if month is None:
                    current = datetime(current.year + 1, self.months[0], 1)
                else:
                    current = datetime(current.year, month, 1)
            elif current.day not in self.days or current.isoweekday() % 7 not in self.weekdays:
                current = datetime(current.year, current.month, current.day) + timedelta(days=1)
            elif current.hour not in self.hours:
                hour = _next_value(self.hours, current.hour)
                start_of_day = datetime(current.year, current.month, current.day)
                current = (
                    start_of_day + timedelta(days=1)
                    if hour is None
                    else start_of_day.replace(hour=hour)
                )
            elif current.minute not in self.minutes:
                minute = _next_value(self.minutes, current.minute)
                start_of_hour = current.replace(minute=0, second=0)
                current = (
                    start_of_hour + timedelta(hours=1)
                    if minute is None
                    else start_of_hour.replace(minute=minute)
                )
            elif current.second not in self.seconds:
                second = _next_value(self.seconds, current.second)
                start_of_minute = current.replace(second=0)
                current = (
                    start_of_minute + timedelta(minutes=1)
                    if second is None
                    else start_of_minute.replace(second=second)
                )
            else:
                return current


def _to_utc(wall: datetime, tz: tzinfo) -> datetime:
    """The instant a wall-clock time fires: its first occurrence, or the end of its gap."""
    earlier = wall.replace(tzinfo=tz, fold=0)
    instant = earlier.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == wall:
        return instant
    # In a gap the two folds read the wall time with the offsets before and after the jump,
    # giving two instants on either side of it.
    other = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    return _offset_change(tz, min(instant, other), max(instant, other))


def _repeat_end(moment: datetime, local: datetime, tz: tzinfo) -> datetime:
    """The naive wall-clock time at which the repeated hour that ``local`` is in ends."""
    first_pass = local.replace(fold=0).astimezone(UTC)
    repeated = moment - first_pass
    change = _offset_change(tz, first_pass, moment)
    return change.astimezone(tz).replace(tzinfo=None) + repeated


def _offset_change(tz: tzinfo, start: datetime, end: datetime) -> datetime:
    """The first whole-second instant in (start, end] with the UTC offset ``end`` has.

    The offset at ``start`` must differ from the one at ``end``. Zone transitions fall on
    whole seconds, so a binary search over seconds finds one exactly.
    """
    low, high = math.floor(start.timestamp()), math.ceil(end.timestamp())
    target = datetime.fromtimestamp(high, tz).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == target:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)
