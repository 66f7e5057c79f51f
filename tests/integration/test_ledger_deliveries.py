"""The delivery ledger against the Cosmos DB emulator: each activity sent at most once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.delivery import (
    ActivityState,
    AlreadyDone,
    Claim,
    ClaimResult,
    DeliveryError,
    DeliveryLedger,
    DeliveryMode,
    DeliveryStatus,
    IdempotencyConflictError,
    InProgress,
    LeaseLostError,
    delivery_document_id,
)
from bot.settings import Settings
from bot.storage.containers import DELIVERIES
from bot.storage.cosmos import container

pytestmark = pytest.mark.services

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
THROTTLED = DeliveryError("HTTP429", "the Connector throttled the send")


def unique_id() -> str:
    return f"test:{uuid.uuid4().hex}"


def claimed(result: ClaimResult) -> Claim:
    assert isinstance(result, Claim), result
    return result


async def raw_document(delivery_id: str) -> dict[str, Any]:
    document_id = delivery_document_id(delivery_id)
    return dict(await container(DELIVERIES.name).read_item(document_id, partition_key=document_id))


class Connector:
    """Counts sends per activity index, as the Connector would see them."""

    def __init__(self) -> None:
        self.sends: Counter[int] = Counter()

    async def send(self, index: int) -> str:
        self.sends[index] += 1
        return f"activity-{index}-{self.sends[index]}"


async def deliver(
    ledger: DeliveryLedger, connector: Connector, delivery_id: str, count: int, now: datetime
) -> ClaimResult:
    """The worker loop of the ledger's documentation."""
    result = await ledger.claim(delivery_id, count, now=now)
    if not isinstance(result, Claim):
        return result
    while (index := result.next_index) is not None:
        await ledger.begin(result, now=now)
        activity_id = await connector.send(index)
        await ledger.record_sent(result, index, activity_id, now=now)
    await ledger.complete(result, now=now)
    return result


async def test_a_delivery_is_sent_once_and_its_receipt_lists_the_activity_ids(
    bot_settings: Settings,
) -> None:
    ledger, connector, delivery_id = DeliveryLedger(), Connector(), unique_id()

    first = await deliver(ledger, connector, delivery_id, 3, T0)
    again = await deliver(ledger, connector, delivery_id, 3, T0 + timedelta(minutes=5))
    receipt = await ledger.get_receipt(delivery_id)

    assert isinstance(first, Claim)
    assert isinstance(again, AlreadyDone)
    assert connector.sends == Counter({0: 1, 1: 1, 2: 1})
    assert receipt is not None
    assert receipt.status is DeliveryStatus.DELIVERED
    assert receipt.attempts == 1
    assert receipt.activity_ids == ["activity-0-1", "activity-1-1", "activity-2-1"]
    assert receipt.completed_at == T0
    assert receipt.last_error is None
    assert receipt.to_json()["activityIds"] == receipt.activity_ids
    assert again.receipt == receipt


async def test_the_same_id_claimed_in_parallel_has_exactly_one_winner(
    bot_settings: Settings,
) -> None:
    delivery_id = unique_id()

    results = await asyncio.gather(
        *(DeliveryLedger().claim(delivery_id, 2, now=T0) for _ in range(12))
    )

    assert sum(isinstance(result, Claim) for result in results) == 1
    assert all(isinstance(result, Claim | InProgress) for result in results)
    for result in results:
        if isinstance(result, InProgress):
            assert result.until == T0 + timedelta(seconds=60)


async def test_parallel_deliveries_of_one_message_send_each_activity_once(
    bot_settings: Settings,
) -> None:
    connector, delivery_id = Connector(), unique_id()

    results = await asyncio.gather(
        *(deliver(DeliveryLedger(), connector, delivery_id, 2, T0) for _ in range(10))
    )

    assert connector.sends == Counter({0: 1, 1: 1})
    assert sum(isinstance(result, Claim) for result in results) == 1


async def test_a_retry_after_a_partial_success_skips_the_sent_activities(
    bot_settings: Settings,
) -> None:
    ledger, connector, delivery_id = DeliveryLedger(), Connector(), unique_id()
    claim = claimed(await ledger.claim(delivery_id, 3, now=T0))
    await ledger.begin(claim, now=T0)
    await ledger.record_sent(claim, 0, await connector.send(0), now=T0)
    # Activity 1 is throttled: certainly not delivered, so it stays pending.
    retry_at = T0 + timedelta(seconds=30)
    retrying = await ledger.record_retry(claim, THROTTLED, retry_at, now=T0)

    early = await ledger.claim(delivery_id, 3, now=T0 + timedelta(seconds=10))
    retried = await deliver(ledger, connector, delivery_id, 3, retry_at)
    receipt = await ledger.get_receipt(delivery_id)

    assert retrying.status is DeliveryStatus.RETRYING
    assert retrying.retry_at == retry_at
    assert retrying.last_error == THROTTLED
    assert isinstance(early, InProgress)
    assert early.until == retry_at
    assert isinstance(retried, Claim)
    assert connector.sends == Counter({0: 1, 1: 1, 2: 1})
    assert receipt is not None
    assert receipt.status is DeliveryStatus.DELIVERED
    assert receipt.attempts == 2
    assert receipt.activity_ids == ["activity-0-1", "activity-1-1", "activity-2-1"]
    with pytest.raises(LeaseLostError):
        await ledger.record_sent(claim, 1, "late", now=T0)


