"""The shortest gap between consecutive occurrences: ``SCHEDULE_MIN_INTERVAL_SECONDS``.

A cron's gaps repeat with its fields, so a horizon of occurrences shows the shortest one:
from now, the next 100 occurrences or a day of them, whichever comes first (a schedule with
more than 100 occurrences a day repeats its pattern within hours; one with fewer shows at least
a day). Daylight saving time can shorten one gap per transition (``0 0 1,3 * * *`` in
Europe/Berlin is two hours apart, but one hour on the night the clocks go forward), so the gaps
around each offset change of the zone in the coming year are measured too.

Cron resolution is one second and every instant fires at most once, so a minimum of one second
or less holds for every schedule and is not measured.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from bot.cron import CronExpression
from bot.schedules.occurrences import ONE_SECOND, latest_occurrence

HORIZON_OCCURRENCES = 100
HORIZON_SPAN = timedelta(days=1)
TRANSITION_OCCURRENCES = 4
"""Occurrences measured from the last one before each offset change."""
TRANSITION_LOOKAHEAD_DAYS = 366


def shortest_gap_below(
    cron: CronExpression, zone: tzinfo | None, minimum: timedelta, now: datetime
) -> timedelta | None:
    """A gap between consecutive occurrences shorter than ``minimum``, if the horizon has one.

    Args:
        cron: The expression.
        zone: The zone of its fields; ``None`` for UTC.
        minimum: The shortest gap allowed.
        now: Where the horizon starts.

    Returns:
        The shortest gap found when it is below ``minimum``; ``None`` when none is.
    """
    if minimum <= ONE_SECOND:
        return None
    gap = _walk(cron, zone, cron.next_after(now, zone), HORIZON_OCCURRENCES, HORIZON_SPAN)
    if gap is not None and gap < minimum:
        return gap
    if zone is None:
        return None
    for change in offset_changes(zone, now, TRANSITION_LOOKAHEAD_DAYS):
        before = latest_occurrence(
            cron, zone, change - timedelta(days=TRANSITION_LOOKAHEAD_DAYS), change - ONE_SECOND
        )
        start = before if before is not None else cron.next_after(change, zone)
        around = _walk(cron, zone, start, TRANSITION_OCCURRENCES, None)
        if around is not None and around < minimum:
            return around
    return None


def _walk(
    cron: CronExpression,
    zone: tzinfo | None,
    first: datetime,
    occurrences: int,
    span: timedelta | None,
) -> timedelta | None:
    """The shortest gap among ``occurrences`` occurrences from ``first``, or a ``span`` of them."""
    shortest: timedelta | None = None
    previous = first
    for _ in range(occurrences - 1):
        following = cron.next_after(previous, zone)
        gap = following - previous
        shortest = gap if shortest is None else min(shortest, gap)
        previous = following
        if span is not None and previous - first >= span:
            break
    return shortest


def offset_changes(zone: tzinfo, start: datetime, days: int) -> list[datetime]:
    """The instants in ``(start, start + days]`` at which the zone's UTC offset changes.

    Offsets are compared a day apart, then each change is narrowed to the second (zone
    transitions fall on whole seconds). Two changes within one day would be seen as none;
    no zone has those.
    """
    changes: list[datetime] = []
    base = int(start.astimezone(UTC).timestamp())
    day = 86_400
    for index in range(days):
        low, high = base + index * day, base + (index + 1) * day
        if _offset(zone, low) == _offset(zone, high):
            continue
        target = _offset(zone, high)
        while high - low > 1:
            middle = (low + high) // 2
            if _offset(zone, middle) == target:
                high = middle
            else:
                low = middle
        changes.append(datetime.fromtimestamp(high, UTC))
    return changes


def _offset(zone: tzinfo, timestamp: int) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, zone).utcoffset()
