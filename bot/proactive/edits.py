"""Edit and recall what a delivery sent, by the delivery's idempotency id.

An edit (``update``) replaces each activity a delivery sent, in place
(``PUT v3/conversations/{id}/activities/{activityId}``); a recall (``delete``) deletes them
(``DELETE`` on the same path). Both come from ``PATCH`` / ``DELETE /api/deliveries/{id}`` and
from queue messages with ``"operation"`` and ``"deliveryId"`` (docs/delivery.md).

Each operation is itself a ledger entry under its own id (the queue message's ``id``, the
HTTP ``idempotencyKey``, or a new one): the same operation delivered any number of times is
applied once, and its activities are marked in flight before each request like a send's. An
edit that is repeated after a crash only repeats an idempotent request (the same replacement,
or a delete the Connector answers 404 ``ActivityNotFoundInConversation``, which counts as
done), so operations are at least once at the Connector and exactly once in the ledger. Once
applied, the operation is recorded on the delivery's receipt as its next version
(:mod:`bot.delivery.versions`).

An operation that arrives before its delivery is final:

* on the queue it waits: it is re-enqueued until the delivery is final, for at most
  ``PROACTIVE_EDIT_WAIT_SECONDS`` (:data:`EDIT_WAIT_SECONDS`) from its first sighting (the
  delivery may still be in the queue behind it); after that it is refused
  ``DeliveryNotFound`` and poisoned;
* over HTTP it is answered at once: 404 ``DeliveryNotFound`` for an unknown id, 409
  ``DeliveryInProgress`` with ``Retry-After`` while it is being sent.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot import telemetry
from bot.delivery import (
    AlreadyDone,
    Claim,
    DeliveryError,
    DeliveryLedger,
    DeliveryMode,
    DeliveryStatus,
    IdempotencyConflictError,
    InProgress,
    LeaseLostError,
    Receipt,
)
from bot.delivery.sent_cards import SentCards
from bot.delivery.versions import version_entry
from bot.proactive.backoff import Backoff, retry_time
from bot.proactive.delivery import Deliverer, DeliveryOutcome, Outcome
from bot.proactive.errors import (
    DeliveryNotEditableError,
    DeliveryNotFoundError,
    EditMismatchError,
    ProactiveError,
)
from bot.proactive.failures import Failure, Verdict, classify
from bot.proactive.message import ProactiveMessage
from bot.proactive.targets import ResolvedTarget, TargetResolver
from bot.schema import Activity, ConversationReference, apply_conversation_reference
from bot.turn.sender import ActivitySender

logger = logging.getLogger(__name__)

EDIT_WAIT_SECONDS = 600.0
"""How long a queued edit waits for a delivery the ledger does not know yet, or is sending, by
default (``PROACTIVE_EDIT_WAIT_SECONDS``)."""
NOT_READY_RECHECK_SECONDS = 5.0
"""How soon a waiting edit looks at its delivery again."""
ACTIVITY_GONE = "ActivityNotFoundInConversation"
"""The Connector's 404 code for an activity that is not (or no longer) in the conversation."""


class EditOperation(StrEnum):
    """What an operation does to a delivery's activities."""

    UPDATE = "update"
    """Replace each activity in place (the same number of activities as were sent)."""
    DELETE = "delete"
    """Delete every activity the delivery sent (recall)."""


