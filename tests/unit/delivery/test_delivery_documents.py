"""Ledger transitions: who may claim, what a takeover does, and when a delivery is final."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.delivery.documents import (
    begun,
    busy_until,
    completed,
    decide_claim,
    failed,
    merged_fact,
    new_document,
    recorded,
    retrying,
    same_delivery,
    taken_over,
)
from bot.delivery.records import (
    ActivityState,
    Claim,
    DeliveryError,
    DeliveryMode,
    DeliveryStatus,
    Receipt,
    validate_delivery_id,
)
from bot.storage.timestamps import to_timestamp

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LEASE = 60.0
ERROR = DeliveryError("HTTP429", "throttled")


def document(count: int = 3, **changes: Any) -> dict[str, Any]:
    created = new_document(
        document_id="v1-x",
        delivery_id="job:1",
        activity_count=count,
        payload_hash=None,
        lease_token="first",
        lease_seconds=LEASE,
        ttl_seconds=3600,
        now=T0,
    )
    created.update(changes)
    return created


def sent(
    body: dict[str, Any], index: int, activity_id: str, *, advance: bool = True
) -> dict[str, Any]:
    return recorded(
        body,
        index,
        ActivityState.SENT,
        activity_id=activity_id,
        error=None,
        advance=advance,
        lease_seconds=LEASE,
        now=T0,
    )


def states(body: dict[str, Any]) -> list[str]:
    return [item["state"] for item in body["activities"]]


class TestNewDocument:
    def test_a_first_claim_holds_the_lease_with_nothing_in_flight(self) -> None:
        body = document()

        assert body["status"] == "Sending"
        assert body["attempts"] == 1
        assert body["inFlight"] is None
        assert body["leaseToken"] == "first"
        assert body["leaseUntil"] == to_timestamp(T0 + timedelta(seconds=LEASE))
        assert states(body) == ["Pending"] * 3
        assert body["ttl"] == 3600

    def test_a_delivery_needs_an_activity(self) -> None:
        with pytest.raises(ValueError, match="at least one"):
            document(count=0)


class TestDecideClaim:
    def test_a_running_lease_is_busy_until_it_ends(self) -> None:
        body = document()

        assert decide_claim(body, T0 + timedelta(seconds=59)) == "busy"
        assert busy_until(body) == T0 + timedelta(seconds=LEASE)
        assert decide_claim(body, T0 + timedelta(seconds=60)) == "take"

    def test_a_retry_waits_for_retry_at(self) -> None:
        body = retrying(document(), ERROR, T0 + timedelta(seconds=30), T0)

        assert decide_claim(body, T0 + timedelta(seconds=29)) == "busy"
        assert busy_until(body) == T0 + timedelta(seconds=30)
        assert decide_claim(body, T0 + timedelta(seconds=30)) == "take"

    def test_a_deferral_gives_its_attempt_back(self) -> None:
        once = retrying(document(), ERROR, T0, T0, deferred=True)
        twice = retrying(
            taken_over(once, lease_token="t", lease_seconds=LEASE, ttl_seconds=60, now=T0),
            ERROR,
            T0,
            T0,
            deferred=True,
        )

        assert (once["attempts"], once["deferrals"]) == (0, 1)
        assert (twice["attempts"], twice["deferrals"]) == (0, 2)
        assert retrying(document(), ERROR, T0, T0)["attempts"] == 1

    @pytest.mark.parametrize("status", ["Delivered", "Unconfirmed", "Failed", "Expired", "Refused"])
    def test_a_final_delivery_is_done(self, status: str) -> None:
        assert decide_claim(document(status=status), T0 + timedelta(days=1)) == "done"

    def test_the_same_id_for_other_activities_is_another_delivery(self) -> None:
        body = document(count=2, payloadHash="h1")

        assert same_delivery(body, 2, "h1") is True
        assert same_delivery(body, 2, None) is True
        assert same_delivery(body, 3, "h1") is False
        assert same_delivery(body, 2, "h2") is False


class TestTakeover:
    def test_the_in_flight_activity_of_an_expired_lease_becomes_unknown(self) -> None:
        first = begun(document(), lease_seconds=LEASE, now=T0)
        body = begun(sent(first, 0, "a0", advance=False), lease_seconds=LEASE, now=T0)
        later = T0 + timedelta(minutes=5)

        after = taken_over(
            body, lease_token="second", lease_seconds=LEASE, ttl_seconds=3600, now=later
        )

        assert states(after) == ["Sent", "Unknown", "Pending"]
        assert after["lastError"]["code"] == "LeaseExpired"
        assert after["attempts"] == 2
        assert after["leaseToken"] == "second"
        assert after["leaseUntil"] == to_timestamp(later + timedelta(seconds=LEASE))
        assert after["inFlight"] is None
        assert after["status"] == "Sending"

    def test_at_least_once_the_in_flight_activity_is_resent_as_a_possible_duplicate(
        self,
    ) -> None:
        body = begun(document(count=1, delivery="atLeastOnce"), lease_seconds=LEASE, now=T0)

        after = taken_over(
            body, lease_token="second", lease_seconds=LEASE, ttl_seconds=3600, now=T0
        )

        # Never "already Unconfirmed; nothing to do": it is sent again, and says so.
        assert after["status"] == "Sending"
        assert states(after) == ["Pending"]
        assert after["activities"][0]["possibleDuplicate"] is True
        assert after["lastError"]["code"] == "LeaseExpired"
        sent_again = sent(begun(after, lease_seconds=LEASE, now=T0), 0, "a0")
        receipt = Receipt.from_document(sent_again)
        assert receipt.status is DeliveryStatus.DELIVERED
        assert receipt.possible_duplicate
        assert receipt.delivery is DeliveryMode.AT_LEAST_ONCE

    def test_a_document_without_a_mode_is_at_most_once(self) -> None:
        body = document(count=1)
        del body["delivery"]
        assert Receipt.from_document(body).delivery is DeliveryMode.AT_MOST_ONCE
        after = taken_over(
            begun(body, lease_seconds=LEASE, now=T0),
            lease_token="second",
            lease_seconds=LEASE,
            ttl_seconds=3600,
            now=T0,
        )
        assert after["status"] == "Unconfirmed"

    def test_an_ambiguous_retry_marks_the_activity_in_the_same_write(self) -> None:
        body = begun(document(delivery="atLeastOnce"), lease_seconds=LEASE, now=T0)

        after = retrying(body, ERROR, T0, T0, possible_duplicate=0)

        assert after["status"] == "Retrying"
        assert states(after) == ["Pending"] * 3
        assert [item.get("possibleDuplicate", False) for item in after["activities"]] == [
            True,
            False,
            False,
        ]

    def test_a_takeover_after_a_retry_resends_the_pending_activity(self) -> None:
        body = retrying(document(), ERROR, T0, T0)

        after = taken_over(
            body, lease_token="second", lease_seconds=LEASE, ttl_seconds=3600, now=T0
        )

        assert states(after) == ["Pending"] * 3
        assert after["retryAt"] is None

    def test_a_takeover_with_nothing_left_ends_the_delivery(self) -> None:
        body = begun(document(count=1), lease_seconds=LEASE, now=T0)

        after = taken_over(
            body, lease_token="second", lease_seconds=LEASE, ttl_seconds=3600, now=T0
        )

        assert after["status"] == "Unconfirmed"
        assert after["leaseToken"] is None
        assert after["completedAt"] == to_timestamp(T0)


class TestProgress:
    def test_sends_advance_in_order_and_the_last_one_delivers(self) -> None:
        body = begun(document(), lease_seconds=LEASE, now=T0)
        assert body["inFlight"] == 0

        body = sent(body, 0, "a0")
        assert body["inFlight"] == 1
        body = sent(body, 1, "a1")
        body = sent(body, 2, "a2")

        assert body["status"] == "Delivered"
        assert [item["activityId"] for item in body["activities"]] == ["a0", "a1", "a2"]
        assert body["inFlight"] is None
        assert body["completedAt"] == to_timestamp(T0)

    def test_only_the_in_flight_activity_may_be_recorded(self) -> None:
        body = begun(document(), lease_seconds=LEASE, now=T0)

        with pytest.raises(ValueError, match="not the one in flight"):
            sent(body, 1, "a1")
        with pytest.raises(ValueError, match="not the one in flight"):
            sent(document(), 0, "a0")

    def test_without_advance_nothing_is_in_flight(self) -> None:
        body = sent(begun(document(), lease_seconds=LEASE, now=T0), 0, "a0", advance=False)

        assert body["inFlight"] is None
        assert body["status"] == "Sending"

    def test_an_ambiguous_outcome_is_unknown_and_the_delivery_unconfirmed(self) -> None:
        body = begun(document(count=2), lease_seconds=LEASE, now=T0)
        timeout = DeliveryError("Timeout", "no answer")

        body = recorded(
            body,
            0,
            ActivityState.UNKNOWN,
            activity_id=None,
            error=timeout,
            advance=True,
            lease_seconds=LEASE,
            now=T0,
        )
        body = sent(body, 1, "a1")

        assert states(body) == ["Unknown", "Sent"]
        assert body["status"] == "Unconfirmed"
        assert body["lastError"] == {"code": "Timeout", "message": "no answer"}

    def test_a_retry_releases_the_lease_and_keeps_the_activity_pending(self) -> None:
        body = begun(document(), lease_seconds=LEASE, now=T0)

        after = retrying(body, ERROR, T0 + timedelta(seconds=30), T0)

        assert after["status"] == "Retrying"
        assert (after["leaseToken"], after["leaseUntil"], after["inFlight"]) == (None, None, None)
        assert states(after) == ["Pending"] * 3
        assert after["lastError"] == {"code": "HTTP429", "message": "throttled"}

    def test_completion_needs_every_activity_resolved(self) -> None:
        with pytest.raises(ValueError, match="pending"):
            completed(document(), T0)

    @pytest.mark.parametrize("status", [DeliveryStatus.SENDING, DeliveryStatus.DELIVERED])
    def test_failure_statuses_only(self, status: DeliveryStatus) -> None:
        with pytest.raises(ValueError, match="not a failure status"):
            failed(document(), ERROR, status, T0)

    def test_a_failure_is_final_and_sends_nothing_more(self) -> None:
        after = failed(document(), ERROR, DeliveryStatus.EXPIRED, T0)

        assert after["status"] == "Expired"
        assert after["leaseToken"] is None
        assert decide_claim(after, T0) == "done"


class TestLostLease:
    def test_a_send_by_a_worker_that_lost_its_lease_is_still_a_fact(self) -> None:
        body = begun(document(count=2), lease_seconds=LEASE, now=T0)
        taken = taken_over(body, lease_token="second", lease_seconds=LEASE, ttl_seconds=1, now=T0)

        merged = merged_fact(taken, 0, ActivityState.SENT, "a0", T0)

        assert merged is not None
        assert states(merged) == ["Sent", "Pending"]
        assert merged["activities"][0]["activityId"] == "a0"
        assert merged["leaseToken"] == "second"

    def test_a_merged_fact_can_turn_unconfirmed_into_delivered(self) -> None:
        body = begun(document(count=1), lease_seconds=LEASE, now=T0)
        taken = taken_over(body, lease_token="second", lease_seconds=LEASE, ttl_seconds=1, now=T0)

        merged = merged_fact(taken, 0, ActivityState.SENT, "a0", T0)

        assert taken["status"] == "Unconfirmed"
        assert merged is not None
        assert merged["status"] == "Delivered"

    def test_an_activity_already_sent_is_left_alone(self) -> None:
        body = sent(begun(document(), lease_seconds=LEASE, now=T0), 0, "a0")

        assert merged_fact(body, 0, ActivityState.SENT, "other", T0) is None


class TestRecords:
    def test_a_receipt_reads_the_document(self) -> None:
        body = sent(begun(document(count=2), lease_seconds=LEASE, now=T0), 0, "a0")
        body["_etag"] = '"x"'

        receipt = Receipt.from_document(body)
        claim = Claim("job:1", "first", body)

        assert receipt.id == "job:1"
        assert receipt.status is DeliveryStatus.SENDING
        assert receipt.activity_ids == ["a0", None]
        assert receipt.to_json()["activities"] == [
            {"index": 0, "state": "Sent", "activityId": "a0", "possibleDuplicate": False},
            {"index": 1, "state": "Pending", "activityId": None, "possibleDuplicate": False},
        ]
        assert receipt.to_json()["lastError"] is None
        assert (claim.next_index, claim.in_flight, claim.attempt) == (1, 1, 1)

    def test_an_error_message_is_cut(self) -> None:
        assert len(DeliveryError("X", "m" * 2000).to_json()["message"]) == 500

    @pytest.mark.parametrize("delivery_id", ["a", "A-z_0.9:x", "x" * 128])
    def test_valid_delivery_ids(self, delivery_id: str) -> None:
        assert validate_delivery_id(delivery_id) == delivery_id

    @pytest.mark.parametrize(
        "delivery_id", ["", "x" * 129, "a b", "a/b", "x' OR 1=1 --", "a\n", "é"]
    )
    def test_invalid_delivery_ids(self, delivery_id: str) -> None:
        with pytest.raises(ValueError, match="delivery id"):
            validate_delivery_id(delivery_id)
