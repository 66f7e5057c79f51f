"""Broadcasts in process against the real services: audience, fan-out, delivery, progress.

Pages are small (5 recipients) so a dozen conversations make several fan-out pages; a crash
is simulated by an operation store that fails once at the worst moment (recipients queued,
the page not yet committed).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.broadcast.audience import AudienceReader
from bot.broadcast.fanout import FanOut, FanOutAction, page_message
from bot.broadcast.records import OperationConflictError
from bot.broadcast.request import BroadcastRequest
from bot.broadcast.store import OperationStore
from bot.proactive.message import ConversationTarget, parse_message
from bot.proactive.queue_sender import QueueAction
from bot.settings import Settings
from dev.channel import ChannelKeys
from tests.integration.test_broadcast_support import (
    Broadcasting,
    message_ids,
    running_broadcasts,
)

pytestmark = pytest.mark.services


@pytest.fixture
async def broadcasting(
    bot_settings: Settings, channel_keys: ChannelKeys, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Broadcasting]:
    del bot_settings
    async with running_broadcasts(channel_keys, monkeypatch) as running:
        yield running


def request(audience: dict[str, Any], **fields: Any) -> BroadcastRequest:
    body: dict[str, Any] = {
        "audience": audience,
        "activity": {"type": "message", "text": "Maintenance tonight at 22:00"},
    }
    body.update(fields)
    return BroadcastRequest.model_validate(body)


def target_conversation(body: bytes) -> str:
    target = parse_message(body).target
    assert isinstance(target, ConversationTarget)
    return target.conversation_id


async def conversations(broadcasting: Broadcasting, tenant: str, count: int) -> list[str]:
    return [
        (await broadcasting.proactive.conversation(tenant_id=tenant)).conversation_id
        for _ in range(count)
    ]


class FailingOnce(OperationStore):
    """Fails the first page commit, after the page's recipients were queued."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    async def replace(self, document: dict[str, Any]) -> dict[str, Any] | None:
        if not self.failed and document["fanOut"]["nextPage"] == 1:
            self.failed = True
            raise RuntimeError("the worker died here")
        return await super().replace(document)


async def test_a_tenant_broadcast_reaches_each_active_conversation_once(
    broadcasting: Broadcasting,
) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    audience = await conversations(broadcasting, tenant, 12)
    store = broadcasting.proactive.store
    retired = await store.get("msteams", audience[0], tenant)
    assert retired is not None
    await store.mark_inactive(retired, "Uninstalled", now=datetime.now(UTC))
    await broadcasting.proactive.conversation(tenant_id=f"other-{tenant}")
    wanted = request({"channelId": "msteams", "tenantId": tenant})

    assert await broadcasting.service.count(wanted) == 11
    started = await broadcasting.service.start(wanted)
    assert (started.total, started.created) == (11, True)
    progress = await broadcasting.service.progress(started.operation_id)
    assert progress is not None
    assert (progress.status, progress.total, progress.pending) == ("FanningOut", 11, 11)

    results = await broadcasting.drain_fanout()
    bodies = await broadcasting.take_messages()

    assert [result.action for result in results] == [FanOutAction.PAGE] * 3
    assert sorted(target_conversation(body) for body in bodies) == sorted(audience[1:])
    assert len(set(message_ids(bodies))) == 11
    progress = await broadcasting.service.progress(started.operation_id)
    assert progress is not None
    assert (progress.status, progress.enqueued, progress.pending) == ("Sending", 11, 11)

    # One recipient uninstalls the bot between the fan-out and its message.
    gone = await store.get("msteams", audience[1], tenant)
    assert gone is not None
    await store.mark_inactive(gone, "Uninstalled", now=datetime.now(UTC))
    results_sent = await broadcasting.deliver(bodies)

    assert sorted(result.action for result in results_sent).count(QueueAction.DELIVERED) == 10
    progress = await broadcasting.service.progress(started.operation_id)
    assert progress is not None
    assert progress.to_json() | {"createdAt": None, "fannedOutAt": None} == {
        "operationId": started.operation_id,
        "status": "Completed",
        "total": 11,
        "sent": 10,
        "failed": 1,
        "pending": 0,
        "enqueued": 11,
        "failures": {"ConversationInactive": 1},
        "createdAt": None,
        "fannedOutAt": None,
        "cancelled": 0,
        "cancelledAt": None,
        "edits": [],
    }
    activities = await broadcasting.proactive.control.activities()
    reached = [record["conversationId"] for record in activities]
    assert sorted(reached) == sorted(audience[2:])

    # The same message again (the queue delivers at least once): nothing more is sent or
    # counted.
    again = await broadcasting.deliver(bodies[:3])
    assert {result.action for result in again} == {QueueAction.DUPLICATE}
    assert len(await broadcasting.proactive.control.activities()) == 10
    repeated = await broadcasting.service.progress(started.operation_id)
    assert repeated is not None
    assert (repeated.sent, repeated.failed) == (10, 1)


