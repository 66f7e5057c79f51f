"""The queue sender against Azurite, the Cosmos DB emulator and a real local Connector.

Each test has its own queue and poison queue. Messages are handed to the sender as the trigger
would (their decoded body); re-enqueued copies are read back from the queue. Covers checklist
21, 27, 28, 29, 30, 32 and the notBefore, expiresAt, retry and give-up rules.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import pytest
from azure.functions.queue import QueueMessage as FunctionQueueMessage
from azure.storage.queue import QueueMessage

from bot.app import handle_queue_message
from bot.connector.client import connector_client
from bot.connector.sender import ConnectorSender
from bot.delivery.computed_sends import ComputedSends
from bot.delivery.sent_cards import SentCards
from bot.proactive.backoff import MAX_VISIBILITY_SECONDS, Backoff
from bot.proactive.queue_sender import QueueAction, QueueSender
from bot.proactive.service import ProactiveService
from bot.storage.queues import queue
from bot.throttling import GovernedSender, GovernorConfig, RateGovernor, SendKey
from tests.integration.test_proactive_support import (
    TENANT,
    Proactive,
)

if TYPE_CHECKING:
    from azure.storage.queue.aio import QueueClient

pytestmark = pytest.mark.services


DEADLINE_SECONDS = 20.0


class RecordingQueue:
    """A queue client that remembers what the service answered to each send."""

    def __init__(self, client: QueueClient) -> None:
        self.client = client
        self.sent: list[QueueMessage] = []

    async def send_message(self, content: Any, **options: Any) -> QueueMessage:
        result = await self.client.send_message(content, **options)
        self.sent.append(result)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@dataclass
class Queues:
    name: str
    main: RecordingQueue
    poison: QueueClient
    sender: QueueSender
    proactive: Proactive
    poisoned: list[dict[str, Any]] = field(default_factory=list)

    def with_service(self, service: ProactiveService, clock: Callable[[], datetime]) -> QueueSender:
        return QueueSender(
            service,
            queue=lambda: cast("QueueClient", self.main),
            poison_queue=lambda: self.poison,
            queue_name=self.name,
            clock=clock,
        )

    async def read_poison(self) -> list[dict[str, Any]]:
        async for item in self.poison.receive_messages():
            self.poisoned.append(json.loads(item.content))
            await self.poison.delete_message(item)
        return self.poisoned

    async def next_visible(self) -> bytes:
        """Wait for a re-enqueued message to become visible; take it off the queue."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            async for item in self.main.client.receive_messages(max_messages=1):
                await self.main.client.delete_message(item)
                return cast(bytes, item.content)
            await asyncio.sleep(0.1)
        raise AssertionError("no message became visible in time")


@pytest.fixture
async def queues(proactive: Proactive) -> AsyncIterator[Queues]:
    name = f"proactive-test-{uuid.uuid4().hex[:12]}"
    main, poison = queue(name), queue(name + "-poison")
    await main.create_queue()
    await poison.create_queue()
    recording = RecordingQueue(main)
    sender = QueueSender(
        proactive.service,
        queue=lambda: cast("QueueClient", recording),
        poison_queue=lambda: poison,
        queue_name=name,
    )
    try:
        yield Queues(name, recording, poison, sender, proactive)
    finally:
        await main.delete_queue()
        await poison.delete_queue()


def message(conversation_id: str, **fields: Any) -> bytes:
    document: dict[str, Any] = {
        "version": 1,
        "id": f"msg-{uuid.uuid4().hex}",
        "conversation": {"channelId": "msteams", "conversationId": conversation_id},
        "activities": [{"type": "message", "text": "Your report is ready"}],
    }
    document.update(fields)
    return json.dumps(document).encode()


def delay_of(sent: QueueMessage) -> float:
    assert sent.next_visible_on is not None
    assert sent.inserted_on is not None
    return (sent.next_visible_on - sent.inserted_on).total_seconds()


async def test_a_message_is_delivered_with_the_bots_token_and_a_receipt(queues: Queues) -> None:
    stored = await queues.proactive.conversation()
    body = message(stored.conversation_id)

    result = await queues.sender.process(body, dequeue_count=1)

    assert result.action is QueueAction.DELIVERED
    [record] = await queues.proactive.control.activities(stored.conversation_id)
    assert (record["hasAuthorization"], record["authorized"]) == (True, True)
    receipt = await queues.proactive.service.receipt(json.loads(body)["id"])
    assert receipt is not None
    assert (receipt.status, receipt.attempts) == ("Delivered", 1)
    assert receipt.activity_ids == [record["activityId"]]


