"""The ledger document and its state transitions, free of I/O.

A ledger document::

    {"id": "v1-<hmac of the idempotency id>", "kind": "delivery", "deliveryId": "...",
     "status": "Sending", "attempts": 1, "activityCount": 2, "payloadHash": null,
     "activities": [{"state": "Sent", "activityId": "1:abc", "sentAt": "..."},
                    {"state": "Pending", "activityId": null, "sentAt": null}],
     "inFlight": 1, "leaseToken": "...", "leaseUntil": "...", "retryAt": null,
     "lastError": null, "createdAt": "...", "updatedAt": "...", "completedAt": null, "ttl": 604800}

At most one send of each activity: an activity is sent only while it is ``inFlight`` under a
lease, and ``inFlight`` is written (etag-conditioned) *before* the send. Whoever takes over an
expired lease turns the in-flight activity into ``Unknown`` instead of sending it again. The
window between marking an activity in flight and recording its send therefore costs at worst an
``Unknown`` activity (reported, perhaps not delivered), never a duplicate; keeping that window
short (mark right before the request) keeps such losses rare.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.delivery.records import (
    DELIVERY_KIND,
    FAILURE_STATUSES,
    ActivityState,
    DeliveryError,
    DeliveryMode,
    DeliveryStatus,
    stored_mode,
)
from bot.storage.system_properties import without_system_properties
from bot.storage.timestamps import from_timestamp, to_timestamp

ClaimDecision = Literal["done", "busy", "take"]

LEASE_EXPIRED = "LeaseExpired"
"""``lastError.code`` when a worker's lease ran out in the middle of a send."""


def new_document(
    *,
    document_id: str,
    delivery_id: str,
    activity_count: int,
    payload_hash: str | None,
    lease_token: str,
    lease_seconds: float,
    ttl_seconds: int,
    now: datetime,
    delivery: DeliveryMode = DeliveryMode.AT_MOST_ONCE,
) -> dict[str, Any]:
    """The document a first claim creates: leased, nothing in flight yet."""
    if activity_count < 1:
        raise ValueError("a delivery has at least one activity")
    stamp = to_timestamp(now)
    return {
        "id": document_id,
        "kind": DELIVERY_KIND,
        "deliveryId": delivery_id,
        "delivery": delivery.value,
        "status": DeliveryStatus.SENDING.value,
        "attempts": 1,
        "activityCount": activity_count,
        "payloadHash": payload_hash,
        "activities": [_pending() for _ in range(activity_count)],
        "inFlight": None,
        "leaseToken": lease_token,
        "leaseUntil": to_timestamp(now + timedelta(seconds=lease_seconds)),
        "retryAt": None,
        "lastError": None,
        "createdAt": stamp,
        "updatedAt": stamp,
        "completedAt": None,
        "ttl": ttl_seconds,
    }


def same_delivery(
    document: Mapping[str, Any], activity_count: int, payload_hash: str | None
) -> bool:
    """Whether a stored document can be the delivery a caller describes."""
    if document.get("activityCount") != activity_count:
        return False
    stored_hash = document.get("payloadHash")
    return stored_hash is None or payload_hash is None or stored_hash == payload_hash


def decide_claim(document: Mapping[str, Any], now: datetime) -> ClaimDecision:
    """What a claim at ``now`` may do with an existing document.

    Returns:
        ``"done"`` when it is final; ``"busy"`` while another worker's lease runs or a retry
        waits for ``retryAt``; ``"take"`` when the claim may take it over.
    """
    status = DeliveryStatus(document["status"])
    if status.final:
        return "done"
    if status is DeliveryStatus.SENDING and now < _time(document.get("leaseUntil")):
        return "busy"
    if status is DeliveryStatus.RETRYING and now < _time(document.get("retryAt")):
        return "busy"
    return "take"


def busy_until(document: Mapping[str, Any]) -> datetime:
    """When a busy delivery may be claimed again."""
    if document["status"] == DeliveryStatus.RETRYING:
        return _time(document.get("retryAt"))
    return _time(document.get("leaseUntil"))