async def test_a_fan_out_that_dies_half_way_resumes_without_duplicates(
    broadcasting: Broadcasting,
) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    audience = await conversations(broadcasting, tenant, 12)
    failing = FailingOnce()
    crashing = FanOut(
        operations=failing, audience=AudienceReader(broadcasting.proactive.store), page_size=5
    )
    started = await broadcasting.service.start(request({"tenantId": tenant}))

    with pytest.raises(RuntimeError, match="died"):
        await crashing.process(page_message(started.operation_id, 0).encode())
    # The host gives the message back: the page is redone, then the rest follows.
    results = await broadcasting.drain_fanout(crashing)
    bodies = await broadcasting.take_messages()

    assert [result.action for result in results] == [FanOutAction.PAGE] * 3
    ids = message_ids(bodies)
    assert len(ids) == 12 + 5  # page 0 was queued twice...
    assert len(set(ids)) == 12  # ...with the very same ids
    operation = await broadcasting.operations.get(started.operation_id)
    assert operation is not None
    assert operation["fanOut"]["enqueued"] == 12

    # An old copy of a page message is dropped.
    stale = await broadcasting.fan_out.process(page_message(started.operation_id, 1).encode())
    assert stale.action is FanOutAction.DROPPED

    await broadcasting.deliver(bodies)

    activities = await broadcasting.proactive.control.activities()
    assert sorted(record["conversationId"] for record in activities) == sorted(audience)
    progress = await broadcasting.service.progress(started.operation_id)
    assert progress is not None
    assert (progress.status, progress.sent, progress.failed, progress.pending) == (
        "Completed",
        12,
        0,
        0,
    )


async def test_starting_again_resumes_a_fan_out_whose_page_message_was_lost(
    broadcasting: Broadcasting,
) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    await conversations(broadcasting, tenant, 8)
    wanted = request({"channelId": "msteams", "tenantId": tenant}, operationId="release-1")
    started = await broadcasting.service.start(wanted)
    async for item in broadcasting.fanout_queue.receive_messages():
        await broadcasting.fanout_queue.delete_message(item)  # lost (say, poisoned)

    again = await broadcasting.service.start(wanted)
    await broadcasting.drain_fanout()
    bodies = await broadcasting.take_messages()

    assert (again.operation_id, again.total, again.created) == ("release-1", 8, False)
    assert started.operation_id == "release-1"
    assert len(set(message_ids(bodies))) == 8
    with pytest.raises(OperationConflictError):
        await broadcasting.service.start(
            request(
                {"channelId": "msteams", "tenantId": tenant},
                operationId="release-1",
                activity={"type": "message", "text": "something else"},
            )
        )


async def test_a_users_broadcast_counts_a_user_without_a_conversation_as_failed(
    broadcasting: Broadcasting,
) -> None:
    users = [f"29:1{uuid.uuid4().hex}" for _ in range(3)]
    for user in users[:2]:
        await broadcasting.proactive.conversation(user_id=user)
    wanted = request({"channelId": "msteams", "users": [*users, users[0]]})

    started = await broadcasting.service.start(wanted)
    await broadcasting.drain_fanout()
    await broadcasting.deliver(await broadcasting.take_messages())

    assert started.total == 3
    progress = await broadcasting.service.progress(started.operation_id)
    assert progress is not None
    assert (progress.status, progress.sent, progress.failed, progress.failures) == (
        "Completed",
        2,
        1,
        {"ConversationNotFound": 1},
    )


async def test_an_expired_broadcast_is_settled_without_queueing(
    broadcasting: Broadcasting,
) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    await conversations(broadcasting, tenant, 3)
    wanted = request({"tenantId": tenant}, expiresAt="2020-01-01T00:00:00Z")

    started = await broadcasting.service.start(wanted)
    await broadcasting.drain_fanout()

    assert await broadcasting.take_messages() == []
    progress = await broadcasting.service.progress(started.operation_id)
    assert progress is not None
    assert (progress.status, progress.failed, progress.failures) == (
        "Completed",
        3,
        {"Expired": 3},
    )


async def test_progress_of_an_unknown_operation_is_none(broadcasting: Broadcasting) -> None:
    assert await broadcasting.service.progress("no-such-operation") is None


@pytest.mark.parametrize(
    "body",
    [b"[" * 300 + b"]" * 300, b'{"version": 1, "operationId": "a:b", "page": 0}', b"\xff"],
    ids=["deep", "invalid-id", "not-utf8"],
)
async def test_a_message_that_is_not_a_page_is_poisoned_with_the_reason(
    broadcasting: Broadcasting, body: bytes
) -> None:
    from bot.settings import get_settings
    from bot.storage.queues import queue

    # The broadcast fixture's own queue name (it replaced the session's settings).
    poison = queue(get_settings().proactive_queue_name + "-fanout-poison")
    try:
        result = await broadcasting.fan_out.process(body)

        assert result.action is FanOutAction.POISONED
        [item] = [item async for item in poison.receive_messages()]
        reason = json.loads(item.content)["reason"]
        assert reason["code"] == "InvalidMessage"
        assert reason["queue"].endswith("-fanout")
        assert reason["errors"]
    finally:
        await poison.delete_queue()