async def test_the_trigger_adapter_takes_a_functions_queue_message(queues: Queues) -> None:
    stored = await queues.proactive.conversation()
    body = message(stored.conversation_id)
    from bot import app as queue_sender

    queue_sender.proactive_queue_sender._client = queues.sender
    queue_sender.proactive_queue_sender._loop = asyncio.get_running_loop()
    try:
        trigger_message = FunctionQueueMessage(  # type: ignore[no-untyped-call]
            id="1", body=body, dequeue_count=1
        )
        await handle_queue_message(trigger_message)
    finally:
        await queue_sender.proactive_queue_sender.aclose()
    assert len(await queues.proactive.control.activities(stored.conversation_id)) == 1


async def test_the_same_id_again_and_again_posts_once(queues: Queues) -> None:
    """Checklist 27, sequentially."""
    stored = await queues.proactive.conversation()
    body = message(stored.conversation_id)

    actions = [(await queues.sender.process(body)).action for _ in range(3)]

    assert actions == [QueueAction.DELIVERED, QueueAction.DUPLICATE, QueueAction.DUPLICATE]
    assert len(await queues.proactive.posts(stored.conversation_id)) == 1


async def test_the_same_id_in_parallel_posts_once(queues: Queues) -> None:
    """Checklist 27, concurrently: the loser finds the delivery busy or done."""
    stored = await queues.proactive.conversation()
    body = message(stored.conversation_id)

    results = await asyncio.gather(*(queues.sender.process(body) for _ in range(4)))

    actions = sorted(result.action for result in results)
    assert actions.count(QueueAction.DELIVERED) == 1
    assert set(actions) <= {QueueAction.DELIVERED, QueueAction.REQUEUED, QueueAction.DUPLICATE}
    assert len(await queues.proactive.posts(stored.conversation_id)) == 1
    for sent in queues.main.sent:  # a busy copy comes back when the lease would end
        assert delay_of(sent) >= 1


async def test_throttling_is_retried_after_retry_after_and_then_delivered(
    queues: Queues,
) -> None:
    """Checklist 29: re-enqueued with the Connector's delay, delivered on the next attempt."""
    stored = await queues.proactive.conversation()
    await queues.proactive.control.set_fault(status=429, retry_after=2, times=1)
    body = message(stored.conversation_id)

    first = await queues.sender.process(body)

    assert (first.action, first.delay_seconds) == (QueueAction.REQUEUED, 2)
    [requeued] = queues.main.sent
    assert delay_of(requeued) >= 2
    again = await queues.next_visible()
    assert again == body
    second = await queues.sender.process(again)

    assert second.action is QueueAction.DELIVERED
    throttled, delivered = await queues.proactive.posts(stored.conversation_id)
    assert (throttled["status"], delivered["status"]) == (429, 201)
    received = [datetime.fromisoformat(r["receivedAt"]) for r in (throttled, delivered)]
    assert received[1] - received[0] >= timedelta(seconds=2)
    receipt = await queues.proactive.service.receipt(json.loads(body)["id"])
    assert receipt is not None
    assert (receipt.status, receipt.attempts) == ("Delivered", 2)


