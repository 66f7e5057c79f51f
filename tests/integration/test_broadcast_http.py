"""``POST /api/broadcasts`` and ``GET /api/broadcasts/{operationId}`` in process, against the
real services: the answers of the contract, never a 500 for a client's mistake."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import azure.functions as func
import pytest

from bot import app as service_module
from bot.auth.api_callers import get_api_caller_settings
from bot.http.broadcasts import get_broadcast, start_broadcast
from bot.settings import Settings
from dev.channel import ChannelKeys
from tests.integration.test_broadcast_support import Broadcasting, running_broadcasts

pytestmark = pytest.mark.services


@pytest.fixture
async def api(
    bot_settings: Settings, channel_keys: ChannelKeys, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Broadcasting]:
    """The handlers use the test's broadcast service (the process-wide one, for this loop)."""
    del bot_settings
    async with running_broadcasts(channel_keys, monkeypatch) as running:
        get_api_caller_settings.cache_clear()
        service_module.broadcast_service._client = running.service
        service_module.broadcast_service._loop = asyncio.get_running_loop()
        try:
            yield running
        finally:
            service_module.broadcast_service._client = None
            service_module.broadcast_service._loop = None
            get_api_caller_settings.cache_clear()


def post(body: Any, *, content_type: str = "application/json") -> func.HttpRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return func.HttpRequest(
        "POST",
        "http://127.0.0.1/api/broadcasts",
        headers={"Content-Type": content_type},
        body=raw,
    )


def get(operation_id: str) -> func.HttpRequest:
    return func.HttpRequest(
        "GET",
        f"http://127.0.0.1/api/broadcasts/{operation_id}",
        body=b"",
        route_params={"operationId": operation_id},
    )


def body_of(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


async def test_a_broadcast_is_accepted_counted_and_reported(api: Broadcasting) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    for _ in range(3):
        await api.proactive.conversation(tenant_id=tenant)
    body = {
        "audience": {"channelId": "msteams", "tenantId": tenant},
        "activities": [{"type": "message", "text": "Hello"}],
    }

    dry = await start_broadcast(post({**body, "dryRun": True}))
    accepted = await start_broadcast(post(body))

    assert (dry.status_code, body_of(dry)) == (200, {"dryRun": True, "total": 3})
    assert accepted.status_code == 202
    started = body_of(accepted)
    assert set(started) == {"operationId", "total"}
    assert started["total"] == 3
    assert accepted.headers["Location"] == f"/api/broadcasts/{started['operationId']}"
    assert await api.take_messages() == []  # a dry run sends nothing; the fan-out is queued

    await api.drain_fanout()
    await api.deliver(await api.take_messages())
    progress = await get_broadcast(get(started["operationId"]))

    assert progress.status_code == 200
    assert {
        key: body_of(progress)[key] for key in ("status", "total", "sent", "failed", "pending")
    } == {"status": "Completed", "total": 3, "sent": 3, "failed": 0, "pending": 0}


async def test_a_repeat_is_answered_and_a_reused_id_is_a_conflict(api: Broadcasting) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    await api.proactive.conversation(tenant_id=tenant)
    body = {
        "audience": {"tenantId": tenant},
        "activity": {"type": "message", "text": "Hello"},
        "operationId": f"op-{uuid.uuid4().hex}",
    }

    first = await start_broadcast(post(body))
    again = await start_broadcast(post(body))
    other = await start_broadcast(post({**body, "activity": {"type": "message", "text": "Bye"}}))

    assert (first.status_code, again.status_code) == (202, 200)
    assert body_of(again) == body_of(first)
    assert other.status_code == 409
    assert body_of(other)["error"]["code"] == "OperationConflict"


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        (b"{not json", "InvalidJson", ""),
        (b"[]", "InvalidRequest", ""),
        (
            json.dumps({"audience": {}, "activity": {"type": "message"}}).encode(),
            "InvalidRequest",
            "audience",
        ),
        (
            json.dumps({"audience": {"tenantId": "t"}, "activity": {"type": ""}}).encode(),
            "InvalidRequest",
            "activity",
        ),
        (
            json.dumps(
                {"audience": {"tenantId": "t"}, "activity": {"type": "message"}, "dryrun": True}
            ).encode(),
            "InvalidRequest",
            "dryrun",
        ),
    ],
)
async def test_a_bad_body_is_a_400_naming_the_field(
    api: Broadcasting, raw: bytes, code: str, field: str
) -> None:
    response = await start_broadcast(post(raw))

    assert response.status_code == 400
    error = body_of(response)["error"]
    assert error["code"] == code
    assert any(detail["field"].startswith(field) for detail in error["details"])


async def test_not_json_and_too_large_are_refused_before_parsing(api: Broadcasting) -> None:
    wrong_type = await start_broadcast(post(b"audience=all", content_type="text/plain"))
    too_large = await start_broadcast(post(b" " * (2 * 1024 * 1024 + 1)))

    assert (wrong_type.status_code, too_large.status_code) == (415, 413)


async def test_progress_of_an_unknown_or_invalid_id(api: Broadcasting) -> None:
    unknown = await get_broadcast(get("no-such-operation"))
    invalid = await get_broadcast(get("not:valid"))

    assert (unknown.status_code, body_of(unknown)["error"]["code"]) == (404, "OperationNotFound")
    assert (invalid.status_code, body_of(invalid)["error"]["code"]) == (400, "InvalidOperationId")
