"""Occurrences of a schedule: its window, the latest due occurrence, and the misfire policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cron import CronExpression
from bot.schedules.occurrences import (
    Timing,
    effective_grace,
    latest_occurrence,
    plan_firing,
)
from bot.schedules.records import MisfirePolicy

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Berlin
TOLERANCE = timedelta(minutes=2)


def walk_latest(
    cron: CronExpression, zone: ZoneInfo | None, floor: datetime, moment: datetime
) -> datetime | None:
    """The latest occurrence in [floor, moment], one occurrence at a time."""
    latest = None
    current = cron.next_after(floor - timedelta(microseconds=1), zone)
    while current <= moment:
        latest = current
        current = cron.next_after(current, zone)
    return latest


def test_first_after_respects_start_and_end() -> None:
    daily = CronExpression.parse("0 0 9 * * *")
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    timing = Timing(daily, BERLIN, start_at=start, end_at=datetime(2026, 12, 3, 8, 0, tzinfo=UTC))
    assert timing.first_after(T0) == start  # the start itself is an occurrence
    assert timing.first_after(start) == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert timing.first_after(datetime(2026, 12, 3, 8, 0, tzinfo=UTC)) is None


def test_a_start_between_occurrences_waits_for_the_next_one() -> None:
    timing = Timing(
        CronExpression.parse("0 0 9 * * *"), BERLIN, start_at=T0 + timedelta(microseconds=1)
    )
    assert timing.first_after(T0 - timedelta(days=3)) == T0 + timedelta(days=1)


def test_an_on_time_occurrence_is_sent_and_the_next_follows_it() -> None:
    timing = Timing(CronExpression.parse("0 0 9 * * *"), BERLIN)
    firing = plan_firing(timing, T0, T0 + timedelta(seconds=20), TOLERANCE)
    assert firing.latest == T0
    assert firing.send
    assert firing.next_run_at == T0 + timedelta(days=1)


def test_only_the_latest_of_several_due_occurrences_is_considered() -> None:
    timing = Timing(CronExpression.parse("0 */5 * * * *"))
    now = T0 + timedelta(minutes=31)
    firing = plan_firing(timing, T0, now, timedelta(minutes=10))
    assert firing.latest == T0 + timedelta(minutes=30)
    assert firing.send
    assert firing.next_run_at == T0 + timedelta(minutes=35)


def test_skip_drops_a_late_occurrence_that_send_latest_sends() -> None:
    timing = Timing(CronExpression.parse("0 0 9 * * *"), BERLIN)
    late = T0 + timedelta(minutes=30)
    skip = effective_grace(MisfirePolicy.SKIP, timedelta(hours=1), TOLERANCE)
    send_latest = effective_grace(MisfirePolicy.SEND_LATEST, timedelta(hours=1), TOLERANCE)
    assert skip == TOLERANCE
    assert not plan_firing(timing, T0, late, skip).send
    assert plan_firing(timing, T0, late, send_latest).send


def test_an_occurrence_later_than_the_grace_is_missed() -> None:
    timing = Timing(CronExpression.parse("0 0 9 * * *"), BERLIN)
    grace = effective_grace(MisfirePolicy.SEND_LATEST, timedelta(hours=1), TOLERANCE)
    firing = plan_firing(timing, T0, T0 + timedelta(hours=2), grace)
    assert not firing.send
    assert firing.next_run_at == T0 + timedelta(days=1)


def test_the_grace_is_never_below_the_tolerance() -> None:
    assert effective_grace(MisfirePolicy.SEND_LATEST, timedelta(0), TOLERANCE) == TOLERANCE


def test_nothing_past_the_end_is_sent() -> None:
    end = T0 + timedelta(days=1, hours=1)
    timing = Timing(CronExpression.parse("0 0 9 * * *"), BERLIN, end_at=end)
    firing = plan_firing(timing, T0 + timedelta(days=1), T0 + timedelta(days=5), timedelta(days=1))
    assert firing.latest == T0 + timedelta(days=1)  # the last one before the end
    assert firing.next_run_at is None


def test_a_stored_next_run_after_the_end_ends_the_schedule() -> None:
    timing = Timing(CronExpression.parse("0 0 9 * * *"), BERLIN, end_at=T0 - timedelta(days=1))
    firing = plan_firing(timing, T0, T0 + timedelta(seconds=1), TOLERANCE)
    assert not firing.send
    assert firing.next_run_at is None


def test_the_latest_occurrence_of_an_every_second_schedule_a_day_late() -> None:
    every_second = CronExpression.parse("* * * * * *")
    moment = T0 + timedelta(days=1, microseconds=500)
    assert latest_occurrence(every_second, None, T0, moment) == T0 + timedelta(days=1)


def test_no_occurrence_in_the_range() -> None:
    daily = CronExpression.parse("0 0 9 * * *")
    assert (
        latest_occurrence(daily, BERLIN, T0 + timedelta(seconds=1), T0 + timedelta(hours=3)) is None
    )


ZONES = st.sampled_from(
    [None, BERLIN, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")]
)
EXPRESSIONS = st.sampled_from(
    [
        "* * * * * *",
        "*/7 * * * * *",
        "0 * * * * *",
        "0 */5 * * * *",
        "30 15 1-3 * * *",
        "0 0,30 2 * * *",
        "0 0 9 * * 1-5",
        "0 0 9 13 * Fri",
        "0 59 23 31 * *",
    ]
)
AROUND_TRANSITIONS = st.sampled_from(
    [
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # Europe: clocks go forward
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # Europe: clocks go back
        datetime(2026, 3, 8, 6, 30, tzinfo=UTC),  # America/New_York forward
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # America/New_York back
        datetime(2026, 4, 4, 14, 30, tzinfo=UTC),  # Lord Howe: back half an hour
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=EXPRESSIONS,
    zone=ZONES,
    base=AROUND_TRANSITIONS,
    floor_offset=st.integers(-4 * 3600, 4 * 3600),
    span=st.integers(0, 6 * 3600),
    micro=st.integers(0, 999_999),
)
def test_latest_occurrence_matches_a_walk(
    text: str,
    zone: ZoneInfo | None,
    base: datetime,
    floor_offset: int,
    span: int,
    micro: int,
) -> None:
    cron = CronExpression.parse(text)
    floor = base + timedelta(seconds=floor_offset)
    moment = floor + timedelta(seconds=span, microseconds=micro)
    assert latest_occurrence(cron, zone, floor, moment) == walk_latest(cron, zone, floor, moment)
