"""Retry timing: Retry-After first, else capped exponential backoff with jitter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.proactive.backoff import (
    MAX_VISIBILITY_SECONDS,
    Backoff,
    retry_time,
    visibility_seconds,
)

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


def test_retry_after_is_honoured_exactly() -> None:
    backoff = Backoff()
    assert backoff.delay(1, 2.0) == 2.0
    assert backoff.delay(7, 30.0) == 30.0


def test_retry_after_of_zero_still_waits_a_second() -> None:
    assert Backoff().delay(1, 0.0) == 1.0


def test_without_retry_after_the_delay_doubles_within_jitter() -> None:
    backoff = Backoff(base_seconds=2.0, cap_seconds=600.0)
    assert [backoff.delay(n, random_fraction=lambda: 0.0) for n in (1, 2, 3, 4)] == [
        1.0,
        2.0,
        4.0,
        8.0,
    ]
    assert [backoff.delay(n, random_fraction=lambda: 1.0) for n in (1, 2, 3, 4)] == [
        2.0,
        4.0,
        8.0,
        16.0,
    ]


@given(attempt=st.integers(min_value=1, max_value=10_000), fraction=st.floats(0.0, 1.0))
def test_the_delay_is_capped_and_never_below_half_the_step(attempt: int, fraction: float) -> None:
    backoff = Backoff(base_seconds=2.0, cap_seconds=600.0)
    delay = backoff.delay(attempt, random_fraction=lambda: fraction)
    step = min(600.0, 2.0 * 2 ** min(attempt - 1, 20))
    assert max(1.0, step / 2) <= delay <= step


def test_attempts_are_bounded() -> None:
    backoff = Backoff(max_attempts=3)
    assert [backoff.exhausted(n) for n in (1, 2, 3, 4)] == [False, False, True, True]


@pytest.mark.parametrize(
    "arguments",
    [{"base_seconds": 0}, {"base_seconds": 5, "cap_seconds": 1}, {"max_attempts": 0}],
)
def test_nonsense_settings_are_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must|need"):
        Backoff(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(2.0, 2), (2.1, 3), (0.0, 1), (-5.0, 1), (8 * 86_400.0, MAX_VISIBILITY_SECONDS)],
)
def test_visibility_rounds_up_and_is_bounded(seconds: float, expected: int) -> None:
    assert visibility_seconds(NOW + timedelta(seconds=seconds), NOW) == expected


def test_retry_time_rounds_up_to_whole_seconds() -> None:
    assert retry_time(NOW, 1.2) == NOW + timedelta(seconds=2)