async def test_an_expired_lease_is_taken_over_and_the_in_flight_activity_is_not_resent(
    bot_settings: Settings,
) -> None:
    ledger, connector, delivery_id = DeliveryLedger(), Connector(), unique_id()
    crashed = claimed(await ledger.claim(delivery_id, 2, now=T0, lease_seconds=60))
    await ledger.begin(crashed, now=T0)
    await connector.send(0)  # ...and the worker vanishes before recording it

    while_leased = await ledger.claim(delivery_id, 2, now=T0 + timedelta(seconds=59))
    taken = await deliver(ledger, connector, delivery_id, 2, T0 + timedelta(seconds=61))
    receipt = await ledger.get_receipt(delivery_id)

    assert isinstance(while_leased, InProgress)
    assert isinstance(taken, Claim)
    assert taken.attempt == 2
    assert connector.sends == Counter({0: 1, 1: 1})
    assert receipt is not None
    assert receipt.status is DeliveryStatus.UNCONFIRMED
    assert [item.state for item in receipt.activities] == [
        ActivityState.UNKNOWN,
        ActivityState.SENT,
    ]
    assert receipt.last_error is not None
    assert receipt.last_error.code == "LeaseExpired"


async def test_at_least_once_the_in_flight_activity_of_an_expired_lease_is_resent(
    bot_settings: Settings,
) -> None:
    ledger, connector, delivery_id = DeliveryLedger(), Connector(), unique_id()
    crashed = claimed(
        await ledger.claim(
            delivery_id, 2, now=T0, lease_seconds=60, delivery=DeliveryMode.AT_LEAST_ONCE
        )
    )
    await ledger.begin(crashed, now=T0)
    await connector.send(0)  # ...and the worker vanishes before recording it

    await deliver(ledger, connector, delivery_id, 2, T0 + timedelta(seconds=61))
    receipt = await ledger.get_receipt(delivery_id)

    assert connector.sends == Counter({0: 2, 1: 1})
    assert receipt is not None
    assert receipt.status is DeliveryStatus.DELIVERED
    assert [item.possible_duplicate for item in receipt.activities] == [True, False]
    assert receipt.possible_duplicate


async def test_at_most_once_a_takeover_that_ends_the_delivery_says_so(
    bot_settings: Settings,
) -> None:
    ledger, delivery_id = DeliveryLedger(), unique_id()
    crashed = claimed(await ledger.claim(delivery_id, 1, now=T0, lease_seconds=60))
    await ledger.begin(crashed, now=T0)

    taken = await ledger.claim(delivery_id, 1, now=T0 + timedelta(seconds=61))
    again = await ledger.claim(delivery_id, 1, now=T0 + timedelta(seconds=62))

    assert isinstance(taken, AlreadyDone)
    assert taken.finished_now
    assert taken.receipt.status is DeliveryStatus.UNCONFIRMED
    assert isinstance(again, AlreadyDone)
    assert not again.finished_now


async def test_a_worker_that_lost_its_lease_stops_but_its_send_is_recorded(
    bot_settings: Settings,
) -> None:
    ledger, delivery_id = DeliveryLedger(), unique_id()
    slow = claimed(await ledger.claim(delivery_id, 2, now=T0, lease_seconds=60))
    await ledger.begin(slow, now=T0)
    later = T0 + timedelta(seconds=90)
    successor = claimed(await ledger.claim(delivery_id, 2, now=later))

    with pytest.raises(LeaseLostError):
        await ledger.record_sent(slow, 0, "sent-by-the-slow-worker", now=later)
    with pytest.raises(LeaseLostError):
        await ledger.begin(slow, now=later)
    assert successor.next_index == 1
    await ledger.begin(successor, now=later)
    receipt = await ledger.record_sent(successor, 1, "sent-by-the-successor", now=later)

    assert receipt.status is DeliveryStatus.DELIVERED
    assert receipt.activity_ids == ["sent-by-the-slow-worker", "sent-by-the-successor"]


