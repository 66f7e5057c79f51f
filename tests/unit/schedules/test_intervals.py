"""SCHEDULE_MIN_INTERVAL_SECONDS: the shortest gap between consecutive occurrences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.cron import CronExpression
from bot.schedules.intervals import offset_changes, shortest_gap_below

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def gap(text: str, minimum: timedelta, zone: str | None = None) -> timedelta | None:
    return shortest_gap_below(
        CronExpression.parse(text), ZoneInfo(zone) if zone else None, minimum, NOW
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("* * * * * *", timedelta(seconds=1)),
        ("*/30 * * * * *", timedelta(seconds=30)),
        ("0,59 * * * * *", timedelta(seconds=1)),  # 59 -> next minute's 0
        ("0 0,59 * * * *", timedelta(minutes=1)),
        ("0 0,1 9 * * *", timedelta(minutes=1)),  # only once a day, within the first day
    ],
)
def test_too_frequent_schedules_are_found(text: str, expected: timedelta) -> None:
    assert gap(text, timedelta(minutes=2)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "0 * * * * *",
        "0 */5 * * * *",
        "0 0 9 * * *",
        "0 0 9 * * 1-5",
        "0 0 0 1 1 *",
        "0 30 8 * * Mon",
    ],
)
def test_schedules_at_least_a_minute_apart_pass(text: str) -> None:
    assert gap(text, MINUTE) is None


def test_a_gap_at_the_end_of_the_month_is_found() -> None:
    # 23:00 on the 14th, then 00:00 on the 15th: an hour, once a month.
    assert gap("0 0 0,23 14,15 * *", timedelta(hours=2)) == timedelta(hours=1)


def test_a_minimum_of_one_second_holds_for_every_schedule() -> None:
    assert gap("* * * * * *", timedelta(seconds=1)) is None


def test_daylight_saving_time_shortens_a_gap() -> None:
    # 01:00 and 03:00 are two hours apart, except on the night Berlin skips 02:00-03:00.
    assert gap("0 0 1,3 * * *", timedelta(hours=2), "Europe/Berlin") == timedelta(hours=1)
    assert gap("0 0 1,3 * * *", timedelta(hours=2)) is None  # UTC has no such night


def test_offset_changes_of_a_year() -> None:
    changes = offset_changes(ZoneInfo("Europe/Berlin"), NOW, 366)
    assert changes == [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    ]
    assert offset_changes(ZoneInfo("Asia/Tokyo"), NOW, 366) == []
