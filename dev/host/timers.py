"""Timer triggers: run a function on its NCRONTAB schedule.

Like the real host, a run never overlaps the previous one: the next occurrence is waited for
only after the previous run ended, and occurrences missed meanwhile are skipped.
``past_due`` is true when a run starts noticeably later than its scheduled time. Schedules are
in UTC, or in the IANA zone named by ``WEBSITE_TIME_ZONE`` (as on Linux plans).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from azure.functions.timer import TimerRequest

from dev.host.app import TimerFunction
from dev.host.invocation import invoke
from dev.host.stopping import pause

logger = logging.getLogger(__name__)

PAST_DUE_AFTER = timedelta(seconds=1)
"""How late a run may start and still count as on time."""


async def run_timer(function: TimerFunction, stop: asyncio.Event, zone: ZoneInfo | None) -> None:
    """Fire ``function`` on its schedule until ``stop`` is set; a run in progress finishes."""
    last: datetime | None = None
    if function.run_on_startup:
        now = datetime.now(UTC)
        await _fire(function, now, now, None, zone, "the host started (RunOnStartup)")
    while True:
        # Never before the previous occurrence: a timer that wakes a little early must not
        # run the same occurrence twice.
        after = max(datetime.now(UTC), last) if last else datetime.now(UTC)
        due = function.schedule.next_after(after, zone)
        if await pause(stop, (due - datetime.now(UTC)).total_seconds()):
            return
        await _fire(
            function, due, datetime.now(UTC), last, zone, f"Timer fired at {due.isoformat()}"
        )
        last = due


async def _fire(
    function: TimerFunction,
    due: datetime,
    started: datetime,
    last: datetime | None,
    zone: ZoneInfo | None,
    reason: str,
) -> None:
    following = function.schedule.next_after(max(due, started), zone)
    request = TimerRequest(
        past_due=started - due > PAST_DUE_AFTER,
        schedule_status={
            "Last": last.isoformat() if last else None,
            "Next": following.isoformat(),
            "LastUpdated": started.isoformat(),
        },
        schedule={"AdjustForDST": True},
    )
    try:
        await invoke(function, request, reason)
    except Exception:  # already logged; the schedule goes on, as in the real host
        logger.debug("timer function %s failed", function.name)
