"""The chat command parser: the supported grammar, its cron output and its error messages."""

from __future__ import annotations

import pytest

from bot.cron import CronExpression
from bot.schedules.commands import (
    CHANGE_EXAMPLE,
    CREATE_EXAMPLE,
    ChangeReminder,
    CreateReminder,
    ListReminders,
    NotUnderstood,
    RecurrenceError,
    ReminderHelp,
    parse_command,
    parse_recurrence,
)


def created(message: str) -> CreateReminder:
    parsed = parse_command(message)
    assert isinstance(parsed, CreateReminder), parsed
    CronExpression.parse(parsed.recurrence.cron)  # every cron the parser makes is valid
    return parsed


def not_understood(message: str) -> NotUnderstood:
    parsed = parse_command(message)
    assert isinstance(parsed, NotUnderstood), parsed
    return parsed


@pytest.mark.parametrize(
    ("message", "cron", "description", "text", "style"),
    [
        (
            "remind me every Monday at 12:00 to submit my timesheet",
            "0 0 12 * * 1",
            "every Monday at 12:00",
            "submit my timesheet",
            "remind",
        ),
        (
            "every day at 8:30 send me a briefing",
            "0 30 8 * * *",
            "every day at 08:30",
            "a briefing",
            "send",
        ),
        (
            "every weekday at 9 remind me to stand up",
            "0 0 9 * * 1-5",
            "every weekday at 09:00",
            "stand up",
            "remind",
        ),
        (
            "remind me to stretch every 2 hours on weekdays",
            "0 0 */2 * * 1-5",
            "every 2 hours on weekdays",
            "stretch",
            "remind",
        ),
        (
            "Please remind me every day at noon to eat.",
            "0 0 12 * * *",
            "every day at 12:00",
            "eat",
            "remind",
        ),
        (
            "send me a briefing every weekday at 8:30 please",
            "0 30 8 * * 1-5",
            "every weekday at 08:30",
            "a briefing",
            "send",
        ),
        (
            "remind me every Mon, Wed and Fri at 5pm to run",
            "0 0 17 * * 1,3,5",
            "every Monday, Wednesday and Friday at 17:00",
            "run",
            "remind",
        ),
        (
            "remind me on the 15th of every month at 9am to pay rent",
            "0 0 9 15 * *",
            "on the 15th of every month at 09:00",
            "pay rent",
            "remind",
        ),
        (
            "remind me every month on the 1st to send invoices",
            "0 0 9 1 * *",
            "on the 1st of every month at 09:00",
            "send invoices",
            "remind",
        ),
        (
            "remind us on weekends at 10:15 to water the plants",
            "0 15 10 * * 0,6",
            "every weekend day at 10:15",
            "water the plants",
            "remind",
        ),
        (
            "remind me about the stand-up every weekday at 9:30, 13:30 and 17:30",
            "0 30 9,13,17 * * 1-5",
            "every weekday at 09:30, 13:30 and 17:30",
            "the stand-up",
            "remind",
        ),
        (
            "remind me to look at the oven every hour",
            "0 0 * * * *",
            "every hour",
            "look at the oven",
            "remind",
        ),
        (
            "remind me to read every chapter daily at 21",
            "0 0 21 * * *",
            "every day at 21:00",
            "read every chapter",
            "remind",
        ),
        ("every 5 seconds send me ping", "*/5 * * * * *", "every 5 seconds", "ping", "send"),
        (
            "every 15 minutes on Fridays remind me to breathe",
            "0 */15 * * * 5",
            "every 15 minutes on Friday",
            "breathe",
            "remind",
        ),
        (
            "at midnight every Sunday remind me to back up",
            "0 0 0 * * 0",
            "every Sunday at 00:00",
            "back up",
            "remind",
        ),
        (
            'remind me every Tuesday at 12am to "check logs"',
            "0 0 0 * * 2",
            "every Tuesday at 00:00",
            "check logs",
            "remind",
        ),
        (
            "remind me every day at 9 p.m. to sleep",
            "0 0 21 * * *",
            "every day at 21:00",
            "sleep",
            "remind",
        ),
    ],
)
def test_create_phrasings(message: str, cron: str, description: str, text: str, style: str) -> None:
    parsed = created(message)
    assert parsed.recurrence.cron == cron
    assert parsed.recurrence.description == description
    assert parsed.text == text
    assert parsed.style == style


