"""Hostile input through the real entry points: a 4xx or a poison message with its reason.

A host of its own (own queues, yearly timer) gets deep JSON (300 levels), NaN, duplicate keys,
huge strings and wrong types on every route that reads a body, and deep JSON on its proactive
and fan-out queues. Nothing answers 500, nothing refused is stored, and a refused queue message
goes to its poison queue on the first attempt, naming the reason (docs/security-model.md).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from dev.channel import ChannelControl
from dev.stack import HostProcess, LocalStack
from tests.e2e.security_tokens import bearer, channel_message, post_to_bot
from tests.e2e.side_hosts import side_host

pytestmark = pytest.mark.e2e

DEEP = 300
POISON_DEADLINE_SECONDS = 60.0


def deep_value(levels: int = DEEP) -> str:
    return "[" * levels + '"x"' + "]" * levels


def with_raw(document: dict[str, Any], field: str, raw: str) -> bytes:
    """``document`` as JSON with ``field`` holding the raw JSON text ``raw``."""
    return json.dumps({**document, field: "__RAW__"}).replace('"__RAW__"', raw).encode()


ACTIVITY = {"type": "message", "text": "hostile"}


def hostile_bodies(document: dict[str, Any], field: str) -> dict[str, bytes]:
    """Hostile variants of a valid body: each must be refused with a 4xx."""
    text = json.dumps(document)
    return {
        "deep": with_raw(document, field, deep_value()),
        "deep-activity": with_raw(document, "activity", '{"type": "message", "channelData": '
                                  + deep_value() + "}"),
        "very-deep": b"[" * 100_000 + b"]" * 100_000,
        "nan": with_raw(document, field, "NaN"),
        "infinity": with_raw(document, field, "-Infinity"),
        # The last of two equal keys wins, as in every mainstream parser: here a wrong type.
        "duplicate-key": ("{" + text[1:-1] + ', "' + field + '": 42}').encode(),
        "wrong-type": json.dumps({**document, field: [1, 2, 3]}).encode(),
        "huge-string": json.dumps({**document, field: "x" * 300_000}).encode(),
        "not-utf8": b"\xff\xfe{}",
        "array": b"[]",
    }  # fmt: skip


@pytest.fixture(scope="module")
def hostile_host(e2e_stack: LocalStack) -> Iterator[HostProcess]:
    with side_host(e2e_stack, "hostile-input", {}) as host:
        yield host


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as client:
        yield client


async def call(
    session: aiohttp.ClientSession, host: HostProcess, method: str, path: str, body: bytes
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    async with session.request(method, host.url + path, data=body, headers=headers) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text) if text else None
        except ValueError:
            return response.status, text


ROUTE_BODIES: dict[str, tuple[dict[str, Any], str]] = {
    "/api/sendactivity": ({"conversationId": "a:hostile", "activity": ACTIVITY}, "conversationId"),
    "/api/sendtoreference": (
        {"conversationReference": {"channelId": "msteams"}, "activity": ACTIVITY},
        "conversationReference",
    ),
    "/api/broadcasts": (
        {"audience": {"channelId": "msteams"}, "activity": ACTIVITY, "dryRun": True},
        "audience",
    ),
    "/api/schedules": (
        {
            "conversation": {"channelId": "msteams", "conversationId": "a:hostile"},
            "cron": "0 9 * * *",
            "activities": [ACTIVITY],
        },
        "cron",
    ),
}
"""A valid body of each route that reads one, and the field the mutations replace."""


@pytest.mark.parametrize("path", sorted(ROUTE_BODIES))
async def test_hostile_bodies_are_4xx_and_store_nothing(
    hostile_host: HostProcess, session: aiohttp.ClientSession, path: str
) -> None:
    document, field = ROUTE_BODIES[path]
    for case, body in hostile_bodies(document, field).items():
        schedule_id = f"hostile-{uuid.uuid4().hex[:12]}"
        if path == "/api/schedules" and body.startswith(b"{"):
            body = b'{"id": "' + schedule_id.encode() + b'", ' + body[1:]
        status, answer = await call(session, hostile_host, "POST", path, body)

        assert 400 <= status < 500, f"{path} {case}: {status} {answer}"
        assert isinstance(answer, dict), f"{path} {case}: {answer}"
        assert answer["error"]["code"], f"{path} {case}"
        if case.startswith("deep") or case == "very-deep":
            assert answer["error"]["code"] == "InvalidJson", f"{path} {case}: {answer}"
            assert "deeper than 64 levels" in answer["error"]["message"]
        if path == "/api/schedules":
            stored, _ = await call(
                session, hostile_host, "GET", f"/api/schedules/{schedule_id}", b""
            )
            assert stored == 404, f"{case}: a refused schedule was stored"


async def test_a_schedule_patch_with_deep_json_is_refused(
    hostile_host: HostProcess, session: aiohttp.ClientSession
) -> None:
    status, answer = await call(
        session,
        hostile_host,
        "PATCH",
        "/api/schedules/none",
        b'{"name": ' + deep_value().encode() + b"}",
    )

    assert (status, answer["error"]["code"]) == (400, "InvalidJson")


async def test_deep_json_from_the_channel_is_400_without_a_turn(
    hostile_host: HostProcess, channel: ChannelControl
) -> None:
    conversation_id = f"a:hostile-{uuid.uuid4().hex}"
    activity = await channel_message(channel, conversation_id)
    token = await channel.channel_token(activity["serviceUrl"])

    answer = await post_to_bot(
        hostile_host.url + "/api/messages",
        with_raw(activity, "channelData", deep_value()),
        authorization=bearer(token),
    )

    assert answer.status == 400, answer.body
    assert answer.body["error"]["code"] == "InvalidJson"
    assert await channel.activities(conversation_id) == []


async def put_and_read_poison(host: HostProcess, queue_name: str, text: str, marker: str) -> Any:
    """Put ``text`` on the host's queue; the poison message that holds ``marker``."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.queue.aio import QueueClient

    from bot.storage.queues import expand_connection_string

    connection = expand_connection_string(host.environment["AzureWebJobsStorage"])
    async with (
        QueueClient.from_connection_string(connection, queue_name) as queue,
        QueueClient.from_connection_string(connection, queue_name + "-poison") as poison,
    ):
        for client in (queue, poison):
            with contextlib.suppress(ResourceExistsError):
                await client.create_queue()
        # The host reads base64 messages (host.json messageEncoding).
        await queue.send_message(base64.b64encode(text.encode()).decode())
        deadline = time.monotonic() + POISON_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            for item in await poison.peek_messages(max_messages=32):
                decoded = base64.b64decode(item.content).decode()
                if marker in decoded:
                    return json.loads(decoded)
            await asyncio.sleep(0.2)
    raise AssertionError(f"nothing reached {queue_name}-poison in time")


