"""What the delivery ledger hands out: statuses, errors, receipts and claims."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.storage.timestamps import from_timestamp, to_timestamp

DELIVERY_KIND = "delivery"
"""``kind`` of a ledger document (and the key kind of its id)."""

DELIVERY_ID_PATTERN = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
"""An idempotency id: 1 to 128 of ``A-Z a-z 0-9 . _ : -`` (the queue message contract)."""

ERROR_MESSAGE_LIMIT = 500
"""Longest stored error message; it describes a failure and never holds message text."""


class DeliveryStatus(StrEnum):
    """Where a delivery stands. The last five are final."""

    SENDING = "Sending"
    """A worker holds the lease and sends the activities in order."""
    RETRYING = "Retrying"
    """A transient failure (throttled, service unavailable); sent again from ``retryAt``."""
    DELIVERED = "Delivered"
    """Every activity was sent and has its activity id."""
    UNCONFIRMED = "Unconfirmed"
    """Done, but at least one activity's send had an ambiguous outcome (a timeout, a 5xx after
    the request left): it may or may not have arrived, and it was not sent again."""
    FAILED = "Failed"
    """A permanent error; nothing more will be sent."""
    EXPIRED = "Expired"
    """``expiresAt`` passed before every activity was sent."""
    REFUSED = "Refused"
    """Not sent by policy: the conversation is inactive or unknown, or its serviceUrl is not
    allowed."""

    @property
    def final(self) -> bool:
        """Whether nothing more will happen to the delivery."""
        return self not in (DeliveryStatus.SENDING, DeliveryStatus.RETRYING)


FAILURE_STATUSES = frozenset(
    {DeliveryStatus.FAILED, DeliveryStatus.EXPIRED, DeliveryStatus.REFUSED}
)
"""The statuses :meth:`DeliveryLedger.fail` accepts."""


class DeliveryMode(StrEnum):
    """What a delivery risks after an ambiguous outcome (docs/delivery.md)."""

    AT_LEAST_ONCE = "atLeastOnce"
    """Send again after an ambiguous outcome (marked ``possibleDuplicate``): never lost."""
    AT_MOST_ONCE = "atMostOnce"
    """Never send again after an ambiguous outcome: ``Unconfirmed``, never duplicated."""


DEFAULT_DELIVERY_MODE = DeliveryMode.AT_LEAST_ONCE
"""A message, send or schedule without ``delivery``: a rare duplicate beats a silent loss."""

STORED_DEFAULT_MODE = DeliveryMode.AT_MOST_ONCE
"""A ledger document written before ``delivery`` existed had at-most-once semantics."""


def stored_mode(document: Any) -> DeliveryMode:
    """The delivery mode of a ledger document (old documents without one: at most once)."""
    value = document.get("delivery") if isinstance(document, dict) else None
    if value == DeliveryMode.AT_LEAST_ONCE:
        return DeliveryMode.AT_LEAST_ONCE
    return STORED_DEFAULT_MODE


class ActivityState(StrEnum):
    """Where one activity of a delivery stands."""

    PENDING = "Pending"
    """Not sent (or sent and certainly rejected): may be sent."""
    SENT = "Sent"
    """Sent; the Connector's activity id is recorded."""
    UNKNOWN = "Unknown"
    """Its send had an ambiguous outcome, or its worker vanished mid-send: never sent again
    automatically."""


@dataclass(frozen=True)
class DeliveryError:
    """Why a send did not (certainly) succeed: a code and a description, never message text.

    Args:
        code: A stable code: the Connector's error code (``ConversationBlockedByUser``), an
            HTTP status (``HTTP429``) or one of the bot's (``Timeout``, ``LeaseExpired``).
        message: A short description for operators.
    """

    code: str
    message: str = ""

    def to_json(self) -> dict[str, str]:
        """``{"code", "message"}``, the message cut to :data:`ERROR_MESSAGE_LIMIT`."""
        return {"code": self.code, "message": self.message[:ERROR_MESSAGE_LIMIT]}

    @classmethod
    def from_json(cls, value: Any) -> DeliveryError | None:
        """The error of a stored ``lastError`` (``None`` when there is none)."""
        if not isinstance(value, dict):
            return None
        return cls(str(value.get("code", "")), str(value.get("message", "")))


