"""``GET /api/health`` against the local Cosmos DB and Azurite: a burst costs one check."""

from __future__ import annotations

import asyncio

import azure.functions as func
import pytest

from bot.http import health as health_module
from bot.settings import Settings

pytestmark = pytest.mark.services


def _request() -> func.HttpRequest:
    return func.HttpRequest(method="GET", url="/api/health", body=b"", headers={})


async def test_a_thousand_calls_in_a_burst_read_cosmos_once(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    del bot_settings
    calls = {"cosmos": 0, "queue": 0}
    real_cosmos, real_queue = health_module._check_cosmos, health_module._check_queue

    async def counted_cosmos() -> None:
        calls["cosmos"] += 1
        await real_cosmos()

    async def counted_queue() -> None:
        calls["queue"] += 1
        await real_queue()

    monkeypatch.setattr(health_module, "_check_cosmos", counted_cosmos)
    monkeypatch.setattr(health_module, "_check_queue", counted_queue)
    monkeypatch.setattr(health_module, "_cached", None)

    answers = await asyncio.gather(*(health_module.health(_request()) for _ in range(1000)))

    assert {answer.status_code for answer in answers} == {200}
    # One check per interval; two only if the burst straddles the end of an interval.
    assert 1 <= calls["cosmos"] <= 2
    assert 1 <= calls["queue"] <= 2