def taken_over(
    document: Mapping[str, Any],
    *,
    lease_token: str,
    lease_seconds: float,
    ttl_seconds: int,
    now: datetime,
) -> dict[str, Any]:
    """The document after a new claim takes it over.

    An activity left in flight by a worker whose lease ran out may have been sent. At least
    once, it stays pending, marked ``possibleDuplicate``, and is sent again; at most once (and
    for documents older than the mode), it becomes ``Unknown`` and is not sent again. If
    nothing is left to send, the delivery ends here.
    """
    body = _body(document)
    in_flight = body.get("inFlight")
    if isinstance(in_flight, int) and body["activities"][in_flight]["state"] == "Pending":
        if stored_mode(body) is DeliveryMode.AT_LEAST_ONCE:
            body["activities"][in_flight]["possibleDuplicate"] = True
            body["lastError"] = DeliveryError(
                LEASE_EXPIRED,
                f"a worker's lease expired while it was sending activity {in_flight}; "
                "it is sent again (atLeastOnce) and may arrive twice",
            ).to_json()
        else:
            body["activities"][in_flight]["state"] = ActivityState.UNKNOWN.value
            body["lastError"] = DeliveryError(
                LEASE_EXPIRED,
                f"a worker's lease expired while it was sending activity {in_flight}; "
                "that activity is not sent again (atMostOnce)",
            ).to_json()
    body.update(
        {
            "status": DeliveryStatus.SENDING.value,
            "attempts": int(body["attempts"]) + 1,
            "leaseToken": lease_token,
            "leaseUntil": to_timestamp(now + timedelta(seconds=lease_seconds)),
            "retryAt": None,
            "inFlight": None,
            "updatedAt": to_timestamp(now),
            "ttl": ttl_seconds,
        }
    )
    if _first_pending(body) is None:
        _finish(body, now)
    return body


