"""The health check's cache: one check per interval, shared by concurrent callers."""

from __future__ import annotations

import asyncio

import azure.functions as func
import pytest

from bot.http import health as health_module


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Stub dependency checks that count their calls (the queue one is 'down')."""
    calls = {"cosmos": 0, "queue": 0}

    async def cosmos() -> None:
        calls["cosmos"] += 1
        await asyncio.sleep(0)

    async def queue() -> None:
        calls["queue"] += 1
        raise ConnectionError("refused")

    monkeypatch.setattr(health_module, "_check_cosmos", cosmos)
    monkeypatch.setattr(health_module, "_check_queue", queue)
    monkeypatch.setattr(health_module, "_cached", None)
    return calls


def _request() -> func.HttpRequest:
    return func.HttpRequest(method="GET", url="/api/health", body=b"")


async def test_concurrent_calls_share_one_check(checks: dict[str, int]) -> None:
    answers = await asyncio.gather(*(health_module.health(_request()) for _ in range(50)))

    assert checks == {"cosmos": 1, "queue": 1}
    assert {answer.status_code for answer in answers} == {503}


async def test_a_new_check_runs_once_the_interval_is_over(
    checks: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(health_module, "_clock", lambda: now[0])

    await health_module.health(_request())
    now[0] += health_module.CACHE_SECONDS - 0.1
    await health_module.health(_request())
    assert checks["cosmos"] == 1

    now[0] += 0.1
    await health_module.health(_request())
    assert checks["cosmos"] == 2
