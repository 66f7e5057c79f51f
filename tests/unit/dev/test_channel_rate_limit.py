"""The Teams rate-limit windows of the local connector."""

from __future__ import annotations

import pytest

from dev.channel.rate_limit import SlidingWindowLimiter, TeamsRateLimiter, Window


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_seven_per_second_then_refused_until_the_oldest_leaves(clock: FakeClock) -> None:
    limiter = TeamsRateLimiter(enabled=True, clock=clock)
    for _ in range(7):
        assert limiter.check("a:1", "tenant", read=False) is None
        clock.advance(0.1)
    assert limiter.check("a:1", "tenant", read=False) == 1
    clock.advance(0.31)  # the first send is now more than 1 s old
    assert limiter.check("a:1", "tenant", read=False) is None


def test_eight_per_two_seconds(clock: FakeClock) -> None:
    limiter = TeamsRateLimiter(enabled=True, clock=clock)
    for _ in range(8):
        assert limiter.check("a:1", "tenant", read=False) is None
        clock.advance(0.2)  # 5 per second: never over 7/1 s
    # 8 sends in the last 1.6 s: the ninth breaks 8 per 2 s, but not 7 per 1 s.
    wait = limiter.check("a:1", "tenant", read=False)
    assert wait is not None
    clock.advance(0.41)
    assert limiter.check("a:1", "tenant", read=False) is None


def test_sixty_per_thirty_seconds_and_hourly(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter([Window(60, 30), Window(1800, 3600)], clock)
    for _ in range(60):
        assert limiter.acquire("c") is None
        clock.advance(0.4)
    wait = limiter.acquire("c")
    assert wait is not None
    assert 6 < wait <= 7  # the first of the 60 leaves the window after 30 s
    hourly = SlidingWindowLimiter([Window(1800, 3600)], clock)
    for _ in range(1800):
        assert hourly.acquire("c") is None
        clock.advance(1)
    wait = hourly.acquire("c")
    assert wait is not None
    assert wait == pytest.approx(1800)


def test_refused_requests_are_not_counted(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter([Window(2, 1)], clock)
    assert limiter.acquire("c") is None
    assert limiter.acquire("c") is None
    for _ in range(10):
        assert limiter.acquire("c") is not None
    clock.advance(1.01)
    assert limiter.acquire("c") is None


def test_conversations_are_limited_separately(clock: FakeClock) -> None:
    limiter = TeamsRateLimiter(enabled=True, clock=clock)
    for _ in range(7):
        assert limiter.check("a:1", "tenant", read=False) is None
    assert limiter.check("a:1", "tenant", read=False) is not None
    assert limiter.check("a:2", "tenant", read=False) is None


def test_reads_have_double_limits(clock: FakeClock) -> None:
    limiter = TeamsRateLimiter(enabled=True, clock=clock)
    for _ in range(14):
        assert limiter.check("a:1", "tenant", read=True) is None
    assert limiter.check("a:1", "tenant", read=True) is not None
    assert limiter.check("a:1", "tenant", read=False) is None


def test_fifty_per_second_per_tenant(clock: FakeClock) -> None:
    limiter = TeamsRateLimiter(enabled=True, clock=clock)
    for number in range(50):
        assert limiter.check(f"a:{number}", "tenant", read=False) is None
    assert limiter.check("a:new", "tenant", read=False) == 1
    assert limiter.check("a:new", "other tenant", read=False) is None


def test_disabled_limiter_counts_nothing(clock: FakeClock) -> None:
    limiter = TeamsRateLimiter(enabled=False, clock=clock)
    assert all(limiter.check("a:1", "t", read=False) is None for _ in range(100))
    limiter.enabled = True
    assert limiter.check("a:1", "t", read=False) is None


def test_reset_forgets(clock: FakeClock) -> None:
    limiter = TeamsRateLimiter(enabled=True, clock=clock)
    for _ in range(7):
        limiter.check("a:1", "t", read=False)
    limiter.reset()
    assert limiter.check("a:1", "t", read=False) is None
