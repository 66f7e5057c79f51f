"""Timer triggers in the local host: run on start-up, no overlapping runs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from azure.functions.timer import TimerRequest

from bot.cron import CronExpression
from dev.host.app import TimerFunction
from dev.host.timers import run_timer

DEADLINE_SECONDS = 15.0


async def eventually(check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` on the event loop until it holds, or fail after the deadline."""
    until = asyncio.get_running_loop().time() + DEADLINE_SECONDS
    while not check():
        assert asyncio.get_running_loop().time() < until, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def timer(
    schedule: str, function: Callable[[TimerRequest], Awaitable[None]], on_startup: bool = False
) -> TimerFunction:
    return TimerFunction("tick", function, "request", CronExpression.parse(schedule), on_startup)


async def test_run_on_startup_fires_once_at_once_then_waits_for_the_schedule() -> None:
    requests: list[TimerRequest] = []

    async def tick(request: TimerRequest) -> None:
        requests.append(request)

    stop = asyncio.Event()
    task = asyncio.create_task(run_timer(timer("0 0 0 1 1 *", tick, on_startup=True), stop, None))
    await eventually(lambda: len(requests) == 1, "the start-up run")
    stop.set()
    await asyncio.wait_for(task, DEADLINE_SECONDS)
    assert len(requests) == 1
    assert requests[0].past_due is False
    next_run = datetime.fromisoformat(requests[0].schedule_status["Next"])
    assert next_run.month == 1
    assert next_run.day == 1
    assert next_run > datetime.now(UTC)


async def test_a_run_never_overlaps_the_previous_one() -> None:
    started: list[datetime] = []
    active = {"now": 0, "max": 0}
    release = asyncio.Event()
    requests: list[TimerRequest] = []

    async def slow(request: TimerRequest) -> None:
        requests.append(request)
        started.append(datetime.now(UTC))
        active["now"] += 1
        active["max"] = max(active["max"], active["now"])
        if len(started) == 1:
            await release.wait()
        active["now"] -= 1

    stop = asyncio.Event()
    task = asyncio.create_task(run_timer(timer("* * * * * *", slow), stop, None))
    await eventually(lambda: len(started) == 1, "the first run")
    # Let at least two more occurrences pass while the first run is still going.
    first = started[0]
    await eventually(lambda: datetime.now(UTC) > first + timedelta(seconds=2.2), "time to pass")
    assert len(started) == 1
    release.set()
    await eventually(lambda: len(started) >= 2, "the next run")
    stop.set()
    await asyncio.wait_for(task, DEADLINE_SECONDS)
    assert active["max"] == 1
    # Occurrences missed during a long run are skipped, not caught up as past due.
    assert requests[1].past_due is False
    assert requests[1].schedule_status["Last"] is not None