@dataclass(frozen=True)
class EditRequest:
    """One edit or recall.

    Attributes:
        delivery_id: The delivery to change.
        operation: Update or delete.
        operation_id: The operation's own idempotency id.
        activities: The replacements (``update``), one per activity sent, in order; ``None``
            keeps that activity as it is (a card action replaces only its own card).
    """

    delivery_id: str
    operation: EditOperation
    operation_id: str
    activities: tuple[Activity | None, ...] = ()

    def payload_hash(self) -> str:
        """The digest of what the operation does, for the ledger's reuse-of-id check."""
        document = {
            "operation": self.operation.value,
            "deliveryId": self.delivery_id,
            "activities": [
                activity.to_wire() if activity is not None else None for activity in self.activities
            ],
        }
        text = json.dumps(document, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()

    @property
    def slots(self) -> int:
        """Ledger entries of the operation: one per replacement, one for a whole recall."""
        return len(self.activities) if self.operation is EditOperation.UPDATE else 1


@dataclass(frozen=True)
class EditOutcome:
    """The result of :meth:`Editor.apply`.

    Attributes:
        outcome: As a delivery's (the queue sender settles it the same way); its
            ``activity_ids`` are those of the delivery's activities that were changed.
        delivery: The delivery's receipt after the operation was recorded on it.
        operation_id: The operation's id.
    """

    outcome: DeliveryOutcome
    delivery: Receipt | None = None
    operation_id: str = ""

    @property
    def version(self) -> int | None:
        """The version number the operation got on the delivery, once recorded."""
        if self.delivery is None:
            return None
        for item in self.delivery.versions:
            if item.get("operationId") == self.operation_id:
                return int(item["version"])
        return None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Editor:
    """Applies edits and recalls under the ledger.

    Args:
        ledger: The delivery ledger (the delivery's receipt and the operation's own entry).
        resolver: Checks the delivery's conversation again (allow-list, retired).
        sender: Updates and deletes activities (through the rate governor).
        deliverer: Retires a conversation the Connector says is gone.
        sent_cards: Which delivery sent a card (for :meth:`update_sent_card`).
        backoff: Retry timing and the attempt limit.
        clock: The current time.
        wait_seconds: How long a queued operation waits for its delivery.
    """

    def __init__(
        self,
        *,
        ledger: DeliveryLedger,
        resolver: TargetResolver,
        sender: ActivitySender,
        deliverer: Deliverer,
        sent_cards: SentCards,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = _utc_now,
        wait_seconds: float = EDIT_WAIT_SECONDS,
    ) -> None:
        self._ledger = ledger
        self._resolver = resolver
        self._sender = sender
        self._deliverer = deliverer
        self._sent_cards = sent_cards
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._wait_seconds = wait_seconds

    async def apply(self, request: EditRequest, *, wait: bool = False) -> EditOutcome:
        """Apply ``request`` once, however often it is repeated.

        Args:
            request: The operation.
            wait: Wait (re-enqueue) for a delivery that is unknown or not final, as the queue
                does; otherwise answer at once (HTTP).

        Returns:
            The outcome; never raises for a refused or failed operation.

        Raises:
            LedgerConflictError: The ledger kept conflicting (try again later).
        """
        with telemetry.span("proactive.edit", {"proactive.operation": request.operation.value}):
            return await self._apply(request, wait=wait)

    async def update_sent_card(
        self, conversation_id: str, activity_id: str, card: Activity, operation_id: str
    ) -> EditOutcome | None:
        """Replace a card a delivery sent, as a version of that delivery (docs/cards.md).

        Only the card's own activity is replaced; the delivery's others stay as they are.

        Returns:
            The edit's outcome, or ``None`` when no delivery is known to have sent the card.

        Raises:
            LedgerConflictError: The ledger kept conflicting (try again later).
        """
        found = await self._sent_cards.find(conversation_id, activity_id)
        if found is None:
            return None
        original = await self._ledger.get_receipt(found.delivery_id)
        if original is None or found.index >= len(original.activities):
            return None
        replacements: list[Activity | None] = [None] * len(original.activities)
        replacements[found.index] = card
        request = EditRequest(
            found.delivery_id, EditOperation.UPDATE, operation_id, tuple(replacements)
        )
        return await self.apply(request)

    async def _apply(self, request: EditRequest, *, wait: bool) -> EditOutcome:
        if request.operation is EditOperation.UPDATE and not request.activities:
            raise ValueError("an update needs its activities")
        original = await self._ledger.get_receipt(request.delivery_id)
        ready = original is not None and original.status.final
        if not ready and not wait:
            if original is None:
                return self._done(_refused(DeliveryNotFoundError("No delivery has this id.")))
            return self._done(
                DeliveryOutcome(
                    Outcome.BUSY,
                    error=DeliveryError("DeliveryInProgress", "the delivery is being sent"),
                    retry_at=self._clock() + timedelta(seconds=NOT_READY_RECHECK_SECONDS),
                )
            )
        try:
            claimed = await self._ledger.claim(
                request.operation_id,
                request.slots,
                now=self._clock(),
                payload_hash=request.payload_hash(),
                delivery=DeliveryMode.AT_LEAST_ONCE,
            )
        except IdempotencyConflictError as error:
            return self._done(
                DeliveryOutcome(
                    Outcome.CONFLICT, error=DeliveryError("IdempotencyConflict", str(error))
                )
            )
        if isinstance(claimed, AlreadyDone):
            return await self._repeat(request, claimed.receipt, original)
        if isinstance(claimed, InProgress):
            until = min(claimed.until, self._clock() + timedelta(seconds=NOT_READY_RECHECK_SECONDS))
            return self._done(
                DeliveryOutcome(Outcome.BUSY, retry_at=until, receipt=claimed.receipt)
            )
        try:
            if original is None or not original.status.final:
                return self._done(await self._wait(claimed, original))
            return await self._apply_claimed(request, claimed, original)
        except LeaseLostError:
            logger.warning("delivery edit %s: taken over by another worker", claimed.id)
            return self._done(DeliveryOutcome(Outcome.BUSY, receipt=claimed.receipt))

    async def _wait(self, claim: Claim, original: Receipt | None) -> DeliveryOutcome:
        now = self._clock()
        if now - claim.receipt.created_at > timedelta(seconds=self._wait_seconds):
            refusal = DeliveryNotFoundError(
                f"the delivery was not known and final within {self._wait_seconds:.0f} s"
            )
            receipt = await self._ledger.fail(
                claim, DeliveryError(refusal.code, refusal.message), DeliveryStatus.REFUSED
            )
            return _refused(refusal, receipt)
        state = "not known yet" if original is None else "still being sent"
        retry_at = now + timedelta(seconds=NOT_READY_RECHECK_SECONDS)
        error = DeliveryError("DeliveryNotReady", f"the delivery is {state}; the edit waits")
        receipt = await self._ledger.record_retry(claim, error, retry_at, now=now)
        logger.info("delivery edit %s: waiting for its delivery (%s)", claim.id, state)
        return DeliveryOutcome(Outcome.RETRY, error=error, retry_at=retry_at, receipt=receipt)

    async def _apply_claimed(
        self, request: EditRequest, claim: Claim, original: Receipt
    ) -> EditOutcome:
        refusal = _refusal_of(request, original)
        resolved: ResolvedTarget | None = None
        if refusal is None and original.address is not None:
            try:
                address = ConversationReference.from_wire(original.address)
                resolved = await self._resolver.resolve(address)
            except ProactiveError as error:
                refusal = error
        if refusal is not None or resolved is None:
            refusal = refusal or DeliveryNotEditableError("the delivery has no address")
            receipt = await self._ledger.fail(
                claim, DeliveryError(refusal.code, refusal.message), DeliveryStatus.REFUSED
            )
            logger.info("delivery edit %s: refused (%s)", claim.id, refusal.code)
            return self._done(_refused(refusal, receipt), request=request)
        ids = original.activity_ids
        while (index := claim.next_index) is not None:
            await self._ledger.begin(claim)
            try:
                changed = await self._change(request, resolved, ids, index)
            except Exception as error:
                failure = classify(error)
                return self._done(await self._after_failure(claim, failure, resolved), request)
            if changed is None:
                await self._ledger.record_unknown(
                    claim,
                    index,
                    DeliveryError("ActivityNotSent", f"activity {index} has no activity id"),
                )
            else:
                await self._ledger.record_sent(claim, index, changed)
        await self._ledger.complete(claim)
        return await self._recorded(request, original)

    async def _change(
        self, request: EditRequest, resolved: ResolvedTarget, ids: Sequence[str | None], slot: int
    ) -> str | None:
        """Apply slot ``slot``; the activity id it changed (``None``: nothing to change)."""
        if request.operation is EditOperation.UPDATE:
            activity_id = ids[slot]
            replacement = request.activities[slot]
            if activity_id is None or replacement is None:
                return activity_id
            outgoing = replacement.model_copy(deep=True)
            apply_conversation_reference(outgoing, resolved.reference)
            outgoing.reply_to_id = None
            outgoing.id = activity_id
            response = await self._sender.update_activity(resolved.reference, outgoing)
            return response.id or activity_id
        deleted: str | None = None
        for activity_id in ids:
            if activity_id is None:
                continue
            try:
                await self._sender.delete_activity(resolved.reference, activity_id)
            except Exception as error:
                # Deleted already (by a copy of this recall that crashed before recording it).
                if classify(error).code != ACTIVITY_GONE:
                    raise
            deleted = deleted or activity_id
        return deleted

    async def _after_failure(
        self, claim: Claim, failure: Failure, resolved: ResolvedTarget
    ) -> DeliveryOutcome:
        logger.warning(
            "delivery edit %s: Connector request failed: %s %s -> %s",
            claim.id,
            failure.status if failure.status is not None else "no response",
            failure.code,
            failure.verdict,
        )
        if failure.verdict is Verdict.GONE:
            await self._deliverer.retire(resolved, failure)
        if failure.verdict is Verdict.RETRY and not self._backoff.exhausted(claim.attempt):
            now = self._clock()
            retry_at = retry_time(now, self._backoff.delay(claim.attempt, failure.retry_after))
            receipt = await self._ledger.record_retry(claim, failure.error, retry_at, now=now)
            return DeliveryOutcome(
                Outcome.RETRY,
                error=failure.error,
                failure=failure,
                retry_at=retry_at,
                receipt=receipt,
                target=resolved,
            )
        status = (
            DeliveryStatus.REFUSED if failure.verdict is Verdict.REFUSE else DeliveryStatus.FAILED
        )
        receipt = await self._ledger.fail(claim, failure.error, status)
        outcome = Outcome.REFUSED if status is DeliveryStatus.REFUSED else Outcome.FAILED
        return DeliveryOutcome(
            outcome, error=failure.error, failure=failure, receipt=receipt, target=resolved
        )

    async def _repeat(
        self, request: EditRequest, receipt: Receipt, original: Receipt | None
    ) -> EditOutcome:
        if receipt.status is DeliveryStatus.DELIVERED and original is not None:
            # Applied before; recording it is idempotent (a crash may have come in between).
            edited = await self._recorded(request, original)
            return EditOutcome(
                _with(edited.outcome, repeated=True, receipt=receipt),
                edited.delivery,
                request.operation_id,
            )
        status_outcome = {
            DeliveryStatus.REFUSED: Outcome.REFUSED,
            DeliveryStatus.FAILED: Outcome.FAILED,
            DeliveryStatus.EXPIRED: Outcome.EXPIRED,
            DeliveryStatus.UNCONFIRMED: Outcome.UNCONFIRMED,
            DeliveryStatus.DELIVERED: Outcome.DELIVERED,
        }
        return self._done(
            DeliveryOutcome(
                status_outcome.get(receipt.status, Outcome.FAILED),
                error=receipt.last_error,
                receipt=receipt,
                repeated=True,
            ),
            request,
        )

    async def _recorded(self, request: EditRequest, original: Receipt) -> EditOutcome:
        ids = [
            activity_id
            if request.operation is EditOperation.DELETE or request.activities[index] is not None
            else None
            for index, activity_id in enumerate(original.activity_ids)
        ]
        changed = [activity_id for activity_id in ids if activity_id]
        entry = version_entry(request.operation.value, request.operation_id, ids, self._clock())
        delivery = await self._ledger.record_version(request.delivery_id, entry)
        logger.info(
            "delivery %s: %s %s applied",
            request.delivery_id,
            request.operation,
            request.operation_id,
        )
        return EditOutcome(
            DeliveryOutcome(Outcome.DELIVERED, tuple(changed)), delivery, request.operation_id
        )

    def _done(self, outcome: DeliveryOutcome, request: EditRequest | None = None) -> EditOutcome:
        return EditOutcome(outcome, None, request.operation_id if request else "")


def edit_request(message: ProactiveMessage) -> EditRequest:
    """The operation of a queue message with ``operation`` ``update`` or ``delete``.

    Raises:
        ValueError: The message sends instead.
    """
    if message.operation not in ("update", "delete") or message.delivery_id is None:
        raise ValueError("the message is not an edit")
    return EditRequest(
        delivery_id=message.delivery_id,
        operation=EditOperation(message.operation),
        operation_id=message.id,
        activities=tuple(message.activity_list),
    )


def _refusal_of(request: EditRequest, original: Receipt) -> ProactiveError | None:
    if original.recalled:
        return DeliveryNotEditableError("the delivery was recalled; nothing is left to change")
    if not any(original.activity_ids):
        return DeliveryNotEditableError("the delivery sent no activity")
    if original.address is None:
        return DeliveryNotEditableError("the delivery predates edits: its address is not stored")
    count = len(original.activities)
    if request.operation is EditOperation.UPDATE and len(request.activities) != count:
        return EditMismatchError(
            f"the delivery sent {count} activities; an update gives exactly as many"
        )
    return None


def _refused(refusal: ProactiveError, receipt: Receipt | None = None) -> DeliveryOutcome:
    return DeliveryOutcome(
        Outcome.REFUSED,
        error=DeliveryError(refusal.code, refusal.message),
        refusal=refusal,
        receipt=receipt,
    )


def _with(outcome: DeliveryOutcome, *, repeated: bool, receipt: Receipt) -> DeliveryOutcome:
    return DeliveryOutcome(
        outcome.outcome, outcome.activity_ids, outcome.error, receipt=receipt, repeated=repeated
    )
