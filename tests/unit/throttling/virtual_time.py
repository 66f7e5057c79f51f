"""Virtual time for governor tests: sleeps take no real time, and concurrent sleepers wake in
time order.

``clock()`` is the virtual monotonic time; ``await sleep(seconds)`` parks the caller until the
driver moves time forward. :meth:`VirtualTime.run` runs coroutines to completion: whenever
every task is parked, time jumps to the earliest wake-up.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

SETTLE_YIELDS = 20
"""Event loop turns given to runnable tasks before time moves (locks hand over in a few)."""


class VirtualTime:
    """A virtual monotonic clock and its sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        """The virtual time."""
        return self.now

    def sleep(self, seconds: float) -> Awaitable[None]:
        """Park until the virtual time reaches now + ``seconds``."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), future))
        return future

    async def run(self, *coroutines: Coroutine[Any, Any, T]) -> list[T]:
        """Run the coroutines concurrently, moving time whenever all of them are parked."""
        tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
        while True:
            for _ in range(SETTLE_YIELDS):
                await asyncio.sleep(0)
            if all(task.done() for task in tasks):
                break
            if not self._sleepers:
                # Someone waits on something else than time (real I/O): give it a moment.
                await asyncio.sleep(0.001)
                continue
            moment, _, future = heapq.heappop(self._sleepers)
            if future.done():
                continue  # a cancelled timer: time does not move for it
            self.now = max(self.now, moment)
            future.set_result(None)
        return [task.result() for task in tasks]
