"""Shared throttle records: one read per tenant per cache period, and advisory only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from azure.cosmos.exceptions import CosmosHttpResponseError, CosmosResourceNotFoundError

from bot.storage.timestamps import to_timestamp
from bot.throttling.store import ThrottleRecords

pytestmark = pytest.mark.usefixtures("configured")

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class SlowContainer:
    """Answers point reads after a pause, counting them; or fails as told."""

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document = document
        self.reads = 0
        self.error: Exception | None = None

    async def read_item(self, item: str, partition_key: str) -> dict[str, Any]:
        self.reads += 1
        await asyncio.sleep(0.01)
        if self.error is not None:
            raise self.error
        if self.document is None:
            raise CosmosResourceNotFoundError(message="missing")  # type: ignore[no-untyped-call]
        return self.document


def records(container: SlowContainer, clock: list[float]) -> ThrottleRecords:
    return ThrottleRecords(
        container=lambda: cast("Any", container),
        cache_seconds=1.0,
        clock=lambda: clock[0],
        wall_clock=lambda: NOW,
    )


async def test_concurrent_sends_share_one_read_and_its_cache() -> None:
    container = SlowContainer({"until": to_timestamp(NOW + timedelta(seconds=5))})
    clock = [0.0]
    shared = records(container, clock)

    answers = await asyncio.gather(*(shared.until("msteams", "t") for _ in range(50)))

    assert set(answers) == {NOW + timedelta(seconds=5)}
    assert container.reads == 1
    clock[0] = 0.5
    await shared.until("msteams", "t")
    assert container.reads == 1
    clock[0] = 1.5
    await shared.until("msteams", "t")
    assert container.reads == 2


async def test_a_record_in_the_past_or_missing_is_no_throttle() -> None:
    clock = [0.0]

    assert await records(SlowContainer(), clock).until("msteams", "t") is None
    past = SlowContainer({"until": to_timestamp(NOW - timedelta(seconds=1))})
    assert await records(past, clock).until("msteams", "t") is None


async def test_a_record_far_in_the_future_is_capped_at_an_hour() -> None:
    container = SlowContainer({"until": to_timestamp(NOW + timedelta(days=3))})

    assert await records(container, [0.0]).until("msteams", "t") == NOW + timedelta(hours=1)


async def test_an_unreadable_record_does_not_stop_the_sends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    container = SlowContainer()
    container.error = CosmosHttpResponseError(status_code=503, message="unavailable")  # type: ignore[no-untyped-call]

    assert await records(container, [0.0]).until("msteams", "t") is None
    assert "could not read" in caplog.text