async def test_a_send_held_back_by_the_governor_is_not_an_attempt(queues: Queues) -> None:
    """docs/rate-limits.md: a deferral by the bot's own governor (a busy conversation, a tenant
    whose budget other instances hold) re-enqueues the message without using up an attempt
    (nor writing to the ledger), so even with a one-attempt limit it is deferred, not
    poisoned, and delivered later."""
    stored = await queues.proactive.conversation()
    moment = [1000.0]  # the governor's clock; the ledger's is the wall clock moved as far

    def now() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=moment[0] - 1000.0)

    governor = RateGovernor(GovernorConfig(lease_seconds=0), shared=False, clock=lambda: moment[0])
    key = SendKey("msteams", TENANT, stored.conversation_id)
    await governor.throttled(key, 60.0)  # the conversation is blocked for a minute
    service = ProactiveService(
        store=queues.proactive.store,
        ledger=queues.proactive.ledger,
        computed=ComputedSends(),
        sent_cards=SentCards(),
        sender=GovernedSender(ConnectorSender(connector_client.get), lambda: governor),
        backoff=Backoff(max_attempts=1),
        clock=now,
    )
    sender = queues.with_service(service, now)
    body = message(stored.conversation_id)
    delivery_id = json.loads(body)["id"]

    deferred = [await sender.process(body) for _ in range(3)]

    assert [r.action for r in deferred] == [QueueAction.REQUEUED] * 3
    assert all((r.delay_seconds or 0) >= 57 for r in deferred)  # when the block ends
    assert await queues.proactive.posts(stored.conversation_id) == []
    # The permit is asked for before the ledger claim: a deferral writes nothing at all.
    assert await service.receipt(delivery_id) is None
    moment[0] += 61.0  # the block is over

    delivered = await sender.process(body)

    assert delivered.action is QueueAction.DELIVERED
    receipt = await service.receipt(delivery_id)
    assert receipt is not None
    assert (receipt.status, receipt.attempts) == ("Delivered", 1)
    assert await queues.read_poison() == []


async def test_transient_failures_give_up_after_the_attempt_limit(queues: Queues) -> None:
    """Checklist 29 (bounded) and 32 (412 is retried with backoff)."""
    stored = await queues.proactive.conversation()
    await queues.proactive.control.set_fault(status=412, times=None)
    clock = [datetime.now(UTC)]
    service = ProactiveService(
        store=queues.proactive.store,
        ledger=queues.proactive.ledger,
        computed=ComputedSends(),
        sent_cards=SentCards(),
        backoff=Backoff(base_seconds=2, cap_seconds=4, max_attempts=3),
        clock=lambda: clock[0],
    )
    sender = queues.with_service(service, lambda: clock[0])
    body = message(stored.conversation_id)

    actions = []
    for _ in range(3):
        result = await sender.process(body)
        actions.append((result.action, result.delay_seconds))
        clock[0] += timedelta(seconds=10)  # past the retry time, without waiting for it

    assert [action for action, _ in actions] == [
        QueueAction.REQUEUED,
        QueueAction.REQUEUED,
        QueueAction.POISONED,
    ]
    assert all(1 <= (delay or 0) <= 4 for _, delay in actions[:2])
    assert len(await queues.proactive.posts(stored.conversation_id)) == 3
    [poisoned] = await queues.read_poison()
    assert poisoned["reason"]["code"] == "PreconditionFailed"
    assert "gave up after 3 attempts" in poisoned["reason"]["message"]
    receipt = await service.receipt(json.loads(body)["id"])
    assert receipt is not None
    assert (receipt.status, receipt.attempts) == ("Failed", 3)


async def test_at_most_once_a_server_error_is_not_retried(queues: Queues) -> None:
    """atMostOnce: 500 is ambiguous, so it is final and the activity is never sent again."""
    stored = await queues.proactive.conversation()
    await queues.proactive.control.set_fault(status=500, times=1)
    body = message(stored.conversation_id, delivery="atMostOnce")

    result = await queues.sender.process(body)
    repeat = await queues.sender.process(body)

    assert (result.action, repeat.action) == (QueueAction.POISONED, QueueAction.DUPLICATE)
    assert len(await queues.proactive.posts(stored.conversation_id)) == 1
    [poisoned] = await queues.read_poison()
    assert poisoned["reason"]["code"] == "ServiceError"
    assert "may or may not have been delivered" in poisoned["reason"]["message"]
    assert poisoned["message"] == json.loads(body)
    receipt = await queues.proactive.service.receipt(json.loads(body)["id"])
    assert receipt is not None
    assert receipt.status == "Unconfirmed"
    assert receipt.last_error is not None
    assert receipt.last_error.code == "ServiceError"


async def test_by_default_an_ambiguous_error_is_resent_as_a_possible_duplicate(
    queues: Queues,
) -> None:
    """atLeastOnce (the default): 500/502/504 are retried after Retry-After and marked."""
    stored = await queues.proactive.conversation()
    await queues.proactive.control.set_fault(status=502, retry_after=2, times=1)
    body = message(stored.conversation_id)

    first = await queues.sender.process(body)

    assert (first.action, first.delay_seconds) == (QueueAction.REQUEUED, 2)
    again = await queues.next_visible()
    second = await queues.sender.process(again)

    assert second.action is QueueAction.DELIVERED
    posts = await queues.proactive.posts(stored.conversation_id)
    assert [p["status"] for p in posts] == [502, 201]
    received = [datetime.fromisoformat(p["receivedAt"]) for p in posts]
    assert received[1] - received[0] >= timedelta(seconds=2)
    receipt = await queues.proactive.service.receipt(json.loads(body)["id"])
    assert receipt is not None
    assert (receipt.status, receipt.attempts) == ("Delivered", 2)
    assert receipt.possible_duplicate
    assert receipt.delivery == "atLeastOnce"


