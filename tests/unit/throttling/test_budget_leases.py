"""The pure parts of budget leases: slices, the sliding count over held shares, and which
shares a send marks as needed (the others lapse for other instances)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.channel_limits import Window
from bot.throttling.budget_leases import LeasedBudget, _Held, share_slice


@pytest.mark.parametrize(("limit", "shares"), [(50, 10), (7, 3), (8, 8), (61, 7)])
def test_slices_sum_to_the_limit(limit: int, shares: int) -> None:
    assert sum(share_slice(limit, shares, index) for index in range(shares)) == limit


def tenant_budget(*held: int) -> LeasedBudget:
    budget = LeasedBudget(("msteams", "t"), (Window(50, 1),), shares=10, hold=1.0)
    for index in held:
        budget.held[index] = _Held("etag", datetime.now(UTC), usable_until=100.0)
    return budget


def test_an_instance_without_shares_cannot_send() -> None:
    assert tenant_budget().earliest(0.0, 0.0) is None


def test_held_shares_allow_their_slices_per_window() -> None:
    budget = tenant_budget(0, 1)  # 10 per second
    for moment in range(10):
        assert budget.earliest(moment / 100, 0.0) == moment / 100
        budget.begin(moment / 100)
        budget.end(moment / 100)
    assert budget.earliest(0.1, 0.0) == pytest.approx(1.0)  # the first answer leaves the window


def test_a_share_past_its_use_limit_no_longer_counts() -> None:
    budget = tenant_budget(0)
    assert budget.earliest(100.0, 0.0) is None


def test_sends_mark_only_the_shares_they_need() -> None:
    budget = tenant_budget(0, 1, 2)
    for moment in range(6):  # 6 sends fit the first share (5) and part of the second
        budget.begin(moment / 100)
        budget.end(moment / 100)
    assert [budget.held[index].used for index in (0, 1, 2)] == [True, True, False]
