"""NCRONTAB parsing and next occurrences, checked against hand-worked cases and a brute force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cron import CronError, CronExpression

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("0 */5 * * * *", "minutes", tuple(range(0, 60, 5))),
        ("0 0 9-17 * * *", "hours", tuple(range(9, 18))),
        ("0 0 1-12/5 * * *", "hours", (1, 6, 11)),
        ("0 0 20/2 * * *", "hours", (20, 22)),
        ("10,20,30-32 * * * * *", "seconds", (10, 20, 30, 31, 32)),
        ("0 30 9 * Jan Mon", "months", (1,)),
        ("0 30 9 * Jan Mon", "weekdays", (1,)),
        ("0 0 0 * JAN-mar,Dec *", "months", (1, 2, 3, 12)),
        ("0 0 0 * * mon-FRI", "weekdays", (1, 2, 3, 4, 5)),
        ("0 0 0 * * Sunday,Saturday", "weekdays", (0, 6)),
        ("0 0 0 * * 7", "weekdays", (0,)),
        ("0 0 0 * * 5-7", "weekdays", (0, 5, 6)),
        ("0 0 0 * * */2", "weekdays", (0, 2, 4, 6)),
        ("0 0 0 1,15,31 * *", "days", (1, 15, 31)),
        ("*/15 * * * *", "seconds", (0,)),
        ("*/15 * * * *", "minutes", (0, 15, 30, 45)),
        ("30 13,20 * * *", "hours", (13, 20)),
        ("  0   0  0 * * *  ", "seconds", (0,)),
    ],
)
def test_parse_fields(text: str, field: str, expected: tuple[int, ...]) -> None:
    assert getattr(CronExpression.parse(text), field) == expected


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("* * * *", "expected 6 fields"),
        ("* * * * * * *", "expected 6 fields"),
        ("", "expected 6 fields"),
        ("60 * * * * *", "second field"),
        ("x * * * * *", "second field"),
        ("1,,2 * * * * *", "second field"),
        ("0 60 * * * *", "minute field"),
        ("0 5-1 * * * *", "minute field"),
        ("0 0 24 * * *", "hour field"),
        ("0 0 */0 * * *", "hour field"),
        ("0 0 -1 * * *", "hour field"),
        ("0 0 0 0 * *", "day-of-month field"),
        ("0 0 0 32 * *", "day-of-month field"),
        ("0 0 0 L * *", "day-of-month field"),
        ("0 0 0 ? * *", "day-of-month field"),
        ("0 0 0 30 Feb *", "day-of-month field"),
        ("0 0 0 * 13 *", "month field"),
        ("0 0 0 * Foo *", "month field"),
        ("0 0 0 * 1/x *", "month field"),
        ("0 0 0 * * 8", "day-of-week field"),
        ("0 0 0 * * Fri-Mon", "day-of-week field"),
        ("0 0 0 * * Mo", "day-of-week field"),
    ],
)
def test_parse_rejects_invalid_naming_the_field(text: str, names: str) -> None:
    with pytest.raises(CronError, match=names):
        CronExpression.parse(text)


def test_cron_error_is_a_value_error() -> None:
    assert issubclass(CronError, ValueError)


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        ("* * * * * *", utc(2024, 1, 1, 0, 0, 0), utc(2024, 1, 1, 0, 0, 1)),
        ("0 * * * * *", utc(2024, 1, 1, 0, 0, 0), utc(2024, 1, 1, 0, 1, 0)),
        ("0 * * * * *", utc(2024, 1, 1, 0, 0, 59, 999999), utc(2024, 1, 1, 0, 1, 0)),
        ("0 */5 * * * *", utc(2024, 1, 1, 18, 55, 0), utc(2024, 1, 1, 19, 0, 0)),
        ("0 30 9 * * 1-5", utc(2024, 6, 7, 9, 30), utc(2024, 6, 10, 9, 30)),  # Fri -> Mon
        ("0 30 9 * Jan Mon", utc(2024, 2, 1), utc(2025, 1, 6, 9, 30)),
        ("0 0 0 31 * *", utc(2024, 1, 31, 0, 0), utc(2024, 3, 31)),
        ("0 0 0 29 2 *", utc(2024, 3, 1), utc(2028, 2, 29)),
        ("0 0 0 29 Feb Mon", utc(2024, 3, 1), utc(2044, 2, 29)),
        ("59 59 23 31 12 *", utc(2024, 12, 31, 23, 59, 59), utc(2025, 12, 31, 23, 59, 59)),
        ("30 13,20 * * *", utc(2024, 1, 1, 13, 30), utc(2024, 1, 1, 20, 30)),
        ("0 0 0 * * 0", utc(2024, 1, 1), utc(2024, 1, 7)),  # 2024-01-07 is a Sunday
        ("0 0 0 * * 7", utc(2024, 1, 1), utc(2024, 1, 7)),
    ],
)
def test_next_after_in_utc(text: str, after: datetime, expected: datetime) -> None:
    assert CronExpression.parse(text).next_after(after) == expected


def test_day_of_month_and_day_of_week_must_both_match() -> None:
    # NCrontab semantics: Friday the 13th only, not every 13th and every Friday.
    friday_13 = CronExpression.parse("0 0 9 13 * Fri")
    moment = utc(2024, 1, 1)
    found = []
    for _ in range(3):
        moment = friday_13.next_after(moment)
        found.append(moment)
    assert found == [utc(2024, 9, 13, 9), utc(2024, 12, 13, 9), utc(2025, 6, 13, 9)]


def test_result_is_utc_and_input_zone_does_not_matter() -> None:
    expression = CronExpression.parse("0 0 12 * * *")
    after = datetime(2024, 5, 1, 20, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 11:00 UTC
    result = expression.next_after(after)
    assert result == utc(2024, 5, 1, 12)
    assert result.tzinfo is UTC


def test_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        CronExpression.parse("* * * * * *").next_after(datetime(2024, 1, 1))


def test_fields_are_local_time_of_the_zone() -> None:
    nine_am = CronExpression.parse("0 0 9 * * *")
    assert nine_am.next_after(utc(2024, 1, 1), BERLIN) == utc(2024, 1, 1, 8)
    assert nine_am.next_after(utc(2024, 7, 1), BERLIN) == utc(2024, 7, 1, 7)
    assert nine_am.next_after(utc(2024, 7, 1), NEW_YORK) == utc(2024, 7, 1, 13)


def test_spring_forward_gap_fires_when_the_gap_ends() -> None:
    half_past_two = CronExpression.parse("0 30 2 * * *")
    # Berlin 2024-03-31: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    first = half_past_two.next_after(utc(2024, 3, 30, 12), BERLIN)
    assert first == utc(2024, 3, 31, 1)
    assert first.astimezone(BERLIN).hour == 3
    assert half_past_two.next_after(first, BERLIN) == utc(2024, 4, 1, 0, 30)
    # New York 2024-03-10: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    assert half_past_two.next_after(utc(2024, 3, 9, 12), NEW_YORK) == utc(2024, 3, 10, 7)


def test_every_minute_in_a_gap_fires_once_at_its_end() -> None:
    in_the_gap = CronExpression.parse("0 * 2 * * *")
    first = in_the_gap.next_after(utc(2024, 3, 31, 0, 0), BERLIN)
    assert first == utc(2024, 3, 31, 1)
    assert in_the_gap.next_after(first, BERLIN) == utc(2024, 4, 1, 0, 0)


def test_repeated_fall_back_time_fires_once_on_its_first_occurrence() -> None:
    half_past_two = CronExpression.parse("0 30 2 * * *")
    # Berlin 2024-10-27: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:30 happens twice.
    first = half_past_two.next_after(utc(2024, 10, 26, 12), BERLIN)
    assert first == utc(2024, 10, 27, 0, 30)
    assert half_past_two.next_after(first, BERLIN) == utc(2024, 10, 28, 1, 30)


def test_during_the_second_pass_nothing_of_the_repeated_hour_fires() -> None:
    every_minute = CronExpression.parse("0 * * * * *")
    # 01:30 UTC is 02:30 CET, the second pass; the next new wall-clock minute is 03:00 CET.
    assert every_minute.next_after(utc(2024, 10, 27, 1, 30), BERLIN) == utc(2024, 10, 27, 2, 0)
    assert every_minute.next_after(utc(2024, 10, 27, 0, 59), BERLIN) == utc(2024, 10, 27, 2, 0)
    # New York 2024-11-03: 01:00-02:00 EDT repeats as EST (06:00-07:00 UTC).
    assert every_minute.next_after(utc(2024, 11, 3, 6, 15, 30), NEW_YORK) == utc(2024, 11, 3, 7)


# Brute force: walk UTC instants one step at a time and apply the rules directly.


def brute_force(
    expression: CronExpression, start: datetime, end: datetime, zone: ZoneInfo, step: timedelta
) -> list[datetime]:
    """Every firing instant in (start, end], found by visiting each step-aligned instant.

    An instant fires when its wall-clock time matches on its first occurrence (not the second
    pass of a repeated hour), or when the clock just jumped over wall-clock times that match.
    """
    seconds = int(step.total_seconds())
    first = (int(start.timestamp()) // seconds + 1) * seconds
    instant = datetime.fromtimestamp(first, UTC)
    previous_wall = (instant - step).astimezone(zone).replace(tzinfo=None)
    fired = []
    while instant <= end:
        local = instant.astimezone(zone)
        wall = local.replace(tzinfo=None)
        skipped = []
        jump = previous_wall + step
        while jump < wall:
            skipped.append(jump)
            jump += step
        if (local.fold == 0 and expression.matches(wall)) or any(
            expression.matches(missing) for missing in skipped
        ):
            fired.append(instant)
        previous_wall = max(previous_wall, wall)
        instant += step
    return fired


def chained(
    expression: CronExpression, start: datetime, end: datetime, zone: ZoneInfo
) -> list[datetime]:
    found = []
    moment = expression.next_after(start, zone)
    while moment <= end:
        found.append(moment)
        moment = expression.next_after(moment, zone)
    return found


def field(low: int, high: int, names: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    named = st.sampled_from(names) if names else value.map(str)
    single = st.one_of(value.map(str), named)
    ranged = st.tuples(value, value).map(lambda pair: f"{min(pair)}-{max(pair)}")
    step = st.integers(1, max(1, (high - low) // 2))
    element = st.one_of(
        st.just("*"),
        single,
        ranged,
        step.map(lambda n: f"*/{n}"),
        st.tuples(ranged, step).map(lambda pair: f"{pair[0]}/{pair[1]}"),
        st.tuples(value, step).map(lambda pair: f"{pair[0]}/{pair[1]}"),
    )
    return st.lists(element, min_size=1, max_size=3).map(",".join)


MONTH_NAMES = ("Jan", "feb", "MAR", "Apr", "october", "Nov", "Dec")
DAY_NAMES = ("Sun", "mon", "TUE", "Wed", "thursday", "Fri", "Sat")

# Hours, days and months lean towards "*" so that most expressions fire within the horizon.
HOURS = st.one_of(st.just("*"), st.just("1-3"), st.just("2"), field(0, 23))
DAYS = st.one_of(st.just("*"), st.just("*"), field(1, 31))
MONTHS = st.one_of(st.just("*"), st.just("*"), field(1, 12, MONTH_NAMES))
WEEKDAYS = st.one_of(st.just("*"), st.just("*"), field(0, 7, DAY_NAMES))

TRANSITIONS = (
    utc(2024, 3, 31, 1),  # Berlin spring forward
    utc(2024, 10, 27, 1),  # Berlin fall back
    utc(2024, 3, 10, 7),  # New York spring forward
    utc(2024, 11, 3, 6),  # New York fall back
)
ZONES = st.sampled_from([ZoneInfo("UTC"), BERLIN, NEW_YORK])


def near_a_transition(spread: timedelta) -> st.SearchStrategy[datetime]:
    seconds = int(spread.total_seconds())
    return st.builds(
        lambda base, offset, micro: base + timedelta(seconds=offset, microseconds=micro),
        st.sampled_from(TRANSITIONS),
        st.integers(-seconds, seconds),
        st.integers(0, 999_999),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    minutes=field(0, 59),
    hours=HOURS,
    days=DAYS,
    months=MONTHS,
    weekdays=WEEKDAYS,
    zone=ZONES,
    start=near_a_transition(timedelta(days=2)),
)
def test_five_fields_match_a_minute_walker(
    minutes: str,
    hours: str,
    days: str,
    months: str,
    weekdays: str,
    zone: ZoneInfo,
    start: datetime,
) -> None:
    expression = CronExpression.parse(f"{minutes} {hours} {days} {months} {weekdays}")
    end = start + timedelta(days=3)
    expected = brute_force(expression, start, end, zone, timedelta(minutes=1))
    assert chained(expression, start, end, zone) == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seconds=field(0, 59),
    minutes=field(0, 59),
    hours=st.one_of(st.just("*"), st.just("1-3"), st.just("2"), st.just("0,2,4")),
    zone=ZONES,
    start=near_a_transition(timedelta(hours=2)),
)
def test_six_fields_match_a_second_walker(
    seconds: str, minutes: str, hours: str, zone: ZoneInfo, start: datetime
) -> None:
    expression = CronExpression.parse(f"{seconds} {minutes} {hours} * * *")
    end = start + timedelta(hours=3)
    expected = brute_force(expression, start, end, zone, timedelta(seconds=1))
    assert chained(expression, start, end, zone) == expected


def first_by_days(expression: CronExpression, start: datetime) -> datetime:
    """The first occurrence after ``start``, by visiting each day and each time in it."""
    day = datetime(start.year, start.month, start.day, tzinfo=UTC)
    while True:
        if expression.matches(day.replace(hour=expression.hours[0], minute=expression.minutes[0])):
            for hour in expression.hours:
                for minute in expression.minutes:
                    for second in expression.seconds:
                        candidate = day.replace(hour=hour, minute=minute, second=second)
                        if candidate > start:
                            return candidate
        day += timedelta(days=1)


@settings(max_examples=60, deadline=None)
@given(
    minutes=field(0, 59),
    hours=field(0, 23),
    days=field(1, 31),
    months=field(1, 12, MONTH_NAMES),
    weekdays=field(0, 7, DAY_NAMES),
    start=st.datetimes(datetime(2000, 1, 1), datetime(2040, 1, 1), timezones=st.just(UTC)),
)
def test_rare_expressions_over_the_years_match_a_day_walker(
    minutes: str, hours: str, days: str, months: str, weekdays: str, start: datetime
) -> None:
    try:
        expression = CronExpression.parse(f"{minutes} {hours} {days} {months} {weekdays}")
    except CronError:
        return  # a day that no allowed month has, such as 30 in February only
    assert expression.next_after(start) == first_by_days(expression, start)
