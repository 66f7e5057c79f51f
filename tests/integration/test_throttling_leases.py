"""Budget leases and send logs on the Cosmos DB emulator: several governors (as several
instances) share one tenant's and one conversation's windows.

The governors grant permits only (nothing is sent): what is asserted is how many permits began
inside any window, which is what the channel would count.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import pytest

from bot.throttling.budget_leases import GUARD_SECONDS, BudgetLeases
from bot.throttling.config import GovernorConfig
from bot.throttling.governor import RateGovernor, RateLimitedError, SendKey
from bot.throttling.send_logs import SendLogs
from tests.integration.test_proactive_support import Proactive

pytestmark = pytest.mark.services

LEASE_SECONDS = 3.0


def instance() -> RateGovernor:
    return RateGovernor(
        GovernorConfig(max_wait_seconds=1.0),
        shared=False,
        leases=BudgetLeases(lease_seconds=LEASE_SECONDS, tenant_shares=5),
        logs=SendLogs(),
    )


def most_in_any_window(starts: list[float], seconds: float) -> int:
    starts = sorted(starts)
    most = 0
    first = 0
    for last, moment in enumerate(starts):
        while starts[first] <= moment - seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


async def drain(
    governor: RateGovernor, keys: list[SendKey], starts: list[float], stop: float
) -> None:
    """Send permits for ``keys`` in turn until ``stop``; deferred ones are tried again."""
    index = 0
    while time.monotonic() < stop:
        try:
            async with governor.permit(keys[index % len(keys)]):
                starts.append(time.monotonic())
                await asyncio.sleep(0.002)
            index += 1
        except RateLimitedError:
            await asyncio.sleep(0.05)


async def test_three_instances_together_keep_a_tenants_limit(proactive: Proactive) -> None:
    del proactive
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    governors = [instance() for _ in range(3)]
    # Many conversations: only the tenant's 50/s binds.
    keys = [SendKey("msteams", tenant, f"a:{tenant}-{n}") for n in range(400)]
    starts: list[list[float]] = [[], [], []]
    stop = time.monotonic() + 4.0
    await asyncio.gather(*(drain(g, keys[i::3], starts[i], stop) for i, g in enumerate(governors)))

    every = [moment for part in starts for moment in part]
    most = most_in_any_window(every, 1.0)
    print(f"\n3 governors, one tenant: {len(every)} permits, at most {most} in any 1 s")
    assert most <= 50
    assert len(every) >= 50  # they did share the budget rather than starve


async def test_three_instances_together_keep_a_conversations_limits(
    proactive: Proactive,
) -> None:
    del proactive
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    governors = [instance() for _ in range(3)]
    key = SendKey("msteams", tenant, f"a:{tenant}")
    starts: list[list[float]] = [[], [], []]
    stop = time.monotonic() + 3.0
    await asyncio.gather(*(drain(g, [key], starts[i], stop) for i, g in enumerate(governors)))

    every = [moment for part in starts for moment in part]
    print(f"\n3 governors, one conversation: {[len(part) for part in starts]} permits")
    assert most_in_any_window(every, 1.0) <= 7
    assert most_in_any_window(every, 2.0) <= 8
    # No instance owns the conversation: each sends when the shared log has room.
    assert len(every) >= 8
    assert sum(1 for part in starts if part) >= 2


async def test_a_dead_instances_shares_come_back_after_the_lease(proactive: Proactive) -> None:
    del proactive
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    holder, other = instance(), instance()
    keys = [SendKey("msteams", tenant, f"a:{tenant}-{n}") for n in range(200)]
    await drain(holder, keys, [], time.monotonic() + 1.5)  # takes every share, then "dies"
    died = time.monotonic()

    granted_at: float | None = None
    # Not longer than the lease, the hold (the 1 s window) and the guard, with room for a
    # slow machine: past that deadline the tenant counts as stalled.
    deadline = died + LEASE_SECONDS + 1.0 + GUARD_SECONDS + 5.0
    while time.monotonic() < deadline:
        try:
            # A conversation the dead instance never sent to: only the tenant's shares matter.
            async with other.permit(SendKey("msteams", tenant, f"a:{tenant}-fresh")):
                granted_at = time.monotonic()
            break
        except RateLimitedError:
            await asyncio.sleep(0.05)
    assert granted_at is not None, "the dead instance's shares never came back"
    print(f"\nthe other instance sent {granted_at - died:.2f} s after the holder died")


async def test_an_instance_holding_every_share_gives_some_to_one_that_waits(
    proactive: Proactive,
) -> None:
    """Both alive and busy: the later instance is not left without a share until the end (a
    broadcast's messages it dequeued would wait and be deferred while the first one sends)."""
    del proactive
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    scope = ("tenant", "msteams", tenant)
    holder, newcomer = instance(), instance()
    keys = [SendKey("msteams", tenant, f"a:{tenant}-{n}") for n in range(400)]
    holder_starts: list[float] = []
    newcomer_starts: list[float] = []
    stop = time.monotonic() + 30.0
    holding = asyncio.create_task(drain(holder, keys[::2], holder_starts, stop))
    try:
        deadline = time.monotonic() + 10.0
        while shares_held(holder, scope) < 5:  # it took every share and keeps them in use
            assert time.monotonic() < deadline, "the first instance never held every share"
            await asyncio.sleep(0.05)
        joined = time.monotonic()
        # The handover waits for the holder's renewal (half a lease), then the hold and the
        # guard; a slow machine gets a few seconds more.
        handover = joined + LEASE_SECONDS + 1.0 + 2 * GUARD_SECONDS + 5.0
        await drain(newcomer, keys[1::2], newcomer_starts, handover)
        sending_both = shares_held(holder, scope) >= 1 and shares_held(newcomer, scope) >= 1
    finally:
        holding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await holding
    every = holder_starts + newcomer_starts
    most = most_in_any_window(every, 1.0)
    after = [moment for moment in holder_starts if newcomer_starts and moment > newcomer_starts[0]]
    print(
        f"\nthe newcomer's first permit {newcomer_starts[0] - joined:.2f} s after it joined"
        if newcomer_starts
        else "\nthe newcomer got no permit",
        f"; shares held at the end: {shares_held(holder, scope)} and "
        f"{shares_held(newcomer, scope)}; at most {most} in any 1 s",
    )
    assert newcomer_starts, "the instance holding every share never gave one up"
    assert after, "the holder stopped sending: the shares changed hands, they were not shared"
    assert sending_both
    assert most <= 50


def shares_held(governor: RateGovernor, scope: tuple[str, ...]) -> int:
    leases = governor.leases
    assert leases is not None
    return leases.shares_held(scope)