async def test_a_503_is_retried_and_is_no_possible_duplicate(queues: Queues) -> None:
    """503: the service did not take the request; retried after Retry-After, not marked."""
    stored = await queues.proactive.conversation()
    await queues.proactive.control.set_fault(status=503, retry_after=2, times=1)
    body = message(stored.conversation_id, delivery="atMostOnce")

    first = await queues.sender.process(body)
    assert (first.action, first.delay_seconds) == (QueueAction.REQUEUED, 2)
    second = await queues.sender.process(await queues.next_visible())

    assert second.action is QueueAction.DELIVERED
    receipt = await queues.proactive.service.receipt(json.loads(body)["id"])
    assert receipt is not None
    assert receipt.status == "Delivered"
    assert not receipt.possible_duplicate


async def test_at_most_once_an_ambiguous_failure_is_never_resent_but_the_rest_is(
    queues: Queues,
) -> None:
    stored = await queues.proactive.conversation()
    await queues.proactive.control.set_fault(status=504, times=1)
    clock = [datetime.now(UTC)]
    service = ProactiveService(
        store=queues.proactive.store,
        ledger=queues.proactive.ledger,
        computed=ComputedSends(),
        sent_cards=SentCards(),
        clock=lambda: clock[0],
    )
    sender = queues.with_service(service, lambda: clock[0])
    activities = [{"type": "message", "text": "first"}, {"type": "message", "text": "second"}]
    body = message(stored.conversation_id, activities=activities, delivery="atMostOnce")

    first = await sender.process(body)
    clock[0] += timedelta(minutes=11)
    second = await sender.process(body)

    assert (first.action, second.action) == (QueueAction.REQUEUED, QueueAction.POISONED)
    posts = await queues.proactive.posts(stored.conversation_id)
    assert [(p["status"], p["activity"]["text"]) for p in posts] == [
        (504, "first"),
        (201, "second"),
    ]
    receipt = await service.receipt(json.loads(body)["id"])
    assert receipt is not None
    assert receipt.status == "Unconfirmed"
    assert [a.state for a in receipt.activities] == ["Unknown", "Sent"]


async def test_a_gone_conversation_is_poisoned_at_once_and_retired(queues: Queues) -> None:
    """Checklist 30: no retry; the reference is inactive; the receipt says why."""
    stored = await queues.proactive.conversation()
    await queues.proactive.control.set_fault(status=403, code="BotNotInConversationRoster")
    body = message(stored.conversation_id)

    result = await queues.sender.process(body)
    later = await queues.sender.process(message(stored.conversation_id))

    assert (result.action, later.action) == (QueueAction.POISONED, QueueAction.POISONED)
    assert len(await queues.proactive.posts(stored.conversation_id)) == 1
    retired = await queues.proactive.store.get_by_key(stored.key)
    assert retired is not None
    assert (retired.active, retired.reason) == (False, "BotNotInConversationRoster")
    receipt = await queues.proactive.service.receipt(json.loads(body)["id"])
    assert receipt is not None
    assert receipt.status == "Failed"
    assert receipt.last_error is not None
    assert receipt.last_error.code == "BotNotInConversationRoster"
    codes = [item["reason"]["code"] for item in await queues.read_poison()]
    assert codes == ["BotNotInConversationRoster", "ConversationInactive"]


async def test_an_expired_message_is_poisoned_without_sending(queues: Queues) -> None:
    stored = await queues.proactive.conversation()
    body = message(stored.conversation_id, expiresAt="2020-01-01T00:00:00Z")

    result = await queues.sender.process(body)

    assert result.action is QueueAction.POISONED
    assert await queues.proactive.posts() == []
    [poisoned] = await queues.read_poison()
    assert poisoned["reason"]["code"] == "Expired"
    receipt = await queues.proactive.service.receipt(json.loads(body)["id"])
    assert receipt is not None
    assert receipt.status == "Expired"


