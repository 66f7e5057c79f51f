"""The proactive queue trigger's logic: one message in, one delivery step, never a blind retry.

``function_app.proactive_sender`` hands each message to :func:`handle_queue_message`. The
function returns normally in every case the message itself decides (so the host deletes it) and
raises only when the bot's own storage fails (so the host retries it, and after
``maxDequeueCount`` tries moves it to the poison queue itself):

================================================  =========================================
the message                                       what happens
================================================  =========================================
not UTF-8 JSON, not a valid message               poison at once, with the fields named; the
                                                  receipt (if the id is valid) says why
``notBefore`` in the future                       re-enqueued, invisible until then (chained
                                                  in steps of at most seven days)
a recipient of a cancelled broadcast              not sent; its outcome ``Cancelled``
``event`` instead of ``activities``               a proactive turn computes what to send, once
                                                  per id (:mod:`bot.proactive.event_turns`)
``operation`` ``update`` / ``delete``             applied once (:mod:`bot.proactive.edits`);
                                                  re-enqueued while its delivery is not final
already delivered (same ``id``)                   nothing
being delivered by another worker                 re-enqueued for when its lease ends
``expiresAt`` passed                              poison; receipt ``Expired``
unknown / ambiguous / retired conversation,       poison; receipt ``Refused``
serviceUrl not allowed
held back by the rate governor                    re-enqueued for when the window has room;
                                                  no ledger write, no attempt used
not delivered (429, 412, 503, refused connection) re-enqueued for ``Retry-After`` or backoff;
                                                  after the attempt limit poison, ``Failed``
permanent failure (400, 401, 403, 404, ...)       poison; receipt ``Failed``; 403/404 "gone"
                                                  codes retire the conversation
may have arrived (500, 502, 504, timeout,         ``atLeastOnce`` (default): sent again like a
dropped connection, a claim expired in flight)    transient failure, marked
                                                  ``possibleDuplicate``; ``atMostOnce``: never
                                                  resent, poison, receipt ``Unconfirmed``
================================================  =========================================

A retry is a new queue message with a visibility delay, never a sleep in the function. The
ledger (not the queue's dequeue count) counts attempts, so re-enqueued copies share one count.
docs/delivery.md has the whole classification and the order of a send.
Logs name the delivery id, outcomes and error codes; never message text, user ids or tokens.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from bot.delivery import DeliveryError
from bot.proactive.backoff import MIN_DELAY_SECONDS
from bot.proactive.delivery import DeliveryOutcome, Outcome
from bot.proactive.edits import edit_request
from bot.proactive.enqueue import send_text
from bot.proactive.listeners import DeliveryListener
from bot.proactive.message import (
    MAX_ACTIVITIES,
    InvalidMessageError,
    ProactiveMessage,
    decode_json,
    parse_message,
)
from bot.proactive.poison import POISON_SUFFIX, PoisonReason, poison_text, put_poison
from bot.proactive.service import ProactiveService
from bot.settings import get_settings

if TYPE_CHECKING:
    from azure.storage.queue.aio import QueueClient

logger = logging.getLogger(__name__)


class QueueAction(StrEnum):
    """What the sender did with a message."""

    DELIVERED = "Delivered"
    DUPLICATE = "Duplicate"
    """The delivery was already final; nothing was done."""
    DEFERRED = "Deferred"
    """``notBefore`` is in the future: re-enqueued until then."""
    REQUEUED = "Requeued"
    """A retry (or another worker's lease) waits: re-enqueued with a delay."""
    DROPPED = "Dropped"
    """Another worker took the delivery over; its copy of the message finishes it."""
    POISONED = "Poisoned"
    """Given up on: moved to the poison queue with the reason."""
    CANCELLED = "Cancelled"
    """A recipient of a cancelled broadcast: not sent, recorded as cancelled."""


@dataclass(frozen=True)
class QueueResult:
    """What :meth:`QueueSender.process` did.

    Attributes:
        action: The action.
        delay_seconds: The visibility delay of the re-enqueued message.
        reason: The poison reason.
        outcome: The delivery outcome, when a delivery was attempted.
    """

    action: QueueAction
    delay_seconds: int | None = None
    reason: PoisonReason | None = None
    outcome: DeliveryOutcome | None = None


class QueueMessageLike(Protocol):
    """What the sender needs of ``azure.functions.QueueMessage``."""

    @property
    def dequeue_count(self) -> int | None: ...

    def get_body(self) -> bytes: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


class QueueSender:
    """Processes proactive queue messages.

    Args:
        service: The proactive service.
        listeners: Told whether to withhold each message and how each ended (broadcast
            progress, handed in by :mod:`bot.app`).
        queue: Returns the proactive queue, for re-enqueueing.
        poison_queue: Returns ``<queue>-poison``.
        queue_name: The proactive queue's name, for the poison reason.
        clock: The current time.
    """

    def __init__(
        self,
        service: ProactiveService,
        *,
        listeners: Sequence[DeliveryListener] = (),
        queue: Callable[[], QueueClient] | None = None,
        poison_queue: Callable[[], QueueClient] | None = None,
        queue_name: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._service = service
        self._listeners = tuple(listeners)
        self._queue_name = queue_name or get_settings().proactive_queue_name
        self._queue = queue or _named_queue(self._queue_name)
        self._poison_queue = poison_queue or _named_queue(self._queue_name + POISON_SUFFIX)
        self._clock = clock

    async def process(self, body: bytes, *, dequeue_count: int | None = None) -> QueueResult:
        """Handle one message body (already base64-decoded by the trigger).

        Raises:
            Exception: Only when the bot's storage (ledger, references, queue) fails; the
                host then retries the message.
        """
        try:
            message = parse_message(body)
        except InvalidMessageError as error:
            logger.warning(
                "proactive queue: invalid message %s: %d problem(s)",
                error.message_id or "-",
                len(error.errors),
            )
            await self._record_invalid(body, error)
            reason = PoisonReason(
                "InvalidMessage", str(error), delivery_id=error.message_id, errors=error.errors
            )
            return await self._poison(body, reason, dequeue_count)
        now = self._clock()
        if message.not_before is not None and message.not_before > now:
            delay = await self._requeue(body, message.not_before, now)
            logger.info("proactive queue: %s deferred by %d s (notBefore)", message.id, delay)
            return QueueResult(QueueAction.DEFERRED, delay)
        if message.is_edit:
            edited = await self._service.edit(edit_request(message), wait=True)
            await self._record_outcome(message.id, edited.outcome)
            return await self._settle(body, message, edited.outcome, dequeue_count)
        for listener in self._listeners:
            if await listener.withheld(message.id):
                return await self._cancelled(message, listener)
        if message.event is not None:
            outcome = await self._service.deliver_event(
                message.target,
                message.event,
                delivery_id=message.id,
                expires_at=message.expires_at,
                delivery=message.delivery,
            )
        else:
            outcome = await self._service.deliver(
                message.target,
                message.activity_list,
                delivery_id=message.id,
                expires_at=message.expires_at,
                delivery=message.delivery,
            )
        # A broadcast recipient's final outcome counts toward its operation's progress.
        await self._record_outcome(message.id, outcome)
        return await self._settle(body, message, outcome, dequeue_count)

    async def _record_outcome(self, delivery_id: str, outcome: DeliveryOutcome) -> None:
        for listener in self._listeners:
            await listener.record_outcome(delivery_id, outcome)

    async def _cancelled(
        self, message: ProactiveMessage, listener: DeliveryListener
    ) -> QueueResult:
        receipt = await self._service.receipt(message.id)
        if receipt is not None and receipt.status.final:
            return QueueResult(QueueAction.DUPLICATE)  # sent before the cancel: it counts
        await listener.record_withheld(message.id)
        logger.info("proactive queue: %s not sent: its broadcast was cancelled", message.id)
        return QueueResult(QueueAction.CANCELLED)

    async def _settle(
        self,
        body: bytes,
        message: ProactiveMessage,
        outcome: DeliveryOutcome,
        dequeue_count: int | None,
    ) -> QueueResult:
        kind = outcome.outcome
        if outcome.repeated:
            logger.info("proactive queue: %s already %s; nothing to do", message.id, kind)
            return QueueResult(QueueAction.DUPLICATE, outcome=outcome)
        if kind is Outcome.DELIVERED:
            return QueueResult(QueueAction.DELIVERED, outcome=outcome)
        if kind in (Outcome.RETRY, Outcome.BUSY):
            if outcome.retry_at is None:
                return QueueResult(QueueAction.DROPPED, outcome=outcome)
            now = self._clock()
            delay = await self._requeue(body, outcome.retry_at, now)
            logger.info(
                "proactive queue: %s %s; again in %d s (attempt %s)",
                message.id,
                "retrying" if kind is Outcome.RETRY else "busy elsewhere",
                delay,
                outcome.attempts,
            )
            return QueueResult(QueueAction.REQUEUED, delay, outcome=outcome)
        error = outcome.error or DeliveryError(kind.value, f"the delivery ended {kind.value}")
        message_text = error.message
        if kind is Outcome.UNCONFIRMED:
            # Final, but worth an operator's look: an activity may be missing. Re-submitting
            # the same id sends nothing; a new id might send a duplicate.
            message_text = (
                "an activity may or may not have been delivered and was not sent again: "
                + error.message
            )
        reason = PoisonReason(
            error.code,
            message_text,
            delivery_id=message.id,
            attempts=outcome.attempts,
            activity_ids=outcome.activity_ids,
        )
        result = await self._poison(body, reason, dequeue_count)
        return QueueResult(result.action, reason=reason, outcome=outcome)

    async def _requeue(self, body: bytes, until: datetime, now: datetime) -> int:
        text = body.decode("utf-8")
        # Never at once: a message handed straight back would spin on a busy delivery.
        until = max(until, now + timedelta(seconds=MIN_DELAY_SECONDS))
        sent = await send_text(text, queue=self._queue(), not_before=until, now=now)
        return sent.visibility_seconds

    async def _poison(
        self, body: bytes, reason: PoisonReason, dequeue_count: int | None
    ) -> QueueResult:
        text = poison_text(
            body,
            reason,
            queue_name=self._queue_name,
            dequeue_count=dequeue_count,
            now=self._clock(),
        )
        await put_poison(self._poison_queue(), text)
        logger.warning(
            "proactive queue: %s moved to %s%s: %s",
            reason.delivery_id or "message",
            self._queue_name,
            POISON_SUFFIX,
            reason.code,
        )
        return QueueResult(QueueAction.POISONED, reason=reason)

    async def _record_invalid(self, body: bytes, error: InvalidMessageError) -> None:
        """Give a valid id of an invalid message a ``Failed`` receipt saying why."""
        if error.message_id is None:
            return
        await self._service.record_invalid(
            error.message_id,
            _activity_count(body),
            "invalid:" + hashlib.sha256(body).hexdigest(),
            DeliveryError("InvalidMessage", str(error)),
            now=self._clock(),
        )


def _activity_count(body: bytes) -> int:
    try:
        document = decode_json(body)
    except InvalidMessageError:
        return 1
    activities = document.get("activities") if isinstance(document, dict) else None
    if isinstance(activities, list) and 1 <= len(activities) <= MAX_ACTIVITIES:
        return len(activities)
    return 1


def _named_queue(name: str) -> Callable[[], QueueClient]:
    def get() -> QueueClient:
        from bot.storage.queues import queue

        return queue(name)

    return get