def test_the_reminder_text_keeps_its_case() -> None:
    assert created("Remind me every day at 9 to call Ada Lovelace").text == "call Ada Lovelace"


@pytest.mark.parametrize(
    "message",
    ["list my reminders", "List reminders", "show all my reminders", "my reminders", "reminders"],
)
def test_list(message: str) -> None:
    assert parse_command(message) == ListReminders()


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("stop reminder 2", ChangeReminder("stop", 2)),
        ("cancel reminder #3", ChangeReminder("stop", 3)),
        ("delete the reminder number 4", ChangeReminder("stop", 4)),
        ("remove the 2nd reminder", ChangeReminder("stop", 2)),
        ("pause reminder 1", ChangeReminder("pause", 1)),
        ("resume reminder 1!", ChangeReminder("resume", 1)),
        ("enable schedule 7", ChangeReminder("resume", 7)),
    ],
)
def test_change(message: str, expected: ChangeReminder) -> None:
    assert parse_command(message) == expected


def test_help() -> None:
    assert parse_command("help reminders") == ReminderHelp()


@pytest.mark.parametrize(
    "message",
    ["hello there", "send me the report", "", "   ", "what time is it", "remember the milk"],
)
def test_other_messages_are_not_commands(message: str) -> None:
    assert parse_command(message) is None


@pytest.mark.parametrize(
    ("message", "says"),
    [
        ("remind me to call mom tomorrow at 9", "one-off reminders"),
        ("remind me in 2 hours to stretch", "one-off reminders"),
        ("remind me every 7 hours to drink", "every 7 hours does not divide a day evenly"),
        ("remind me every 45 minutes to drink", "use one of 1, 2, 3, 4, 5, 6, 10, 12, 15"),
        ("remind me every day at 25 to sleep", '"25" is not a time of day'),
        ("remind me every day at 13pm to eat", "with am/pm the hour is 1 to 12"),
        ("remind me every other day to water", '"every other ..." is not supported'),
        ("remind me every fortnight to pay", '"every fortnight" is not supported'),
        ("remind me at 9 to sleep", "not how often"),
        ("remind me every 2 hours at 9 to drink", "does not go with every"),
        ("remind me at 9 and 17:30 every day to eat", "minutes are the same"),
        ("remind me every day", "what to remind you of"),
        ("remind me to stretch", "could not find when"),
        ("remind me", "when and what"),
        ("remind me every month on the 32nd to pay", "day 32 of the month does not exist"),
        ("remind me every day every Monday to x", "the days are given twice"),
        ("reminder every day", 'say "remind me"'),
    ],
)
def test_what_was_not_understood_is_said(message: str, says: str) -> None:
    result = not_understood(message)
    assert says in result.problem
    assert result.example == CREATE_EXAMPLE


@pytest.mark.parametrize("message", ["stop reminder", "stop all reminders", "pause my reminders"])
def test_a_change_without_a_number_asks_which(message: str) -> None:
    result = not_understood(message)
    assert "which reminder" in result.problem
    assert result.example == CHANGE_EXAMPLE


def test_reminder_zero_does_not_exist() -> None:
    assert "start at 1" in not_understood("stop reminder 0").problem


def test_a_long_text_is_refused() -> None:
    assert "too long" in not_understood("remind me every day to " + "x" * 201).problem


@pytest.mark.parametrize(
    ("when", "cron"),
    [
        ("daily", "0 0 9 * * *"),
        ("hourly", "0 0 * * * *"),
        ("every minute", "0 * * * * *"),
        ("every second", "* * * * * *"),
        ("every 30 seconds", "*/30 * * * * *"),
        ("every 6 hours", "0 0 */6 * * *"),
        ("on Mondays and Thursdays at 7:05", "0 5 7 * * 1,4"),
        ("every working day at 8", "0 0 8 * * 1-5"),
        ("at the weekend at 11", "0 0 11 * * 0,6"),
        ("monthly on day 28 at 18:00", "0 0 18 28 * *"),
        ("every Sunday at 9.45", "0 45 9 * * 0"),
    ],
)
def test_recurrences(when: str, cron: str) -> None:
    assert parse_recurrence(when).cron == cron


def test_an_empty_recurrence_is_an_error() -> None:
    with pytest.raises(RecurrenceError, match="empty"):
        parse_recurrence("  ")
