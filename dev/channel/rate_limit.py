"""Teams' published bot rate limits, enforced with sliding windows.

Per bot and conversation ("thread"), sending or creating: 7 per 1 s, 8 per 2 s, 60 per 30 s,
1,800 per hour; reads (members) have twice that. Per app and tenant: 50 requests per second.
Over the limit Teams answers 429 with ``Retry-After``. A refused request is not counted, so a
client that waits ``Retry-After`` seconds gets through.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """At most ``limit`` requests in any ``seconds`` long interval."""

    limit: int
    seconds: float


TEAMS_SEND_WINDOWS: tuple[Window, ...] = (
    Window(7, 1),
    Window(8, 2),
    Window(60, 30),
    Window(1800, 3600),
)
TEAMS_READ_WINDOWS: tuple[Window, ...] = (
    Window(14, 1),
    Window(16, 2),
    Window(120, 30),
    Window(3600, 3600),
)
TEAMS_TENANT_WINDOWS: tuple[Window, ...] = (Window(50, 1),)


class SlidingWindowLimiter:
    """Counts requests per key against several windows at once.

    Args:
        windows: Every window a request must fit in.
        clock: Monotonic seconds, replaceable in unit tests.
    """

    def __init__(
        self, windows: Sequence[Window], clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not windows:
            raise ValueError("a limiter needs at least one window")
        self._windows = tuple(windows)
        self._horizon = max(window.seconds for window in self._windows)
        self._clock = clock
        self._arrivals: dict[Hashable, deque[float]] = {}

    def retry_after(self, key: Hashable) -> float | None:
        """Seconds until a request for ``key`` would fit; None when it fits now."""
        now = self._clock()
        arrivals = self._arrivals.get(key)
        if not arrivals:
            return None
        while arrivals and arrivals[0] <= now - self._horizon:
            arrivals.popleft()
        wait = 0.0
        for window in self._windows:
            inside = [moment for moment in arrivals if moment > now - window.seconds]
            if len(inside) >= window.limit:
                # The request fits once enough of the oldest arrivals have left the window.
                leaving = inside[len(inside) - window.limit]
                wait = max(wait, leaving + window.seconds - now)
        return wait if wait > 0 else None

    def count(self, key: Hashable) -> None:
        """Count one request for ``key`` now."""
        self._arrivals.setdefault(key, deque()).append(self._clock())

    def acquire(self, key: Hashable) -> float | None:
        """Count a request if it fits; else the seconds to wait (and nothing is counted)."""
        wait = self.retry_after(key)
        if wait is None:
            self.count(key)
        return wait

    def reset(self) -> None:
        """Forget every request."""
        self._arrivals.clear()


class TeamsRateLimiter:
    """Per conversation and per tenant limits for one bot, as Teams applies them.

    Args:
        enabled: Whether :meth:`check` limits anything.
        clock: Monotonic seconds, replaceable in unit tests.
        send_windows: Limits on sends and creates per conversation.
        read_windows: Limits on reads per conversation.
        tenant_windows: Limits on every request per tenant.
    """

    def __init__(
        self,
        *,
        enabled: bool = False,
        clock: Callable[[], float] = time.monotonic,
        send_windows: Sequence[Window] = TEAMS_SEND_WINDOWS,
        read_windows: Sequence[Window] = TEAMS_READ_WINDOWS,
        tenant_windows: Sequence[Window] = TEAMS_TENANT_WINDOWS,
    ) -> None:
        self.enabled = enabled
        self._send = SlidingWindowLimiter(send_windows, clock)
        self._read = SlidingWindowLimiter(read_windows, clock)
        self._tenant = SlidingWindowLimiter(tenant_windows, clock)

    def check(
        self, conversation_id: str | None, tenant_id: str | None, *, read: bool
    ) -> int | None:
        """Count a request, or refuse it.

        Args:
            conversation_id: The conversation (None for create conversation, which only
                counts against the tenant).
            tenant_id: The tenant, or None when unknown (counted under one shared key).
            read: The request reads (members) rather than sends.

        Returns:
            None when the request may proceed, else the whole seconds for ``Retry-After``.
        """
        if not self.enabled:
            return None
        conversation_limiter = self._read if read else self._send
        waits = [self._tenant.retry_after(tenant_id or "")]
        if conversation_id is not None:
            waits.append(conversation_limiter.retry_after(conversation_id))
        refused = [wait for wait in waits if wait is not None]
        if refused:
            return max(1, math.ceil(max(refused)))
        self._tenant.count(tenant_id or "")
        if conversation_id is not None:
            conversation_limiter.count(conversation_id)
        return None

    def reset(self) -> None:
        """Forget every counted request."""
        for limiter in (self._send, self._read, self._tenant):
            limiter.reset()