async def test_a_message_not_yet_due_is_re_enqueued_until_then(queues: Queues) -> None:
    stored = await queues.proactive.conversation()
    soon = datetime.now(UTC) + timedelta(seconds=30)
    far = datetime.now(UTC) + timedelta(days=10)
    body = message(stored.conversation_id, notBefore=soon.isoformat())

    first = await queues.sender.process(body)
    second = await queues.sender.process(message(stored.conversation_id, notBefore=far.isoformat()))

    assert first.action is QueueAction.DEFERRED
    assert 29 <= (first.delay_seconds or 0) <= 31
    assert second.action is QueueAction.DEFERRED
    near, chained = queues.main.sent
    assert 29 <= delay_of(near) <= 31
    assert delay_of(chained) == MAX_VISIBILITY_SECONDS
    assert await queues.proactive.posts() == []
    assert await queues.proactive.service.receipt(json.loads(body)["id"]) is None


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (b'{"version": 1, "id": "broken-json",', [""]),
        (b"\xff\xfe not text", [""]),
        (json.dumps({"version": 1, "id": "x", "activities": []}).encode(), ["activities"]),
        # 300 levels deep in an activity: parsed, it used to fail at serialization and retry.
        (
            b'{"version": 1, "id": "deep", "conversation": {"conversationId": "a:1"}, '
            b'"activities": [{"type": "message", "channelData": '
            + b"[" * 300
            + b"]" * 300
            + b"}]}",
            [""],
        ),
        (b"[" * 100_000 + b"]" * 100_000, [""]),
    ],
)
async def test_an_invalid_message_is_poisoned_at_once_with_the_reason(
    queues: Queues, body: bytes, errors: list[str]
) -> None:
    """Checklist 28: one attempt, not sent, straight to the poison queue."""
    result = await queues.sender.process(body, dequeue_count=1)

    assert result.action is QueueAction.POISONED
    [poisoned] = await queues.read_poison()
    reason = poisoned["reason"]
    assert reason["code"] == "InvalidMessage"
    assert [error["field"] for error in reason["errors"]] == errors
    assert (reason["queue"], reason["dequeueCount"]) == (queues.name, 1)
    assert {"message", "messageText", "messageBase64"} & set(poisoned)
    assert await queues.proactive.posts() == []


async def test_an_invalid_message_with_a_valid_id_gets_a_failed_receipt(queues: Queues) -> None:
    delivery_id = f"invalid-{uuid.uuid4().hex}"
    body = json.dumps({"version": 1, "id": delivery_id, "activities": [{"type": "m"}]}).encode()

    await queues.sender.process(body)

    receipt = await queues.proactive.service.receipt(delivery_id)
    assert receipt is not None
    assert receipt.status == "Failed"
    assert receipt.last_error is not None
    assert receipt.last_error.code == "InvalidMessage"
    assert (
        "exactly one of conversation, user, teamsChannel, reference" in receipt.last_error.message
    )


async def test_a_foreign_service_url_is_poisoned_without_a_token(queues: Queues) -> None:
    """Checklist 21: not retried five times; no token; nothing sent."""
    body = json.dumps(
        {
            "version": 1,
            "id": f"evil-{uuid.uuid4().hex}",
            "reference": {
                "channelId": "msteams",
                "serviceUrl": "https://evil.example/",
                "conversation": {"id": "a:1x", "tenantId": TENANT},
            },
            "claims": {"aud": "someone-else"},
            "activities": [{"type": "message", "text": "give me your token"}],
        }
    ).encode()

    result = await queues.sender.process(body, dequeue_count=1)

    assert result.action is QueueAction.POISONED
    assert result.reason is not None
    assert result.reason.code == "ServiceUrlNotAllowed"
    assert await queues.proactive.control.token_requests() == 0
    assert await queues.proactive.posts() == []
    receipt = await queues.proactive.service.receipt(json.loads(body)["id"])
    assert receipt is not None
    assert receipt.status == "Refused"


async def test_an_unknown_conversation_is_poisoned(queues: Queues) -> None:
    body = message("a:1never-captured")
    result = await queues.sender.process(body)
    assert result.action is QueueAction.POISONED
    [poisoned] = await queues.read_poison()
    assert poisoned["reason"]["code"] == "ConversationNotFound"
    assert await queues.proactive.posts() == []
