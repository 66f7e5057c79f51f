"""Schedules across daylight-saving changes, through the tick's own decisions.

A simulated tick runs :func:`~bot.schedules.documents.plan_tick` on the document and applies
the claim and confirmation the real tick writes. The properties: after a claim ``nextRunAt``
is ``cron.next_after(the occurrence just claimed)``; occurrences are claimed in order, each at
most once, and never twice for a repeated local hour; with ticks at every occurrence, every
occurrence is claimed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cron import CronExpression
from bot.schedules.documents import (
    claimed_document,
    confirmed_document,
    missed_document,
    new_document,
    plan_tick,
    schedule_of,
)
from bot.schedules.messages import occurrence_message
from bot.schedules.service import validate_fields
from bot.storage.timestamps import from_timestamp

TOLERANCE = timedelta(minutes=2)
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # half-hour changes
    "Pacific/Chatham",  # +12:45 / +13:45
)
EXPRESSIONS = (
    "0 0 9 * * *",
    "0 30 2 * * *",  # in the spring-forward gap of Berlin and New York
    "0 0,30 1-3 * * *",
    "0 15 */2 * * *",
    "0 */20 * * * *",
    "30 45 1,2 * * Sun",
)


def document_for(cron: str, zone: str, created: datetime) -> dict[str, Any]:
    fields = validate_fields(
        {
            "conversation": {"channelId": "msteams", "conversationId": "a:1"},
            "cron": cron,
            "timeZone": zone,
            "activities": [{"type": "message", "text": "{localDateTime}"}],
        }
    )
    return new_document("dst", fields, created)


def tick(document: dict[str, Any], now: datetime) -> tuple[dict[str, Any], datetime | None]:
    """One simulated tick: the document after it, and the occurrence it sent (if any)."""
    plan = plan_tick(document, now, TOLERANCE)
    firing = plan.firing
    if firing is None:
        return document, None
    if not firing.send:
        return missed_document(document, firing), None
    message = occurrence_message(schedule_of(document), firing.latest)
    claimed = claimed_document(
        document, firing, message, now=now, retry_at=now + timedelta(minutes=2)
    )
    cron = CronExpression.parse(document["cron"])
    expected_next = cron.next_after(firing.latest, ZoneInfo(document["timeZone"]))
    assert claimed["nextRunAt"] is not None
    assert from_timestamp(claimed["nextRunAt"]) == expected_next
    confirmed = confirmed_document(claimed, message.id)
    assert confirmed is not None
    return confirmed, firing.latest


def transitions(zone: str) -> list[datetime]:
    info = ZoneInfo(zone)
    found = []
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    while moment.year == 2026:
        following = moment + timedelta(hours=1)
        if moment.astimezone(info).utcoffset() != following.astimezone(info).utcoffset():
            found.append(following)
        moment = following
    return found


TRANSITIONS = {zone: transitions(zone) for zone in ZONES}


@st.composite
def schedule_cases(draw: st.DrawFn) -> tuple[str, str, datetime]:
    zone = draw(st.sampled_from(ZONES))
    cron = draw(st.sampled_from(EXPRESSIONS))
    change = draw(st.sampled_from(TRANSITIONS[zone]))
    start = change - timedelta(hours=draw(st.integers(3, 30)))
    return cron, zone, start


def all_occurrences(cron: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    expression = CronExpression.parse(cron)
    found = []
    current = expression.next_after(start, ZoneInfo(zone))
    while current <= end:
        found.append(current)
        current = expression.next_after(current, ZoneInfo(zone))
    return found


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=schedule_cases(), delays=st.lists(st.integers(0, 90), min_size=1, max_size=8))
def test_ticks_at_every_occurrence_send_each_one_once(
    case: tuple[str, str, datetime], delays: list[int]
) -> None:
    cron, zone, start = case
    end = start + timedelta(days=2)
    expected = all_occurrences(cron, zone, start, end)
    document = document_for(cron, zone, start)
    sent: list[datetime] = []
    for index, occurrence in enumerate(expected):
        # A late tick (within the tolerance), then an early one that finds nothing new.
        now = occurrence + timedelta(seconds=delays[index % len(delays)])
        document, fired = tick(document, now)
        if fired is not None:
            sent.append(fired)
        document, again = tick(document, now)
        assert again is None
    # Every expression here has occurrences over 90 s apart, so none supersedes another.
    assert all(later - earlier > timedelta(seconds=90) for earlier, later in pairwise(expected))
    assert sent == expected
    local_times = [moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None) for moment in sent]
    assert len(local_times) == len(set(local_times)), "a local wall-clock time fired twice"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=schedule_cases(), gaps=st.lists(st.integers(1, 4 * 3600), min_size=5, max_size=30))
def test_irregular_ticks_never_send_an_occurrence_twice(
    case: tuple[str, str, datetime], gaps: list[int]
) -> None:
    cron, zone, start = case
    document = document_for(cron, zone, start)
    now = start
    sent: list[datetime] = []
    for gap in gaps:
        now += timedelta(seconds=gap)
        document, fired = tick(document, now)
        if fired is not None:
            assert now - fired <= timedelta(minutes=10)  # the default grace
            sent.append(fired)
    valid = set(all_occurrences(cron, zone, start, now))
    assert set(sent) <= valid
    assert sent == sorted(set(sent))


def test_nine_in_berlin_stays_nine_across_both_changes() -> None:
    start = datetime(2026, 3, 27, 12, tzinfo=UTC)
    document = document_for("0 0 9 * * *", "Europe/Berlin", start)
    sent = []
    for day in range(1, 221):
        # Ticks a minute after 09:00 summer time (07:00 UTC) and winter time (08:00 UTC).
        for hour in (7, 8):
            now = (start + timedelta(days=day)).replace(hour=hour, minute=1)
            document, fired = tick(document, now)
            if fired is not None:
                sent.append(fired)
    berlin = ZoneInfo("Europe/Berlin")
    assert all(moment.astimezone(berlin).strftime("%H:%M") == "09:00" for moment in sent)
    utc_hours = {moment.hour for moment in sent}
    assert utc_hours == {7, 8}  # summer time (UTC+2) and winter time (UTC+1)
    assert len(sent) == len({moment.date() for moment in sent}) >= 200


def test_a_gap_time_fires_once_at_the_end_of_the_gap() -> None:
    start = datetime(2026, 3, 28, 12, tzinfo=UTC)
    document = document_for("0 30 2 * * *", "Europe/Berlin", start)
    assert document["nextRunAt"] == "2026-03-29T01:00:00.000000Z"  # 03:00 CEST, end of the gap
    document, fired = tick(document, datetime(2026, 3, 29, 1, 0, 5, tzinfo=UTC))
    assert fired == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert document["nextRunAt"] == "2026-03-30T00:30:00.000000Z"  # 02:30 CEST


def test_a_repeated_time_fires_once_at_its_first_occurrence() -> None:
    start = datetime(2026, 10, 24, 12, tzinfo=UTC)
    document = document_for("0 30 2 * * *", "Europe/Berlin", start)
    assert document["nextRunAt"] == "2026-10-25T00:30:00.000000Z"  # 02:30 CEST
    document, fired = tick(document, datetime(2026, 10, 25, 0, 30, 1, tzinfo=UTC))
    assert fired is not None
    # The second 02:30 (CET, 01:30 UTC) is not an occurrence.
    document, fired = tick(document, datetime(2026, 10, 25, 1, 30, 1, tzinfo=UTC))
    assert fired is None
    assert document["nextRunAt"] == "2026-10-26T01:30:00.000000Z"