def first_in_flight(
    document: Mapping[str, Any], facts: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A claim's document with its first pending activity already in flight, for a claim
    written right before that activity's request (its permit is held): the claim is the
    ``begin`` write too, ``facts`` included as :func:`begun` stores them. Unchanged when
    nothing is pending or the delivery is final."""
    body = _body(document)
    index = _first_pending(body)
    if index is not None and not DeliveryStatus(body["status"]).final:
        for name, value in (facts or {}).items():
            body.setdefault(name, copy.deepcopy(value))
        body["inFlight"] = index
    return body


def begun(
    document: Mapping[str, Any],
    *,
    lease_seconds: float,
    now: datetime,
    facts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The document with the first pending activity in flight and the lease renewed.

    ``facts`` (top-level fields, such as where the delivery goes) are stored where the
    document does not hold them yet.

    Raises:
        ValueError: No activity is pending.
    """
    body = _body(document)
    index = _first_pending(body)
    if index is None:
        raise ValueError("no activity is pending")
    for name, value in (facts or {}).items():
        body.setdefault(name, copy.deepcopy(value))
    body["inFlight"] = index
    body["leaseUntil"] = to_timestamp(now + timedelta(seconds=lease_seconds))
    body["updatedAt"] = to_timestamp(now)
    return body


def recorded(
    document: Mapping[str, Any],
    index: int,
    state: Literal[ActivityState.SENT, ActivityState.UNKNOWN],
    *,
    activity_id: str | None,
    error: DeliveryError | None,
    advance: bool,
    lease_seconds: float,
    now: datetime,
) -> dict[str, Any]:
    """The document after the in-flight activity ``index`` was sent (or had an ambiguous
    outcome). With ``advance``, the next pending activity goes in flight in the same write (for
    a caller about to send it); the lease is renewed. After the last one, the delivery is final.

    Raises:
        ValueError: ``index`` is not the activity in flight.
    """
    body = _body(document)
    if body.get("inFlight") != index:
        raise ValueError(f"activity {index} is not the one in flight")
    _set_activity(body, index, state, activity_id, now)
    if error is not None:
        body["lastError"] = error.to_json()
    next_index = _first_pending(body)
    body["inFlight"] = next_index if advance else None
    body["leaseUntil"] = to_timestamp(now + timedelta(seconds=lease_seconds))
    body["updatedAt"] = to_timestamp(now)
    if next_index is None:
        _finish(body, now)
    return body


def merged_fact(
    document: Mapping[str, Any],
    index: int,
    state: Literal[ActivityState.SENT, ActivityState.UNKNOWN],
    activity_id: str | None,
    now: datetime,
) -> dict[str, Any] | None:
    """What a worker that lost its lease still records: the activity it did send.

    Only an activity nobody else resolved better is changed; ``None`` when nothing changes.
    """
    current = document["activities"][index]
    if current["state"] == ActivityState.SENT or state is not ActivityState.SENT:
        return None
    body = _body(document)
    _set_activity(body, index, state, activity_id, now)
    body["updatedAt"] = to_timestamp(now)
    if body["status"] == DeliveryStatus.UNCONFIRMED and not any(
        item["state"] == ActivityState.UNKNOWN for item in body["activities"]
    ):
        body["status"] = DeliveryStatus.DELIVERED.value
    return body


def retrying(
    document: Mapping[str, Any],
    error: DeliveryError,
    retry_at: datetime,
    now: datetime,
    *,
    possible_duplicate: int | None = None,
    deferred: bool = False,
) -> dict[str, Any]:
    """The document after a transient failure: the lease is released until ``retry_at``.

    The in-flight activity stays ``Pending``. Either the caller asserts it was certainly not
    delivered (a 429, a 503, a refused connection), or the outcome was ambiguous and the
    delivery is at least once: then ``possible_duplicate`` names the activity, which is marked
    so in the same write. At most once, an ambiguous outcome is recorded with
    :func:`recorded` as ``Unknown`` first.

    ``deferred``: the bot's own rate governor held the send back (nothing left the bot), so
    the claim is not an attempt: ``attempts`` goes back down and ``deferrals`` counts it. A
    message deferred many times (a busy conversation, a tenant at its limit shared by many
    instances) never reaches the attempt limit that way (docs/rate-limits.md).
    """
    body = _body(document)
    if possible_duplicate is not None:
        body["activities"][possible_duplicate]["possibleDuplicate"] = True
    if deferred:
        body["attempts"] = max(0, int(body["attempts"]) - 1)
        body["deferrals"] = int(body.get("deferrals") or 0) + 1
    body.update(
        {
            "status": DeliveryStatus.RETRYING.value,
            "inFlight": None,
            "leaseToken": None,
            "leaseUntil": None,
            "retryAt": to_timestamp(retry_at),
            "lastError": error.to_json(),
            "updatedAt": to_timestamp(now),
        }
    )
    return body


def completed(document: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The document made final once no activity is pending.

    Raises:
        ValueError: An activity is still pending.
    """
    body = _body(document)
    if _first_pending(body) is not None:
        raise ValueError("activities are still pending; record them or fail the delivery")
    if not DeliveryStatus(body["status"]).final:
        _finish(body, now)
    return body


def failed(
    document: Mapping[str, Any], error: DeliveryError, status: DeliveryStatus, now: datetime
) -> dict[str, Any]:
    """The document made final as ``Failed``, ``Expired`` or ``Refused``.

    Raises:
        ValueError: ``status`` is not one of those.
    """
    if status not in FAILURE_STATUSES:
        raise ValueError(f"{status} is not a failure status")
    body = _body(document)
    body.update(
        {
            "status": status.value,
            "inFlight": None,
            "leaseToken": None,
            "leaseUntil": None,
            "retryAt": None,
            "lastError": error.to_json(),
            "updatedAt": to_timestamp(now),
            "completedAt": to_timestamp(now),
        }
    )
    return body


def _finish(body: dict[str, Any], now: datetime) -> None:
    unknown = any(item["state"] == ActivityState.UNKNOWN for item in body["activities"])
    status = DeliveryStatus.UNCONFIRMED if unknown else DeliveryStatus.DELIVERED
    body.update(
        {
            "status": status.value,
            "inFlight": None,
            "leaseToken": None,
            "leaseUntil": None,
            "retryAt": None,
            "updatedAt": to_timestamp(now),
            "completedAt": to_timestamp(now),
        }
    )


def _set_activity(
    body: dict[str, Any],
    index: int,
    state: ActivityState,
    activity_id: str | None,
    now: datetime,
) -> None:
    item: dict[str, Any] = {
        "state": state.value,
        "activityId": activity_id,
        "sentAt": to_timestamp(now),
    }
    if body["activities"][index].get("possibleDuplicate"):
        item["possibleDuplicate"] = True
    body["activities"][index] = item


def _first_pending(body: Mapping[str, Any]) -> int | None:
    for index, item in enumerate(body["activities"]):
        if item["state"] == ActivityState.PENDING:
            return index
    return None


def _pending() -> dict[str, Any]:
    return {"state": ActivityState.PENDING.value, "activityId": None, "sentAt": None}


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("a ledger document lacks a time it needs")
    return from_timestamp(value)


def _body(document: Mapping[str, Any]) -> dict[str, Any]:
    # Deep: activities are nested and the caller's copy must not change with ours.
    return copy.deepcopy(without_system_properties(document))
