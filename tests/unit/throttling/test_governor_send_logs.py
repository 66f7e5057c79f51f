"""The governor with conversations' send logs, on an in-memory stand-in for the ``throttles``
container (the Cosmos DB behaviour is tested in tests/integration/test_throttling_leases.py):
two governors share one conversation's windows, and a grant that comes too late is not used."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)

from bot.throttling.config import GovernorConfig
from bot.throttling.governor import RateGovernor, RateLimitedError, SendKey
from bot.throttling.send_logs import SendLogs
from tests.unit.throttling.virtual_time import VirtualTime

KEY = SendKey("msteams", "tenant-a", "a:1")

pytestmark = pytest.mark.usefixtures("configured")  # the log ids are HMACs of the settings' key


class MemoryContainer:
    """Point reads, creates and etag-conditioned replaces; ``delay`` moves time on a write."""

    def __init__(self, time: VirtualTime) -> None:
        self.time = time
        self.items: dict[str, dict[str, Any]] = {}
        self.etags = itertools.count(1)
        self.write_seconds = 0.0

    def _store(self, body: dict[str, Any]) -> dict[str, Any]:
        self.time.now += self.write_seconds
        stored = {**body, "_etag": f"e{next(self.etags)}"}
        self.items[body["id"]] = stored
        return dict(stored)

    async def read_item(self, item: str, partition_key: str) -> dict[str, Any]:
        if item not in self.items:
            raise CosmosResourceNotFoundError(message="not found")  # type: ignore[no-untyped-call]
        return dict(self.items[item])

    async def create_item(self, body: dict[str, Any]) -> dict[str, Any]:
        if body["id"] in self.items:
            raise CosmosResourceExistsError(message="exists")  # type: ignore[no-untyped-call]
        return self._store(body)

    async def replace_item(self, item: str, body: dict[str, Any], **options: Any) -> dict[str, Any]:
        if item not in self.items:
            raise CosmosResourceNotFoundError(message="not found")  # type: ignore[no-untyped-call]
        if self.items[item]["_etag"] != options.get("etag"):
            raise CosmosAccessConditionFailedError(message="etag")  # type: ignore[no-untyped-call]
        return self._store(body)


def governor(time: VirtualTime, container: MemoryContainer, name: str) -> RateGovernor:
    return RateGovernor(
        GovernorConfig(max_wait_seconds=3.0, margin_seconds=0.0, lease_seconds=0),
        shared=False,
        clock=time.clock,
        sleep=time.sleep,
        logs=SendLogs(container=lambda: container, instance_id=name, wall_clock=time.clock),  # type: ignore[arg-type,return-value]
    )


async def test_two_instances_share_a_conversations_windows() -> None:
    time = VirtualTime()
    container = MemoryContainer(time)
    first, second = governor(time, container, "one"), governor(time, container, "two")
    granted: list[tuple[str, float]] = []

    async def send(rate: RateGovernor, name: str, count: int) -> None:
        for _ in range(count):
            async with rate.permit(KEY):
                granted.append((name, time.now))

    await time.run(send(first, "one", 4), send(second, "two", 4))

    moments = sorted(moment for _, moment in granted)
    assert len(moments) == 8
    assert {name for name, _ in granted} == {"one", "two"}
    # Never more than 7 in 1 s: the other instance's sends count until answered (1 s guard).
    assert all(sum(1 for m in moments if start <= m < start + 1) <= 7 for start in moments)


async def test_a_grant_whose_log_write_was_too_slow_is_not_used() -> None:
    time = VirtualTime()
    container = MemoryContainer(time)
    container.write_seconds = 0.6  # longer than half the arrival guard, every time
    rate = governor(time, container, "one")

    with pytest.raises(RateLimitedError):
        await time.run(rate.reserve(KEY))

    assert rate.stats.granted == 0
    assert len(container.items) == 1  # it did write: the grants came too late to be used


async def test_a_reserved_permit_held_too_long_is_stale() -> None:
    time = VirtualTime()
    container = MemoryContainer(time)
    rate = governor(time, container, "one")

    [permit] = await time.run(rate.reserve(KEY))
    assert permit.fresh
    time.now += 0.6  # a slow ledger claim between the permit and the request
    assert not permit.fresh
    permit.give_back()
    assert not permit.fresh
