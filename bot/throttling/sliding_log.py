"""Sliding-window logs: the exact check that a send fits every window, in O(windows) per send.

The channel counts a request when it *arrives*, which is somewhere between the moment the bot
decided to send it and the moment the answer came back: a first send waits for the bot's
token, a busy event loop delays a request, the network jitters. So a send is counted from the
moment it is granted until its answer arrives (it is "in flight"), and afterwards at the time
its answer arrived. A new send at ``t`` fits a window of ``limit`` sends per ``seconds`` when

    in flight + finished sends answered after ``t - seconds``  <  limit

Whatever the delays, this never lets the channel see more than ``limit`` arrivals in any
window: a send arrives before its answer does, and after it was granted (the proof is in
``tests/unit/throttling/test_sliding_log.py``). The price is the round trip: each send holds
its place in a window for that much longer.

A key (a conversation, a tenant) keeps the answer times of its latest finished sends in a ring
buffer as long as its largest window's limit, oldest first (answers are logged as they come,
so in order). The check is one indexed read per window: the ``(limit - in flight)``-th latest
answer must lie at least ``seconds`` before ``t``.

Token buckets would be cheaper still but cannot express "8 per 2 s and 60 per 30 s" without
either exceeding a window or wasting most of the allowance; sliding logs are exact.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence

from bot.channel_limits import Window


class SlidingLog:
    """The latest ``capacity`` times of one key, oldest first.

    Args:
        capacity: How many times to keep (the largest window limit).
    """

    __slots__ = ("_capacity", "_start", "_times")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        # Grows up to capacity (most keys see one or two sends), then wraps around.
        self._times: list[float] = []
        self._start = 0

    def __len__(self) -> int:
        return len(self._times)

    @property
    def latest(self) -> float:
        """The most recent time.

        Raises:
            IndexError: The log is empty.
        """
        return self.nth_latest(1)

    def nth_latest(self, n: int) -> float:
        """The ``n``-th most recent time (1 for the latest).

        Raises:
            IndexError: Fewer than ``n`` times are kept.
        """
        size = len(self._times)
        if not 1 <= n <= size:
            raise IndexError(n)
        return self._times[(self._start + size - n) % size]

    def append(self, moment: float) -> None:
        """Add a time no earlier than :attr:`latest`; the oldest falls out when full.

        Raises:
            ValueError: ``moment`` is earlier than the latest time.
        """
        if self._times and moment < self.latest:
            raise ValueError("times must be appended in order")
        if len(self._times) < self._capacity:
            self._times.append(moment)
            return
        self._times[self._start] = moment
        self._start = (self._start + 1) % self._capacity


class _Key:
    __slots__ = ("in_flight", "log")

    def __init__(self, capacity: int) -> None:
        self.log = SlidingLog(capacity)
        self.in_flight = 0


class WindowLimiter:
    """Per-key sends in flight and answer logs, checked against the same windows.

    Keys with nothing in flight and no answer inside the longest window are forgotten
    (amortized O(1) per send), so a broadcast to a million conversations does not keep a
    million logs.

    Args:
        windows: Every window a key's sends must fit in.
        margin_seconds: Added to every window, against clocks that do not quite agree.
    """

    def __init__(self, windows: Sequence[Window], margin_seconds: float = 0.0) -> None:
        if not windows:
            raise ValueError("a limiter needs at least one window")
        if margin_seconds < 0:
            raise ValueError("margin_seconds must not be negative")
        self._windows = tuple((window.limit, window.seconds + margin_seconds) for window in windows)
        self._capacity = max(window.limit for window in windows)
        self._horizon = max(seconds for _, seconds in self._windows)
        # Ordered by last use: the stalest key is always first.
        self._keys: OrderedDict[Hashable, _Key] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def in_flight(self, key: Hashable) -> int:
        """The key's sends granted and not yet answered."""
        state = self._keys.get(key)
        return state.in_flight if state is not None else 0

    def earliest(self, key: Hashable, moment: float) -> float | None:
        """The earliest time, not before ``moment``, at which one more send fits every window.

        ``None`` when sends in flight fill a window: only an answer can make room.
        """
        state = self._keys.get(key)
        if state is None:
            return moment
        ready = moment
        log = state.log
        for limit, seconds in self._windows:
            room = limit - state.in_flight
            if room <= 0:
                return None
            if len(log) >= room:
                ready = max(ready, log.nth_latest(room) + seconds)
        return ready

    def begin(self, key: Hashable) -> None:
        """A send of ``key`` was granted: it counts from now until it is answered."""
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _Key(self._capacity)
        else:
            self._keys.move_to_end(key)
        state.in_flight += 1

    def end(self, key: Hashable, now: float) -> None:
        """A send of ``key`` was answered (or failed) at ``now``: it counts at ``now``."""
        state = self._keys.get(key)
        if state is None or state.in_flight < 1:
            raise ValueError("end() without begin()")
        state.in_flight -= 1
        state.log.append(now)
        self._keys.move_to_end(key)
        self._forget_idle(now)

    def cancel(self, key: Hashable) -> None:
        """A send of ``key`` was granted but never made: it counts nothing."""
        state = self._keys.get(key)
        if state is None or state.in_flight < 1:
            raise ValueError("cancel() without begin()")
        state.in_flight -= 1

    def _forget_idle(self, now: float) -> None:
        while self._keys:
            key, state = next(iter(self._keys.items()))
            if state.in_flight or not state.log or state.log.latest + self._horizon > now:
                return
            del self._keys[key]
