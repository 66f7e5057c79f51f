"""The sliding-window check: exact, in order, never above any window."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channel_limits import TEAMS_LIMITS, Window
from bot.throttling.sliding_log import SlidingLog, WindowLimiter

TEAMS_CONVERSATION = TEAMS_LIMITS.conversation


def fits_every_window(times: list[float], windows: tuple[Window, ...]) -> bool:
    """Brute force: no half-open window ``(t - seconds, t]`` holds more than ``limit``."""
    ordered = sorted(times)
    for window in windows:
        for end in ordered:
            inside = [moment for moment in ordered if end - window.seconds < moment <= end]
            if len(inside) > window.limit:
                return False
    return True


def greedy(count: int, windows: tuple[Window, ...], margin: float = 0.0) -> list[float]:
    """Sequential sends, each answered at once, as early as allowed."""
    limiter = WindowLimiter(windows, margin)
    times: list[float] = []
    now = 0.0
    for _ in range(count):
        moment = limiter.earliest("k", now)
        assert moment is not None
        limiter.begin("k")
        limiter.end("k", moment)
        times.append(moment)
        now = moment
    return times


class TestSlidingLog:
    def test_keeps_the_latest_times_in_order(self) -> None:
        log = SlidingLog(3)
        for moment in (1.0, 2.0, 3.0, 4.0, 5.0):
            log.append(moment)

        assert len(log) == 3
        assert [log.nth_latest(n) for n in (1, 2, 3)] == [5.0, 4.0, 3.0]
        assert log.latest == 5.0

    def test_refuses_a_time_out_of_order(self) -> None:
        log = SlidingLog(2)
        log.append(2.0)

        with pytest.raises(ValueError, match="in order"):
            log.append(1.0)

    def test_refuses_to_read_beyond_what_it_keeps(self) -> None:
        log = SlidingLog(2)
        log.append(1.0)

        with pytest.raises(IndexError):
            log.nth_latest(2)


class TestWindowLimiter:
    def test_an_unknown_key_may_send_now(self) -> None:
        assert WindowLimiter(TEAMS_CONVERSATION).earliest("a", 7.5) == 7.5

    def test_teams_schedule_is_the_fastest_the_windows_allow(self) -> None:
        times = greedy(200, TEAMS_CONVERSATION)

        # 7 at once, the 8th a second later, then 8 per 2 s until 60 in 30 s...
        assert times[:9] == [0.0] * 7 + [1.0, 2.0]
        assert times[59] == 14.0
        assert times[60] == 30.0
        # ...so the 200th cannot go before 94 s (the e2e bound is computed the same way).
        assert times[199] == 94.0
        assert fits_every_window(times, TEAMS_CONVERSATION)

    def test_the_hourly_window_holds_the_1801st_send_for_an_hour(self) -> None:
        times = greedy(1801, TEAMS_CONVERSATION)

        assert times[1799] < 3600.0
        assert times[1800] == 3600.0

    def test_the_margin_widens_every_window(self) -> None:
        times = greedy(9, (Window(7, 1), Window(8, 2)), margin=0.05)

        assert times[7] == 1.05
        assert times[8] == 2.05

    def test_keys_do_not_share_windows(self) -> None:
        limiter = WindowLimiter((Window(1, 10),))
        limiter.begin("a")
        limiter.end("a", 0.0)

        assert limiter.earliest("a", 0.0) == 10.0
        assert limiter.earliest("b", 0.0) == 0.0

    def test_a_send_in_flight_counts_until_it_is_answered(self) -> None:
        limiter = WindowLimiter((Window(2, 1),))
        limiter.begin("a")
        limiter.begin("a")

        assert limiter.earliest("a", 0.0) is None  # only an answer makes room
        limiter.end("a", 5.0)  # answered late (a slow first token, say)
        assert limiter.in_flight("a") == 1
        # The late answer counts from when it came, not from when it was granted.
        assert limiter.earliest("a", 5.0) == 6.0

    def test_end_without_begin_is_a_mistake(self) -> None:
        with pytest.raises(ValueError, match="without begin"):
            WindowLimiter((Window(1, 1),)).end("a", 0.0)

    def test_idle_keys_are_forgotten(self) -> None:
        limiter = WindowLimiter((Window(7, 1), Window(8, 2)))
        for index in range(100):
            limiter.begin(f"conversation-{index}")
            limiter.end(f"conversation-{index}", float(index))

        # Only the keys whose sends are still inside the longest window are kept.
        assert len(limiter) <= 3
        assert limiter.earliest("conversation-99", 99.0) == 99.0

    def test_a_key_in_flight_is_never_forgotten(self) -> None:
        limiter = WindowLimiter((Window(1, 1),))
        limiter.begin("slow")
        for index in range(10):
            limiter.begin(f"k{index}")
            limiter.end(f"k{index}", float(index))

        assert limiter.in_flight("slow") == 1
        assert limiter.earliest("slow", 100.0) is None

    @settings(max_examples=300, deadline=None)
    @given(
        steps=st.lists(
            st.tuples(
                st.sampled_from(["start", "start", "answer"]),
                st.integers(min_value=0, max_value=400),
                st.floats(min_value=0, max_value=1, allow_nan=False),
            ),
            min_size=1,
            max_size=150,
        )
    )
    def test_arrivals_never_exceed_a_window_whatever_the_delays(
        self, steps: list[tuple[str, int, float]]
    ) -> None:
        """Sends start when allowed and are answered in any order after any delay; each
        reaches the channel at any moment between its grant and its answer. The channel
        never sees more than a window allows (the property the governor relies on)."""
        windows = (Window(3, 1), Window(4, 2), Window(10, 30))
        limiter = WindowLimiter(windows)
        now = 1000.0  # a monotonic clock's magnitude, not subnormal floats
        in_flight: list[float] = []  # grant times
        arrivals: list[float] = []
        for action, gap_ms, position in steps:
            now += gap_ms / 1000
            if action == "start":
                ready = limiter.earliest("k", now)
                if ready is not None and ready <= now:
                    limiter.begin("k")
                    in_flight.append(now)
            elif in_flight:
                granted = in_flight.pop(int(position * len(in_flight)) % len(in_flight))
                arrivals.append(granted + (now - granted) * position)
                limiter.end("k", now)
        assert fits_every_window(arrivals, windows)
