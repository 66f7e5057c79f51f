"""Schedule commands in chat, parsed by rules (no language model): pure, no I/O.

Commands (any case; a leading "please" / "can you" and trailing punctuation are ignored)::

    remind me <WHEN> to <WHAT>            remind me every Monday at 12:00 to submit my timesheet
    remind me to <WHAT> <WHEN>            remind me to stretch every 2 hours on weekdays
    <WHEN> remind me to <WHAT>            every Friday at 5pm remind me to water the plants
    <WHEN> send me <WHAT>                 every day at 8:30 send me a briefing
    send me <WHAT> <WHEN>                 send me a briefing every weekday at 8:30
    list my reminders                     (also: show reminders, my reminders, list schedules)
    stop reminder <N>                     (also cancel / delete / remove; pause / resume)
    help reminders

``remind us`` and ``send us`` work too, and ``about`` / ``that`` may stand for ``to``. Numbers
are those of "list my reminders" (oldest first).

``WHEN`` is a repeating time; one-off times ("tomorrow at 9") are not supported:

- days: ``every day`` / ``daily``; ``every weekday`` / ``on weekdays`` (Monday to Friday);
  ``every weekend`` / ``on weekends``; ``every Monday``, ``on Mondays``, ``every Mon, Wed and
  Fri``; ``every month on the 1st`` / ``on the 15th of every month`` / ``monthly on the 1st``
  (months without that day are skipped);
- times: ``at 9`` (24-hour: ``at 9`` is 09:00, ``at 21`` is 21:00), ``at 9:30``, ``at 9.30``,
  ``at 5pm``, ``at 12am``, ``at noon``, ``at midnight``; several hours with the same minutes:
  ``at 9 and 17``, ``at 9:30, 13:30 and 17:30``. Without a time a day schedule runs at 09:00;
- frequencies, aligned to the clock: ``every hour`` / ``hourly`` (on the hour), ``every N
  hours`` (N dividing 24: at 00:00, 0N:00...), ``every minute``, ``every N minutes`` (N
  dividing 60), ``every second``, ``every N seconds`` (N dividing 60), optionally with days:
  ``every 2 hours on weekdays``. A frequency takes no ``at``.

Times are the user's local time (the zone the chat handler passes on). What cannot be parsed
comes back as :class:`NotUnderstood`, saying which part was not understood; a message that is
no schedule command at all gives ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MAX_TEXT_LENGTH = 200
DEFAULT_HOUR = 9
CREATE_EXAMPLE = "remind me every Monday at 12:00 to submit my timesheet"
CHANGE_EXAMPLE = "stop reminder 2"

_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DAY_WORDS: dict[str, int] = {}
for _number, _name in enumerate(_DAY_NAMES):
    _lower = _name.lower()
    for _word in (_lower, _lower + "s", _lower[:3]):
        _DAY_WORDS[_word] = _number
_DAY_WORDS.update({"tues": 2, "weds": 3, "thur": 4, "thurs": 4})

_WEEKDAY_WORDS = frozenset({"weekday", "weekdays", "workday", "workdays"})
_WEEKEND_WORDS = frozenset({"weekend", "weekends"})
_UNIT_WORDS = {
    "second": "second",
    "seconds": "second",
    "sec": "second",
    "secs": "second",
    "minute": "minute",
    "minutes": "minute",
    "min": "minute",
    "mins": "minute",
    "hour": "hour",
    "hours": "hour",
    "hr": "hour",
    "hrs": "hour",
}
_UNIT_PERIOD = {"second": 60, "minute": 60, "hour": 24}
_FITS_IN = {"second": "a minute", "minute": "an hour", "hour": "a day"}
_WHEN_START = re.compile(r"\b(?:every|each|daily|hourly|monthly|weekdays|on|at)\b", re.IGNORECASE)
_TIME = re.compile(r"(\d{1,2})(?:[:.h](\d{2}))?(am|pm|a\.m\.|p\.m\.)?")
_ORDINAL = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?")


Action = Literal["stop", "pause", "resume"]
"""What a change command does: delete, disable or enable a schedule."""


class RecurrenceError(ValueError):
    """A ``WHEN`` that is not understood; the message says which part and why."""


@dataclass(frozen=True)
class Recurrence:
    """A parsed ``WHEN``.

    Attributes:
        cron: The 6-field NCRONTAB expression (seconds first).
        description: How it reads back: ``every Monday at 12:00``.
    """

    cron: str
    description: str


@dataclass(frozen=True)
class CreateReminder:
    """Create a schedule in this conversation.

    Attributes:
        recurrence: When.
        text: What (as the user wrote it).
        style: ``remind`` ("remind me to ...") or ``send`` ("send me ...").
    """

    recurrence: Recurrence
    text: str
    style: Literal["remind", "send"]


@dataclass(frozen=True)
class ListReminders:
    """List the conversation's schedules, numbered."""


