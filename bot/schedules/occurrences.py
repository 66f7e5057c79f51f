"""When a schedule fires: its next occurrence, the latest due one, and the misfire decision.

Occurrences are the instants of :meth:`bot.cron.CronExpression.next_after` in the schedule's
zone (its daylight-saving rule: a wall-clock time in the spring-forward gap fires once, at the
end of the gap; a repeated fall-back time fires once, at its first occurrence), limited to
``[startAt, endAt]``.

Misfires. The tick runs every ``SCHEDULE_TIMER`` period, so every occurrence is handled a
little late; the *tolerance* (twice the longest gap between ticks, at least a minute: see
:func:`bot.schedules.tick.tick_timing`) is how late an occurrence may be and still count as on
time. When a tick finds a schedule due, it looks at the *latest* occurrence up to now:

- it is sent when it is at most the grace late: the tolerance for ``skip``, and
  ``max(misfireGraceSeconds, tolerance)`` for ``sendLatest``;
- otherwise nothing is sent (the occurrence was missed);
- occurrences before the latest one are never sent: a schedule that was down for a day does not
  flood the chat with a day of reminders. So a schedule firing more often than the tick sends
  at most once per tick.

Either way ``nextRunAt`` becomes the first occurrence after the latest due one, which is after
now: the schedule resumes on its cron.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.cron import CronExpression
from bot.schedules.records import MisfirePolicy

ONE_SECOND = timedelta(seconds=1)
_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class Timing:
    """A schedule's occurrences: cron, zone and window.

    Attributes:
        cron: The expression.
        zone: The zone of its fields; ``None`` for UTC.
        start_at: No occurrence before this.
        end_at: No occurrence after this.
    """

    cron: CronExpression
    zone: tzinfo | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None

    def first_after(self, moment: datetime) -> datetime | None:
        """The first occurrence strictly after ``moment`` (in UTC), or ``None`` past ``endAt``."""
        if self.start_at is not None and moment < self.start_at:
            candidate = self.cron.next_after(self.start_at - _JUST_BEFORE, self.zone)
        else:
            candidate = self.cron.next_after(moment, self.zone)
        if self.end_at is not None and candidate > self.end_at:
            return None
        return candidate

    def latest_until(self, floor: datetime, moment: datetime) -> datetime | None:
        """The latest occurrence in ``[floor, moment]`` (ignoring ``startAt``/``endAt``)."""
        return latest_occurrence(self.cron, self.zone, floor, moment)


def latest_occurrence(
    cron: CronExpression, zone: tzinfo | None, floor: datetime, moment: datetime
) -> datetime | None:
    """The latest occurrence in ``[floor, moment]``, or ``None`` when there is none.

    A search, not a walk: an every-second schedule found a day late costs a few dozen
    :meth:`~bot.cron.CronExpression.next_after` calls, not 86,400. It keeps an occurrence in
    ``(low, moment]`` and none in ``(high, moment]``, probing back from ``moment`` with doubling
    steps and then halving ``(low, high]`` down to one second, which holds exactly one whole
    second: the latest occurrence.
    """
    low = floor - _JUST_BEFORE
    if cron.next_after(low, zone) > moment:
        return None
    high = moment
    step = ONE_SECOND
    while moment - step > low:
        probe = moment - step
        if cron.next_after(probe, zone) <= moment:
            low = probe
            break
        high = probe
        step *= 2
    while high - low > ONE_SECOND:
        middle = low + (high - low) / 2
        if cron.next_after(middle, zone) <= moment:
            low = middle
        else:
            high = middle
    return cron.next_after(low, zone)


@dataclass(frozen=True)
class Firing:
    """What a tick does with a due schedule.

    Attributes:
        latest: The latest due occurrence (the one that is sent or missed).
        send: Whether ``latest`` is sent (on time or within the grace) or missed.
        next_run_at: The first occurrence after ``latest``; ``None`` past ``endAt``.
    """

    latest: datetime
    send: bool
    next_run_at: datetime | None


def effective_grace(policy: MisfirePolicy, grace: timedelta, tolerance: timedelta) -> timedelta:
    """How late an occurrence may be sent under a policy (see the module docstring)."""
    if policy is MisfirePolicy.SKIP:
        return tolerance
    return max(grace, tolerance)


def plan_firing(timing: Timing, next_run_at: datetime, now: datetime, grace: timedelta) -> Firing:
    """Decide what a tick at ``now`` does with a schedule due at ``next_run_at`` (<= ``now``).

    Args:
        timing: The schedule's occurrences.
        next_run_at: Its stored next occurrence.
        now: The tick's time.
        grace: The effective grace (:func:`effective_grace`).
    """
    if timing.end_at is not None and next_run_at > timing.end_at:
        return Firing(latest=next_run_at, send=False, next_run_at=None)
    upper = now if timing.end_at is None else min(now, timing.end_at)
    latest = timing.latest_until(next_run_at, upper) or next_run_at
    return Firing(
        latest=latest,
        send=now - latest <= grace,
        next_run_at=timing.first_after(max(latest, next_run_at)),
    )
