"""When to try again: ``Retry-After`` first, else exponential backoff with jitter.

Pure functions. A retry is a queue message made visible later (never a sleep in the function),
and Azure Storage queues take whole seconds of visibility, at most seven days; a longer wait is
chained (the message is re-enqueued again when it comes back early).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_VISIBILITY_SECONDS = 7 * 24 * 60 * 60
"""The longest visibility timeout Azure Storage queues accept."""
MIN_DELAY_SECONDS = 1.0
"""Never come back sooner than this (a Retry-After of 0 still means "not right now")."""


@dataclass(frozen=True)
class Backoff:
    """Retry timing of proactive deliveries.

    Attributes:
        base_seconds: The first delay without ``Retry-After`` (before jitter).
        cap_seconds: The longest delay without ``Retry-After``.
        max_attempts: Tries of a delivery in all (the first included) before it fails.
    """

    base_seconds: float = 2.0
    cap_seconds: float = 600.0
    max_attempts: int = 8

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.cap_seconds < self.base_seconds:
            raise ValueError("need 0 < base_seconds <= cap_seconds")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delay(
        self,
        attempt: int,
        retry_after: float | None = None,
        *,
        random_fraction: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1 for the first).

        ``Retry-After`` is honoured as given (the Connector knows best), at least
        :data:`MIN_DELAY_SECONDS`. Otherwise the delay grows as ``base * 2**(attempt-1)`` up to
        the cap, and a random half of it is jitter ("equal jitter"), so clients throttled
        together do not come back together.
        """
        if retry_after is not None and math.isfinite(retry_after):
            return min(max(retry_after, MIN_DELAY_SECONDS), float(MAX_VISIBILITY_SECONDS))
        exponent = min(max(attempt, 1) - 1, 62)
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0**exponent)
        half = ceiling / 2
        return max(MIN_DELAY_SECONDS, half + half * random_fraction())

    def exhausted(self, attempt: int) -> bool:
        """Whether attempt ``attempt`` was the last one allowed."""
        return attempt >= self.max_attempts


def visibility_seconds(until: datetime, now: datetime) -> int:
    """The visibility timeout that makes a message come back no earlier than ``until``.

    Rounded up to whole seconds, at least 1 (0 would hand it straight back), at most the
    queue's seven days; when ``until`` is further away the message comes back early and is
    re-enqueued again.
    """
    seconds = math.ceil((until - now).total_seconds())
    return min(max(seconds, 1), MAX_VISIBILITY_SECONDS)


def retry_time(now: datetime, delay_seconds: float) -> datetime:
    """``now`` plus the delay, rounded up to whole seconds as the queue will round it."""
    return now + timedelta(seconds=math.ceil(delay_seconds))