async def test_parallel_takeovers_of_an_expired_lease_have_one_winner(
    bot_settings: Settings,
) -> None:
    delivery_id = unique_id()
    claimed(await DeliveryLedger().claim(delivery_id, 1, now=T0, lease_seconds=5))

    results = await asyncio.gather(
        *(DeliveryLedger().claim(delivery_id, 1, now=T0 + timedelta(seconds=10)) for _ in range(8))
    )

    assert sum(isinstance(result, Claim) for result in results) == 1
    document = await raw_document(delivery_id)
    assert document["attempts"] == 2


async def test_a_claim_that_crashed_before_any_send_loses_nothing(
    bot_settings: Settings,
) -> None:
    ledger, connector, delivery_id = DeliveryLedger(), Connector(), unique_id()
    claimed(await ledger.claim(delivery_id, 2, now=T0, lease_seconds=5))

    await deliver(ledger, connector, delivery_id, 2, T0 + timedelta(seconds=6))
    receipt = await ledger.get_receipt(delivery_id)

    assert connector.sends == Counter({0: 1, 1: 1})
    assert receipt is not None
    assert receipt.status is DeliveryStatus.DELIVERED


async def test_an_ambiguous_outcome_is_never_resent(bot_settings: Settings) -> None:
    ledger, connector, delivery_id = DeliveryLedger(), Connector(), unique_id()
    claim = claimed(await ledger.claim(delivery_id, 2, now=T0))
    await ledger.begin(claim, now=T0)
    await connector.send(0)  # the request times out: it may have arrived
    await ledger.record_unknown(claim, 0, DeliveryError("Timeout", "no answer in 15 s"), now=T0)
    await ledger.record_sent(claim, 1, await connector.send(1), now=T0)

    again = await deliver(ledger, connector, delivery_id, 2, T0 + timedelta(hours=1))

    assert isinstance(again, AlreadyDone)
    assert again.receipt.status is DeliveryStatus.UNCONFIRMED
    assert again.receipt.activity_ids == [None, "activity-1-1"]
    assert connector.sends == Counter({0: 1, 1: 1})


async def test_a_refused_delivery_is_final(bot_settings: Settings) -> None:
    ledger, delivery_id = DeliveryLedger(), unique_id()
    claim = claimed(await ledger.claim(delivery_id, 1, now=T0))

    receipt = await ledger.fail(
        claim,
        DeliveryError("ConversationInactive", "the conversation was uninstalled"),
        DeliveryStatus.REFUSED,
        now=T0,
    )
    again = await ledger.claim(delivery_id, 1, now=T0 + timedelta(days=1))

    assert receipt.status is DeliveryStatus.REFUSED
    assert isinstance(again, AlreadyDone)
    assert again.receipt.last_error == DeliveryError(
        "ConversationInactive", "the conversation was uninstalled"
    )
    assert again.receipt.activity_ids == [None]


async def test_an_id_reused_for_other_activities_is_a_conflict(bot_settings: Settings) -> None:
    ledger, delivery_id = DeliveryLedger(), unique_id()
    await ledger.claim(delivery_id, 1, now=T0, payload_hash="a" * 64)

    with pytest.raises(IdempotencyConflictError):
        await ledger.claim(delivery_id, 2, now=T0)
    with pytest.raises(IdempotencyConflictError):
        await ledger.claim(delivery_id, 1, now=T0, payload_hash="b" * 64)


async def test_the_ledger_document_holds_the_id_only_as_a_field(bot_settings: Settings) -> None:
    ledger, delivery_id = DeliveryLedger(ttl_seconds=3600), unique_id()
    await ledger.claim(delivery_id, 1, now=T0)

    document = await raw_document(delivery_id)

    assert document["id"].startswith("v1-")
    assert delivery_id not in document["id"]
    assert document["deliveryId"] == delivery_id
    assert document["ttl"] == 3600
    assert await ledger.get_receipt(unique_id()) is None
    with pytest.raises(ValueError, match="delivery id"):
        await ledger.get_receipt("x' OR 1=1 --")


async def test_begin_renews_a_lease_that_is_running_out(bot_settings: Settings) -> None:
    ledger, delivery_id = DeliveryLedger(), unique_id()
    claim = claimed(await ledger.claim(delivery_id, 2, now=T0, lease_seconds=60))
    await ledger.begin(claim, now=T0)
    await ledger.record_sent(claim, 0, "a0", now=T0)
    etag = claim.document["_etag"]

    await ledger.begin(claim, now=T0 + timedelta(seconds=10))
    unchanged = claim.document["_etag"]
    await ledger.begin(claim, now=T0 + timedelta(seconds=45))

    assert unchanged == etag
    assert claim.document["_etag"] != etag
    assert claim.lease_until == T0 + timedelta(seconds=105)
    assert claim.in_flight == 1