@dataclass(frozen=True)
class ActivityResult:
    """One activity of a delivery: its state and, once sent, its activity id."""

    index: int
    state: ActivityState
    activity_id: str | None = None
    possible_duplicate: bool = False
    """It was sent again after an ambiguous outcome: the user may see it twice."""


@dataclass(frozen=True)
class Receipt:
    """The state of a delivery, by its idempotency id (``GET /api/deliveries/{id}``)."""

    id: str
    status: DeliveryStatus
    attempts: int
    """How many times a worker claimed it."""
    activities: tuple[ActivityResult, ...]
    last_error: DeliveryError | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    retry_at: datetime | None
    lease_until: datetime | None
    delivery: DeliveryMode = STORED_DEFAULT_MODE
    conversation_id: str | None = None
    """The conversation the target resolved to, once it was resolved."""
    conversation_created: bool = False
    """Resolving the target started that conversation (a user's new 1:1 chat)."""
    versions: tuple[dict[str, Any], ...] = ()
    """Edits and recalls applied after the send, oldest first (:mod:`bot.delivery.versions`)."""
    address: dict[str, Any] | None = field(default=None, repr=False)
    """Where the activities went (a wire ConversationReference); never in :meth:`to_json`."""

    @property
    def recalled(self) -> bool:
        """A recall (``delete``) deleted the delivery's activities."""
        return any(version.get("operation") == "delete" for version in self.versions)

    @property
    def possible_duplicate(self) -> bool:
        """Some activity was sent again after an ambiguous outcome."""
        return any(activity.possible_duplicate for activity in self.activities)

    @property
    def activity_ids(self) -> list[str | None]:
        """The activity id of each activity, by index; ``None`` where none is known."""
        return [activity.activity_id for activity in self.activities]

    def to_json(self) -> dict[str, Any]:
        """The receipt as JSON (camelCase), for the HTTP API."""
        return {
            "id": self.id,
            "status": self.status.value,
            "attempts": self.attempts,
            "activityIds": self.activity_ids,
            "activities": [
                {
                    "index": item.index,
                    "state": item.state.value,
                    "activityId": item.activity_id,
                    "possibleDuplicate": item.possible_duplicate,
                }
                for item in self.activities
            ],
            "delivery": self.delivery.value,
            "possibleDuplicate": self.possible_duplicate,
            "lastError": self.last_error.to_json() if self.last_error else None,
            "createdAt": to_timestamp(self.created_at),
            "updatedAt": to_timestamp(self.updated_at),
            "completedAt": _optional_timestamp(self.completed_at),
            "retryAt": _optional_timestamp(self.retry_at),
            "conversationId": self.conversation_id,
            "conversationCreated": self.conversation_created,
            "versions": [self._first_version(), *self.versions],
            "recalled": self.recalled,
        }

    def _first_version(self) -> dict[str, Any]:
        return {
            "version": 1,
            "operation": "send",
            "operationId": self.id,
            "activityIds": self.activity_ids,
            "at": _optional_timestamp(self.completed_at),
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Receipt:
        """The receipt of a ledger document."""
        return cls(
            id=document["deliveryId"],
            status=DeliveryStatus(document["status"]),
            attempts=int(document["attempts"]),
            activities=tuple(
                ActivityResult(
                    index,
                    ActivityState(item["state"]),
                    item.get("activityId"),
                    bool(item.get("possibleDuplicate")),
                )
                for index, item in enumerate(document["activities"])
            ),
            last_error=DeliveryError.from_json(document.get("lastError")),
            created_at=from_timestamp(document["createdAt"]),
            updated_at=from_timestamp(document["updatedAt"]),
            completed_at=_optional_time(document.get("completedAt")),
            retry_at=_optional_time(document.get("retryAt")),
            lease_until=_optional_time(document.get("leaseUntil")),
            delivery=stored_mode(document),
            conversation_id=_target(document).get("conversationId"),
            conversation_created=_target(document).get("created") is True,
            versions=tuple(
                item for item in document.get("versions") or () if isinstance(item, dict)
            ),
            address=document.get("address") if isinstance(document.get("address"), dict) else None,
        )


TARGET_FIELD = "target"
"""The ledger document's note of the resolved conversation (:meth:`Claim.note_target`)."""


def _target(document: Mapping[str, Any]) -> Mapping[str, Any]:
    target = document.get(TARGET_FIELD)
    return target if isinstance(target, Mapping) else {}


@dataclass
class Claim:
    """A worker's hold on a delivery: it may send activity :attr:`next_index`, once that is
    marked in flight (:meth:`DeliveryLedger.begin`), then the next.

    The ledger keeps it up to date (each write stores the new document here); the worker only
    reads it. Start a send only while :attr:`lease_until` leaves time for it to finish.
    """

    id: str
    """The idempotency id."""
    lease_token: str
    document: dict[str, Any] = field(repr=False)
    lease_seconds: float = 60.0
    """How far each write of the holder pushes the lease out."""

    def note_target(self, conversation_id: str, *, created: bool) -> None:
        """Name the conversation the target resolved to in the receipt.

        No write of its own: the holder's next write (an activity in flight, sent, or the
        delivery's end) carries it.
        """
        self.document[TARGET_FIELD] = {"conversationId": conversation_id, "created": created}

    @property
    def next_index(self) -> int | None:
        """The activity to send next: the first pending one; ``None`` when none is left."""
        for index, item in enumerate(self.document["activities"]):
            if item["state"] == ActivityState.PENDING:
                return index
        return None

    @property
    def in_flight(self) -> int | None:
        """The activity marked in flight, which alone may be sent now."""
        value = self.document.get("inFlight")
        return value if isinstance(value, int) else None

    @property
    def lease_until(self) -> datetime | None:
        """When the lease ends (``None`` once released)."""
        return _optional_time(self.document.get("leaseUntil"))

    @property
    def delivery(self) -> DeliveryMode:
        """The delivery's mode, as stored."""
        return stored_mode(self.document)

    @property
    def attempt(self) -> int:
        """Which claim of the delivery this is (1 for the first)."""
        return int(self.document["attempts"])

    @property
    def receipt(self) -> Receipt:
        """The delivery's state as of the last write."""
        return Receipt.from_document(self.document)


@dataclass(frozen=True)
class AlreadyDone:
    """The delivery is final (or just became so): nothing may be sent.

    Attributes:
        receipt: The final receipt.
        finished_now: This claim made it final (an at-most-once takeover of an activity left
            in flight by a dead worker): the caller reports it as a new outcome, with its
            reason, never as "already done" (docs/delivery.md).
    """

    receipt: Receipt
    finished_now: bool = False


@dataclass(frozen=True)
class InProgress:
    """Another worker holds the lease, or a retry waits for ``until``: try again then."""

    receipt: Receipt
    until: datetime


class LeaseLostError(RuntimeError):
    """The claim's lease was taken over by another worker: stop sending.

    What the call being made recorded was still recorded (an activity id is a fact).
    """


class IdempotencyConflictError(ValueError):
    """The idempotency id was used before for a different delivery (other activities)."""


class LedgerConflictError(RuntimeError):
    """Concurrent writers kept changing a ledger document for longer than the retry bound."""


def validate_delivery_id(delivery_id: str) -> str:
    """Return ``delivery_id`` if it is a valid idempotency id.

    Raises:
        ValueError: It is not 1 to 128 of ``A-Z a-z 0-9 . _ : -``.
    """
    if not DELIVERY_ID_PATTERN.fullmatch(delivery_id):
        raise ValueError("a delivery id is 1 to 128 of A-Z a-z 0-9 . _ : -")
    return delivery_id


def _optional_time(value: Any) -> datetime | None:
    return from_timestamp(value) if isinstance(value, str) else None


def _optional_timestamp(value: datetime | None) -> str | None:
    return to_timestamp(value) if value is not None else None
