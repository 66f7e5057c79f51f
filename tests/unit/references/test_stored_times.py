"""Stored times: fixed-width UTC text whose order is the time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.storage.timestamps import from_timestamp, to_timestamp


def test_a_time_is_stored_as_utc_with_microseconds() -> None:
    paris = timezone(timedelta(hours=1))

    assert to_timestamp(datetime(2026, 11, 22, 10, 0, tzinfo=paris)) == (
        "2026-11-22T09:00:00.000000Z"
    )


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_timestamp(datetime(2026, 11, 22, 9, 0))  # naive on purpose


def test_a_stored_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="zone"):
        from_timestamp("2026-11-22T09:00:00")


@given(
    st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1)),
    st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1)),
)
def test_text_order_is_time_order_and_it_round_trips(first: datetime, second: datetime) -> None:
    assert from_timestamp(to_timestamp(first)) == first
    assert (to_timestamp(first) < to_timestamp(second)) == (first < second)