@dataclass(frozen=True)
class ChangeReminder:
    """Stop (delete), pause or resume the schedule with a list number.

    Attributes:
        action: What to do.
        number: The number in "list my reminders" (1 is the oldest).
    """

    action: Action
    number: int


@dataclass(frozen=True)
class ReminderHelp:
    """Explain the reminder commands."""


@dataclass(frozen=True)
class NotUnderstood:
    """A schedule command that could not be parsed.

    Attributes:
        problem: What was not understood.
        example: A command of the kind the user tried that works.
    """

    problem: str
    example: str = CREATE_EXAMPLE


Command = CreateReminder | ListReminders | ChangeReminder | ReminderHelp

_POLITE_PREFIX = re.compile(
    r"^(?:(?:please|kindly|can you|could you|would you|will you)\s+)+", re.IGNORECASE
)
_POLITE_SUFFIX = re.compile(r"(?:[\s,]+please)?[\s.!?]*$", re.IGNORECASE)
_LIST = re.compile(
    r"(?:(?:list|show|view|see|what are)(?:\s+me)?(?:\s+all)?(?:\s+(?:my|our|the))?"
    r"|my|our)?\s*(?:reminders|schedules)",
    re.IGNORECASE,
)
_HELP = re.compile(
    r"help(?:\s+(?:with|on))?\s+(?:reminders?|schedules?)|(?:reminders?|schedules?)\s+help",
    re.IGNORECASE,
)
_CHANGE_VERBS: dict[str, Action] = {
    "stop": "stop",
    "cancel": "stop",
    "delete": "stop",
    "remove": "stop",
    "pause": "pause",
    "disable": "pause",
    "resume": "resume",
    "enable": "resume",
    "unpause": "resume",
    "restart": "resume",
}
_CHANGE = re.compile(
    r"(?P<verb>" + "|".join(_CHANGE_VERBS) + r")\s+(?:the\s+|my\s+)*"
    r"(?:(?:reminder|schedule)\s*(?:number\s+|no\.?\s*|#)?(?P<number>\d+)"
    r"|(?P<ordinal>\d+)(?:st|nd|rd|th)?\s+(?:reminder|schedule))",
    re.IGNORECASE,
)
_CHANGE_LOOSE = re.compile(
    r"(?:" + "|".join(_CHANGE_VERBS) + r")\s+(?:the\s+|my\s+|all\s+|this\s+|that\s+)*"
    r"(?:reminders?|schedules?)\b.*",
    re.IGNORECASE,
)
_REMIND = re.compile(r"remind\s+(?:me|us)\b\s*(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
_REMIND_START = re.compile(r"remind(?:er)?\b", re.IGNORECASE)
_SEND = re.compile(r"send\s+(?:me|us)\s+(?P<rest>.+)", re.IGNORECASE | re.DOTALL)
_WHEN_FIRST = re.compile(
    r"(?P<when>.+?)\s*,?\s+(?P<verb>remind\s+(?:me|us)(?:\s+(?:to|about|that))?"
    r"|send\s+(?:me|us)|tell\s+(?:me|us)(?:\s+to)?)\s+(?P<text>.+)",
    re.IGNORECASE | re.DOTALL,
)
_TO_TEXT = re.compile(r"(?:to|about|that)\s+(?P<text>.+)", re.IGNORECASE | re.DOTALL)
_QUOTES = "\"'\u201c\u201d\u2018\u2019"
"""Straight and curly quotes around a reminder's text."""
_ONE_OFF = re.compile(
    r"\b(?:today|tonight|tomorrow|next\s+\w+|in\s+(?:\d+|an?|one)\s+\w+|this\s+\w+)\b",
    re.IGNORECASE,
)
_FREQUENCY_WORD = re.compile(r"\b(?:every|each|daily|hourly|monthly)\b", re.IGNORECASE)


def parse_command(message: str | None) -> Command | NotUnderstood | None:
    """Parse a chat message.

    Returns:
        The command; :class:`NotUnderstood` for a schedule command that could not be parsed;
        ``None`` when the message is not about schedules.
    """
    if not message:
        return None
    text = _normalize(message)
    if not text:
        return None
    if _LIST.fullmatch(text):
        return ListReminders()
    if _HELP.fullmatch(text):
        return ReminderHelp()
    change = _CHANGE.fullmatch(text)
    if change:
        number = int(change.group("number") or change.group("ordinal"))
        if number < 1:
            return NotUnderstood("reminder numbers start at 1", CHANGE_EXAMPLE)
        return ChangeReminder(_CHANGE_VERBS[change.group("verb").lower()], number)
    if _CHANGE_LOOSE.fullmatch(text):
        return NotUnderstood(
            'which reminder? Say "list my reminders" to see their numbers', CHANGE_EXAMPLE
        )
    parsed = _parse_create(text)
    if isinstance(parsed, NotUnderstood) and _ONE_OFF.search(text):
        return NotUnderstood(
            "one-off reminders (today, tomorrow, next week, in 2 hours) are not supported; "
            'reminders repeat, for example "every day at 9"'
        )
    return parsed


def _parse_create(text: str) -> CreateReminder | NotUnderstood | None:
    remind = _REMIND.fullmatch(text)
    if remind:
        return _remind_rest(remind.group("rest"))
    if _REMIND_START.match(text):
        return NotUnderstood('say "remind me" followed by when and what')
    when_first = _WHEN_FIRST.fullmatch(text)
    if when_first and _WHEN_START.match(when_first.group("when")):
        style: Literal["remind", "send"] = (
            "send" if when_first.group("verb").lower().startswith("send") else "remind"
        )
        return _create(when_first.group("when"), when_first.group("text"), style)
    send = _SEND.fullmatch(text)
    if send and _FREQUENCY_WORD.search(send.group("rest")):
        return _text_then_when(send.group("rest"), "send")
    return None


def _remind_rest(rest: str) -> CreateReminder | NotUnderstood:
    if not rest:
        return NotUnderstood("I could not find when and what to remind you of")
    to_text = _TO_TEXT.fullmatch(rest)
    if to_text:
        return _text_then_when(to_text.group("text"), "remind")
    # "<WHEN> to <WHAT>": the first " to " / " about " / " that " ends WHEN.
    split = re.search(r"\s+(?:to|about|that)\s+", rest, re.IGNORECASE)
    if split is None:
        return NotUnderstood(
            f'I could not find what to remind you of in "{rest}" (put it after "to")'
        )
    return _create(rest[: split.start()], rest[split.end() :], "remind")


def _text_then_when(rest: str, style: Literal["remind", "send"]) -> CreateReminder | NotUnderstood:
    """``<WHAT> <WHEN>``: the longest tail of ``rest`` that parses as a WHEN."""
    first_error: RecurrenceError | None = None
    first_when = ""
    for start in _WHEN_START.finditer(rest):
        when = rest[start.start() :]
        what = rest[: start.start()].strip()
        if not what:
            continue
        try:
            recurrence = parse_recurrence(when)
        except RecurrenceError as error:
            if first_error is None:
                first_error, first_when = error, when
            continue
        return _reminder(recurrence, what, style)
    if first_error is not None:
        return NotUnderstood(f'I did not understand when: "{first_when}": {first_error}')
    return NotUnderstood(
        f'I could not find when in "{rest}"; say how often, for example "every day at 9"'
    )


def _create(
    when: str, what: str, style: Literal["remind", "send"]
) -> CreateReminder | NotUnderstood:
    try:
        recurrence = parse_recurrence(when)
    except RecurrenceError as error:
        return NotUnderstood(f'I did not understand when: "{when.strip()}": {error}')
    return _reminder(recurrence, what, style)


def _reminder(
    recurrence: Recurrence, what: str, style: Literal["remind", "send"]
) -> CreateReminder | NotUnderstood:
    text = what.strip().strip(_QUOTES).strip()
    if not text:
        return NotUnderstood("I could not find what to remind you of")
    if len(text) > MAX_TEXT_LENGTH:
        return NotUnderstood(
            f"the reminder text is too long (at most {MAX_TEXT_LENGTH} characters)"
        )
    return CreateReminder(recurrence, text, style)


def _normalize(message: str) -> str:
    text = " ".join(message.split())
    text = _POLITE_PREFIX.sub("", text)
    return _POLITE_SUFFIX.sub("", text).strip()


# --- WHEN ----------------------------------------------------------------------------------


@dataclass
class _When:
    weekdays: tuple[int, ...] | None = None
    days_text: str | None = None
    month_day: int | None = None
    hours: tuple[int, ...] | None = None
    minute: int | None = None
    frequency: tuple[str, int] | None = None


def parse_recurrence(text: str) -> Recurrence:
    """Parse a ``WHEN`` (see the module docstring) into a cron expression and a description.

    Raises:
        RecurrenceError: It is not understood; the message names the part.
    """
    words = _words(text)
    if not words:
        raise RecurrenceError("it is empty")
    when = _When()
    position = 0
    while position < len(words):
        position = _parse_part(words, position, when)
    return _recurrence(when)


def _words(text: str) -> list[str]:
    spaced = re.sub(r"\s*([,&])\s*", r" \1 ", text.lower())
    spaced = spaced.replace("&", "and")
    spaced = re.sub(r"([ap])\.m\.", r"\1m", spaced)
    spaced = re.sub(r"(\d)\s+(am|pm)\b", r"\1\2", spaced)
    # "the" carries nothing here: "on the 1st", "at the weekend", "of the month".
    return [word for word in spaced.split() if word != "the"]


def _parse_part(words: list[str], position: int, when: _When) -> int:
    word = words[position]
    following = words[position + 1] if position + 1 < len(words) else None
    if word in ("every", "each"):
        if following is None:
            raise RecurrenceError(f'"{word}" what? For example "every day"')
        return _parse_every(words, position + 1, when)
    if word in ("daily", "everyday"):
        _set_days(when, None, "every day")
        return position + 1
    if word == "hourly":
        _set_frequency(when, "hour", 1)
        return position + 1
    if word == "monthly":
        return _parse_month_day(words, position + 1, when)
    if word in _WEEKDAY_WORDS and word.endswith("s"):
        _set_days(when, (1, 2, 3, 4, 5), "every weekday")
        return position + 1
    if word == "on":
        return _parse_on(words, position + 1, when)
    if word == "at":
        return _parse_at(words, position + 1, when)
    if word == ",":
        return position + 1
    raise RecurrenceError(f'I do not know "{word}" here')


def _parse_every(words: list[str], position: int, when: _When) -> int:
    word = words[position]
    following = words[position + 1] if position + 1 < len(words) else None
    if word == "day":
        _set_days(when, None, "every day")
        return position + 1
    if word in _WEEKDAY_WORDS or (word == "working" and following == "day"):
        _set_days(when, (1, 2, 3, 4, 5), "every weekday")
        return position + (2 if word == "working" else 1)
    if word in _WEEKEND_WORDS:
        _set_days(when, (0, 6), "every weekend day")
        return position + (2 if following == "day" else 1)
    if word in _DAY_WORDS:
        return _parse_day_list(words, position, when)
    if word in _UNIT_WORDS:
        _set_frequency(when, _UNIT_WORDS[word], 1)
        return position + 1
    if word.isdigit() and following in _UNIT_WORDS:
        _set_frequency(when, _UNIT_WORDS[following], int(word))
        return position + 2
    if word == "month":
        return _parse_month_day(words, position + 1, when)
    if word == "other":
        raise RecurrenceError('"every other ..." is not supported; use days or a number')
    raise RecurrenceError(
        f'"every {word}" is not supported; try every day, every weekday, every Monday, '
        "every 2 hours or every month on the 1st"
    )


def _parse_on(words: list[str], position: int, when: _When) -> int:
    if position >= len(words):
        raise RecurrenceError('"on" what? For example "on Mondays"')
    word = words[position]
    if word in _WEEKDAY_WORDS:
        _set_days(when, (1, 2, 3, 4, 5), "every weekday")
        return position + 1
    if word in _WEEKEND_WORDS:
        _set_days(when, (0, 6), "every weekend day")
        return position + 1
    if word in _DAY_WORDS:
        return _parse_day_list(words, position, when)
    if _ORDINAL.fullmatch(word) or word == "day":
        return _parse_month_day(words, position - 1, when)
    raise RecurrenceError(f'"on {word}" is not a day I know')


def _parse_day_list(words: list[str], position: int, when: _When) -> int:
    days: list[int] = []
    while position < len(words):
        word = words[position]
        if word in _DAY_WORDS:
            days.append(_DAY_WORDS[word])
            position += 1
        elif word in (",", "and") and position + 1 < len(words):
            after = words[position + 1]
            if after == "and" and position + 2 < len(words):
                after = words[position + 2]
            if after not in _DAY_WORDS:
                break
            position += 1
        else:
            break
    unique = tuple(sorted(set(days)))
    # Monday first when read back, Sunday last, as calendars in most places show them.
    ordered = sorted(unique, key=lambda day: (day == 0, day))
    names = [_DAY_NAMES[day] for day in ordered]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    _set_days(when, unique, f"every {listed}")
    return position


def _parse_month_day(words: list[str], position: int, when: _When) -> int:
    """``on the 1st``, ``on day 15`` (after ``every month`` / ``monthly``), or ``on the 15th
    of every month`` (``position`` at ``on``)."""
    if position < len(words) and words[position] == "on":
        position += 1
    if position < len(words) and words[position] == "day":
        position += 1
    ordinal = _ORDINAL.fullmatch(words[position]) if position < len(words) else None
    if ordinal is None:
        raise RecurrenceError('which day of the month? For example "every month on the 1st"')
    day = int(ordinal.group(1))
    if not 1 <= day <= 31:
        raise RecurrenceError(f"day {day} of the month does not exist")
    position += 1
    # "of every month" / "of each month" / "of the month"
    if position < len(words) and words[position] == "of":
        tail = words[position + 1 : position + 3]
        if tail[:2] in (["every", "month"], ["each", "month"]) or tail[:1] == ["month"]:
            position += 1 + (2 if tail[:1] != ["month"] else 1)
        else:
            raise RecurrenceError('say "of every month"')
    if when.month_day is not None or when.days_text is not None:
        raise RecurrenceError("the days are given twice")
    when.month_day = day
    when.days_text = f"on the {_ordinal(day)} of every month"
    return position


def _parse_at(words: list[str], position: int, when: _When) -> int:
    if position >= len(words):
        raise RecurrenceError('"at" what time? For example "at 9:30"')
    if words[position] in _WEEKEND_WORDS:
        _set_days(when, (0, 6), "every weekend day")
        return position + 1
    times: list[tuple[int, int]] = []
    while position < len(words):
        times.append(_time(words[position]))
        position += 1
        if (
            position + 1 < len(words)
            and words[position] in (",", "and")
            and _is_time(words[position + 1])
        ):
            position += 1
            continue
        break
    minutes = {minute for _, minute in times}
    if len(minutes) > 1:
        raise RecurrenceError(
            "one reminder can have several times only when their minutes are the same "
            "(at 9:30 and 17:30); set two reminders instead"
        )
    if when.hours is not None:
        raise RecurrenceError("the time is given twice")
    when.hours = tuple(sorted({hour for hour, _ in times}))
    when.minute = minutes.pop()
    return position


def _is_time(word: str) -> bool:
    return word in ("noon", "midnight") or _TIME.fullmatch(word) is not None


def _time(word: str) -> tuple[int, int]:
    if word == "noon":
        return 12, 0
    if word == "midnight":
        return 0, 0
    match = _TIME.fullmatch(word)
    if match is None:
        raise RecurrenceError(f'"{word}" is not a time (for example 9, 9:30, 5pm, noon)')
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").replace(".", "")
    if suffix:
        if not 1 <= hour <= 12:
            raise RecurrenceError(f'"{word}": with am/pm the hour is 1 to 12')
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if not 0 <= hour <= 23 or not 0 <= minute <= 59:
        raise RecurrenceError(f'"{word}" is not a time of day')
    return hour, minute


def _set_days(when: _When, weekdays: tuple[int, ...] | None, text: str) -> None:
    if when.days_text is not None:
        raise RecurrenceError("the days are given twice")
    when.weekdays = weekdays
    when.days_text = text


def _set_frequency(when: _When, unit: str, count: int) -> None:
    if when.frequency is not None:
        raise RecurrenceError("the frequency is given twice")
    period = _UNIT_PERIOD[unit]
    if count < 1 or count >= period or period % count:
        divisors = ", ".join(str(n) for n in range(1, period) if period % n == 0)
        raise RecurrenceError(
            f"every {count} {unit}s does not divide {_FITS_IN[unit]} evenly; use one of {divisors}"
        )
    when.frequency = (unit, count)


def _recurrence(when: _When) -> Recurrence:
    weekday_field = "*" if when.weekdays is None else _cron_list(when.weekdays)
    day_field = "*" if when.month_day is None else str(when.month_day)
    if when.month_day is not None and when.weekdays is not None:
        raise RecurrenceError("give either days of the week or a day of the month, not both")
    if when.frequency is not None:
        if when.hours is not None:
            raise RecurrenceError(
                'a time ("at ...") does not go with every so many hours, minutes or seconds'
            )
        unit, count = when.frequency
        step = "*" if count == 1 else f"*/{count}"
        second, minute, hour = {
            "second": (step, "*", "*"),
            "minute": ("0", step, "*"),
            "hour": ("0", "0", step),
        }[unit]
        description = f"every {unit}" if count == 1 else f"every {count} {unit}s"
        if when.days_text is not None:
            description += " " + _days_suffix(when.days_text)
        return Recurrence(f"{second} {minute} {hour} {day_field} * {weekday_field}", description)
    if when.days_text is None:
        raise RecurrenceError('it says what time but not how often; for example "every day at 9"')
    hours = when.hours if when.hours is not None else (DEFAULT_HOUR,)
    minute_value = when.minute if when.minute is not None else 0
    hour_field = _cron_list(hours)
    times = [f"{hour:02d}:{minute_value:02d}" for hour in hours]
    listed = times[0] if len(times) == 1 else ", ".join(times[:-1]) + " and " + times[-1]
    return Recurrence(
        f"0 {minute_value} {hour_field} {day_field} * {weekday_field}",
        f"{when.days_text} at {listed}",
    )


def _cron_list(values: tuple[int, ...]) -> str:
    """A cron list with runs of three or more as ranges: ``1-5``, ``0,6``, ``9,12-14``."""
    parts: list[str] = []
    run: list[int] = []
    for value in sorted(values):
        if run and value != run[-1] + 1:
            parts.append(_cron_run(run))
            run = []
        run.append(value)
    if run:
        parts.append(_cron_run(run))
    return ",".join(parts)


def _cron_run(run: list[int]) -> str:
    if len(run) >= 3:
        return f"{run[0]}-{run[-1]}"
    return ",".join(str(value) for value in run)


def _days_suffix(days_text: str) -> str:
    if days_text == "every day":
        return "every day"
    if days_text == "every weekday":
        return "on weekdays"
    if days_text == "every weekend day":
        return "on weekends"
    if days_text.startswith("every "):
        return "on " + days_text.removeprefix("every ")
    return days_text


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"