async def test_deep_json_on_the_proactive_queue_is_poisoned_at_once(
    hostile_host: HostProcess,
) -> None:
    marker = f"hostile-{uuid.uuid4().hex}"
    text = (
        '{"version": 1, "id": "' + marker + '", "conversation": {"conversationId": "a:1"}, '
        '"activities": [{"type": "message", "channelData": ' + deep_value() + "}]}"
    )

    poisoned = await put_and_read_poison(
        hostile_host, hostile_host.environment["PROACTIVE_QUEUE_NAME"], text, marker
    )

    reason = poisoned["reason"]
    assert reason["code"] == "InvalidMessage"
    assert "deeper than 64 levels" in reason["message"]
    assert reason["dequeueCount"] == 1  # the first attempt, never retried
    assert poisoned["messageText"] == text  # kept as text: the wrapper stays within the limit


async def test_deep_json_on_the_fanout_queue_is_poisoned_with_the_reason(
    hostile_host: HostProcess,
) -> None:
    marker = f"hostile-{uuid.uuid4().hex}"
    text = '{"version": 1, "operationId": "' + marker + '", "page": ' + deep_value() + "}"
    queue_name = hostile_host.environment["PROACTIVE_QUEUE_NAME"] + "-fanout"

    poisoned = await put_and_read_poison(hostile_host, queue_name, text, marker)

    assert poisoned["reason"]["code"] == "InvalidMessage"
    assert poisoned["reason"]["queue"] == queue_name
