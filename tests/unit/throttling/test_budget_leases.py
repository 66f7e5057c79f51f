"""The pure parts of budget leases: slices, the sliding count over held shares, which shares a
send marks as needed (the others lapse for other instances), and when a held share is given up
for an instance that waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.channel_limits import Window
from bot.throttling.budget_leases import LeasedBudget, Want, _Held, share_slice, want_of


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


def test_an_instance_at_its_full_slices_marks_every_share_it_holds() -> None:
    budget = tenant_budget(0, 1, 2)  # 15 per second
    for moment in range(14):
        budget.begin(moment / 100)
        budget.end(moment / 100)
    for index in (0, 1, 2):
        budget.held[index].used = False  # renewed: to be marked anew by the next sends
    budget.begin(0.5)  # 14 answered within the window: this send needs all three shares
    assert [budget.held[index].used for index in (0, 1, 2)] == [True, True, True]


NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def want(holds: int, *, ago: float = 0.0, instance: str = "other") -> Want:
    return Want(instance, NOW - timedelta(seconds=ago), holds)


def test_a_share_goes_to_an_instance_holding_two_fewer() -> None:
    budget = tenant_budget(0, 1, 2)
    assert budget.gives_up(want(1), "me", NOW, 10.0)
    assert not budget.gives_up(want(2), "me", NOW, 10.0)  # 3 and 2: even enough, kept
    assert not budget.gives_up(want(0, instance="me"), "me", NOW, 10.0)
    assert not budget.gives_up(None, "me", NOW, 10.0)


def test_a_want_older_than_the_lease_is_ignored() -> None:
    budget = tenant_budget(0, 1, 2, 3)
    assert budget.gives_up(want(0, ago=9.0), "me", NOW, 10.0)
    assert not budget.gives_up(want(0, ago=11.0), "me", NOW, 10.0)


def test_one_share_per_waiting_instance_until_it_could_have_taken_it() -> None:
    budget = tenant_budget(0, 1, 2, 3, 4, 5)
    budget.given["other"] = NOW - timedelta(seconds=1)
    # Written before the given share was free (the hold and two guards after): its count
    # does not include that share yet.
    assert not budget.gives_up(want(0, ago=0.5), "me", NOW, 10.0)
    budget.given["other"] = NOW - timedelta(seconds=5)
    assert budget.gives_up(want(1), "me", NOW, 10.0)


def test_a_want_is_read_from_a_share_document() -> None:
    document = {"wantedBy": "b", "wantedAt": "2026-12-04T09:00:00.000Z", "wantedHolds": 2}
    assert want_of(document) == Want("b", NOW, 2)
    assert want_of({"owner": "a"}) is None
    assert want_of({**document, "wantedHolds": "2"}) is None
    assert want_of({**document, "wantedAt": "yesterday"}) is None
