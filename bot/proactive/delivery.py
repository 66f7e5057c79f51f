"""One delivery: resolve the target, send the activities in order, at most once each.

:class:`Deliverer` is shared by the HTTP API and the queue sender. With an idempotency id it
works under the delivery ledger (:mod:`bot.delivery`): the id is claimed first, so a repeat of
a finished delivery sends nothing and answers what the first one did, a delivery another
worker holds is left to it, and every activity is marked in flight before its request and
recorded right after. Without an id it just sends.

A failed send is classified (:mod:`bot.proactive.failures`) into what happens next:

* an activity that may have reached the Connector (timeout, 500, 502, 504) is, at least once
  (the default), retried and marked ``possibleDuplicate``; at most once, recorded ``Unknown``
  and never sent again (docs/delivery.md);
* a transient failure releases the delivery until a retry time (``Retry-After``, else
  backoff); the caller re-enqueues or answers 429/503; after ``max_attempts`` it fails;
* the 403/404 codes that mean the bot may no longer write retire the stored reference;
* anything else fails the delivery.

Every outcome is returned as a :class:`DeliveryOutcome`, never raised: the caller decides
between an HTTP status, a re-enqueue and the poison queue. Only infrastructure failures (the
ledger or the reference store unreachable) propagate.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.cards import ADAPTIVE_CARD_CONTENT_TYPE
from bot.delivery import (
    DEFAULT_DELIVERY_MODE,
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
from bot.delivery.sent_cards import SentCard, SentCards
from bot.proactive.backoff import Backoff, retry_time
from bot.proactive.chats import ChatStartError
from bot.proactive.errors import ProactiveError
from bot.proactive.failures import Failure, Verdict, classify
from bot.proactive.message import Target, payload_hash
from bot.proactive.targets import ResolvedTarget, TargetResolver
from bot.references import ReferenceStore
from bot.schema import (
    Activity,
    ConversationReference,
    ResourceResponse,
    apply_conversation_reference,
)
from bot.throttling.sender import LocalThrottleError
from bot.turn.sender import ActivitySender

logger = logging.getLogger(__name__)

BUSY_RECHECK_SECONDS = 5.0
"""How soon a copy of a delivery another worker is sending looks again (not the whole lease)."""


class Outcome(StrEnum):
    """How a delivery (attempt) ended."""

    DELIVERED = "Delivered"
    """Every activity was sent and has its activity id."""
    UNCONFIRMED = "Unconfirmed"
    """Final, but an activity may or may not have arrived (it is not sent again)."""
    RETRY = "Retry"
    """A transient failure: what is left is sent again from :attr:`DeliveryOutcome.retry_at`."""
    FAILED = "Failed"
    """A permanent failure; nothing more is sent."""
    REFUSED = "Refused"
    """Not sent by policy: unknown, ambiguous or retired conversation, serviceUrl not allowed."""
    EXPIRED = "Expired"
    """``expiresAt`` passed first."""
    BUSY = "Busy"
    """Another worker holds the delivery, or a retry waits; ask again at ``retry_at`` (when
    ``retry_at`` is ``None`` another worker took it over and will finish it)."""
    CONFLICT = "Conflict"
    """The idempotency id was already used for a different target or other activities."""

    @property
    def final(self) -> bool:
        """Nothing more will happen to the delivery (as far as this caller is concerned)."""
        return self not in (Outcome.RETRY, Outcome.BUSY)


_OUTCOME_OF_STATUS = {
    DeliveryStatus.DELIVERED: Outcome.DELIVERED,
    DeliveryStatus.UNCONFIRMED: Outcome.UNCONFIRMED,
    DeliveryStatus.FAILED: Outcome.FAILED,
    DeliveryStatus.EXPIRED: Outcome.EXPIRED,
    DeliveryStatus.REFUSED: Outcome.REFUSED,
}


@dataclass(frozen=True)
class DeliveryOutcome:
    """The result of :meth:`Deliverer.deliver`.

    Attributes:
        outcome: How it ended.
        activity_ids: The id of each activity, by index; ``None`` for one not (known to be)
            sent. Without an idempotency id, only the activities sent so far.
        error: Why it did not (fully) succeed: a code and a message, never message text.
        failure: The classified send failure, when a send failed in this call.
        refusal: The refusal, when the target was refused in this call.
        retry_at: When to try again (``RETRY``, ``BUSY``).
        receipt: The ledger's receipt (with an idempotency id).
        target: The resolved conversation, when it was resolved.
        repeated: The delivery had already finished; this call sent nothing.
    """

    outcome: Outcome
    activity_ids: tuple[str | None, ...] = ()
    error: DeliveryError | None = None
    failure: Failure | None = None
    refusal: ProactiveError | None = None
    retry_at: datetime | None = None
    receipt: Receipt | None = None
    target: ResolvedTarget | None = None
    repeated: bool = False

    @property
    def attempts(self) -> int | None:
        """How many times the delivery was claimed (with an idempotency id)."""
        return self.receipt.attempts if self.receipt is not None else None


Reserve = Callable[[ConversationReference], AbstractAsyncContextManager[None]]
"""Holds the rate permit of the next request to a conversation (``GovernedSender.reserve``)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Deliverer:
    """Sends activities to a target, under the ledger when given an idempotency id.

    Args:
        resolver: Finds and checks the target's reference.
        sender: Posts activities to the Connector (a ``ConnectorSender``).
        ledger: The delivery ledger.
        store: The reference store, to retire conversations the Connector says are gone.
        backoff: Retry timing and the attempt limit.
        clock: The current time.
        reserve: Takes the rate permit of the next request to a conversation ahead of the
            ledger claim (``GovernedSender.reserve``); without it the claim comes first.
        sent_cards: Where a delivery notes the cards it sent (for Universal Actions to find
            it, :mod:`bot.delivery.sent_cards`); not noted when omitted.
    """

    def __init__(
        self,
        *,
        resolver: TargetResolver,
        sender: ActivitySender,
        ledger: DeliveryLedger,
        store: ReferenceStore,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = _utc_now,
        reserve: Reserve | None = None,
        sent_cards: SentCards | None = None,
    ) -> None:
        self._resolver = resolver
        self._reserve = reserve
        self._sender = sender
        self._ledger = ledger
        self._store = store
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._sent_cards = sent_cards

    async def deliver(
        self,
        target: Target,
        activities: Sequence[Activity],
        *,
        delivery_id: str | None = None,
        expires_at: datetime | None = None,
        delivery: DeliveryMode = DEFAULT_DELIVERY_MODE,
    ) -> DeliveryOutcome:
        """Send ``activities`` to ``target`` in order.

        Args:
            target: A stored conversation, a user, or an explicit reference.
            activities: What to send; each is addressed to the conversation (channel,
                serviceUrl, conversation, from the bot to the user) and keeps an explicit
                ``replyToId``.
            delivery_id: The idempotency id; the same id sends each activity at most once,
                however often and however concurrently it is delivered.
            expires_at: Send nothing after this.
            delivery: What an ambiguous outcome leads to (docs/delivery.md); stored with a
                new ledger document, a stored one keeps its own.

        Returns:
            The outcome; see :class:`Outcome`.

        Raises:
            ValueError: No activities, or an invalid ``delivery_id``.
            LedgerConflictError: The ledger kept conflicting (try again later).
        """
        if not activities:
            raise ValueError("a delivery needs at least one activity")
        if delivery_id is None:
            return await self._deliver_unledgered(target, activities)
        if self._reserve is None or self._expired(expires_at):
            return await self._claim_and_deliver(
                target, activities, delivery_id, expires_at, delivery, None
            )
        # The cheaper order (docs/delivery.md): resolve, take the first request's rate permit,
        # and only then claim (the claim also puts the activity in flight) and POST. A send
        # the governor holds back costs no ledger write and no attempt; a permit the claim
        # finds no use for (delivered already, busy elsewhere) is given back uncounted.
        # Only a stored conversation takes this order: starting a user's chat is a Connector
        # request of its own, made once, under the claim (a concurrent copy would start a
        # second chat).
        try:
            resolved: ResolvedTarget | None = await self._resolver.check(target)
        except ProactiveError:
            resolved = None  # refused: the claim records why on the receipt
        if resolved is None:
            return await self._claim_and_deliver(
                target, activities, delivery_id, expires_at, delivery, None
            )
        async with contextlib.AsyncExitStack() as reservation:
            try:
                await reservation.enter_async_context(self._reserve(resolved.reference))
            except LocalThrottleError as error:
                return self._held_back(classify(error), resolved)
            return await self._claim_and_deliver(
                target, activities, delivery_id, expires_at, delivery, resolved
            )
        raise AssertionError("unreachable")  # pragma: no cover (mypy: the stack may swallow)

    async def _claim_and_deliver(
        self,
        target: Target,
        activities: Sequence[Activity],
        delivery_id: str,
        expires_at: datetime | None,
        delivery: DeliveryMode,
        resolved: ResolvedTarget | None,
    ) -> DeliveryOutcome:
        """Claim the delivery and send what is left; ``resolved`` when the target was resolved
        and the first request's permit is held (the claim then begins the activity too)."""
        try:
            claimed = await self._ledger.claim(
                delivery_id,
                len(activities),
                now=self._clock(),
                payload_hash=payload_hash(target, activities),
                delivery=delivery,
                begin=resolved is not None,
                facts=_facts(resolved) if resolved is not None else None,
            )
        except IdempotencyConflictError as error:
            return DeliveryOutcome(
                Outcome.CONFLICT, error=DeliveryError("IdempotencyConflict", str(error))
            )
        if isinstance(claimed, AlreadyDone):
            if claimed.finished_now:
                # Our takeover ended it (at most once, an activity in flight at a crash):
                # a new outcome, poisoned with its reason, not a silent "already done".
                logger.warning(
                    "proactive delivery %s: %s after an expired lease",
                    delivery_id,
                    claimed.receipt.status,
                )
                return _from_receipt(claimed.receipt, None)
            return await self._repeat(target, claimed.receipt, resolved)
        if isinstance(claimed, InProgress):
            receipt = claimed.receipt
            until = claimed.until
            if receipt.status is DeliveryStatus.SENDING:
                # Another worker is sending: it usually finishes in a second, long before its
                # lease would run out; look again soon (a waiting retry keeps its exact time).
                until = min(until, self._clock() + timedelta(seconds=BUSY_RECHECK_SECONDS))
            return DeliveryOutcome(
                Outcome.BUSY,
                tuple(receipt.activity_ids),
                receipt.last_error,
                retry_at=until,
                receipt=receipt,
            )
        try:
            return await self._deliver_claimed(claimed, target, activities, expires_at, resolved)
        except LeaseLostError:
            # Our lease ran out and another worker took the delivery over; it finishes it.
            logger.warning("proactive delivery %s: taken over by another worker", delivery_id)
            return DeliveryOutcome(Outcome.BUSY, receipt=claimed.receipt)

    async def _deliver_unledgered(
        self, target: Target, activities: Sequence[Activity]
    ) -> DeliveryOutcome:
        try:
            resolved = await self._resolver.resolve(target)
        except ProactiveError as refusal:
            return _refused(refusal)
        except ChatStartError as error:
            return self._start_failed(error.failure)
        sent: list[str | None] = []
        for activity in activities:
            try:
                response = await self.send_one(resolved, activity)
            except Exception as error:
                failure = classify(error)
                _log_failure(None, failure)
                if failure.verdict is Verdict.GONE:
                    await self.retire(resolved, failure)
                if failure.maybe_sent:
                    outcome = Outcome.UNCONFIRMED
                elif failure.verdict is Verdict.RETRY:
                    outcome = Outcome.RETRY
                elif failure.verdict is Verdict.REFUSE:
                    outcome = Outcome.REFUSED
                else:
                    outcome = Outcome.FAILED
                retry_at = None
                if outcome is Outcome.RETRY:
                    delay = self._backoff.delay(1, failure.retry_after)
                    retry_at = retry_time(self._clock(), delay)
                return DeliveryOutcome(
                    outcome,
                    tuple(sent),
                    failure.error,
                    failure=failure,
                    retry_at=retry_at,
                    target=resolved,
                )
            sent.append(response.id)
        return DeliveryOutcome(Outcome.DELIVERED, tuple(sent), target=resolved)

    async def _deliver_claimed(
        self,
        claim: Claim,
        target: Target,
        activities: Sequence[Activity],
        expires_at: datetime | None,
        resolved: ResolvedTarget | None,
    ) -> DeliveryOutcome:
        if self._expired(expires_at):
            return await self._expire(claim, None)
        try:
            if resolved is None:
                resolved = await self._resolver.resolve(target)
        except ProactiveError as refusal:
            receipt = await self._ledger.fail(
                claim, DeliveryError(refusal.code, refusal.message), DeliveryStatus.REFUSED
            )
            logger.info("proactive delivery %s: refused (%s)", claim.id, refusal.code)
            return _refused(refusal, receipt)
        except ChatStartError as error:
            return await self._start_failed_claimed(claim, error.failure, expires_at)
        claim.note_target(resolved.conversation_id, created=resolved.created)
        while (index := claim.next_index) is not None:
            if self._expired(expires_at):
                return await self._expire(claim, resolved)
            # Where it went is stored with the first write, for later edits and recalls.
            await self._ledger.begin(claim, facts=_facts(resolved))
            try:
                response = await self.send_one(resolved, activities[index])
            except Exception as error:
                return await self._after_failure(
                    claim, index, classify(error), resolved, expires_at
                )
            await self._ledger.record_sent(claim, index, response.id or "")
            await self._note_card(claim.id, index, activities[index], resolved, response.id)
        receipt = await self._ledger.complete(claim)
        logger.info(
            "proactive delivery %s: %s (attempt %d)", claim.id, receipt.status, receipt.attempts
        )
        return _from_receipt(receipt, resolved)

    async def _note_card(
        self,
        delivery_id: str,
        index: int,
        activity: Activity,
        resolved: ResolvedTarget,
        activity_id: str | None,
    ) -> None:
        """Note a sent card's delivery, after the send is recorded (the note is optional)."""
        conversation = resolved.reference.conversation
        conversation_id = conversation.id if conversation is not None else None
        if self._sent_cards is None or not activity_id or not conversation_id:
            return
        if not any(
            item.content_type == ADAPTIVE_CARD_CONTENT_TYPE for item in activity.attachments or ()
        ):
            return
        try:
            await self._sent_cards.remember(
                conversation_id, activity_id, SentCard(delivery_id, index)
            )
        except Exception as error:  # the card is sent and recorded; without the note an
            # update of it is applied all the same, only not recorded as a version
            logger.warning(
                "proactive delivery %s: card %d not noted: %s",
                delivery_id,
                index,
                type(error).__name__,
            )

    async def send_one(self, resolved: ResolvedTarget, activity: Activity) -> ResourceResponse:
        """Address one activity to the conversation and post it.

        Raises:
            ServiceUrlNotAllowed, TokenAcquisitionError, ConnectorError: As the sender raises.
        """
        outgoing = activity.model_copy(deep=True)
        explicit_reply_to_id = outgoing.reply_to_id
        apply_conversation_reference(outgoing, resolved.reference)
        outgoing.reply_to_id = explicit_reply_to_id
        # The channel assigns ids; a caller's id would be misleading at best.
        outgoing.id = None
        [response] = await self._sender.send_activities(resolved.reference, [outgoing])
        return response

    async def _after_failure(
        self,
        claim: Claim,
        index: int,
        failure: Failure,
        resolved: ResolvedTarget,
        expires_at: datetime | None,
    ) -> DeliveryOutcome:
        _log_failure(claim.id, failure)
        if failure.verdict is Verdict.GONE:
            await self.retire(resolved, failure)
        resend = (
            failure.maybe_sent
            and failure.verdict is Verdict.RETRY
            and claim.delivery is DeliveryMode.AT_LEAST_ONCE
        )
        if failure.maybe_sent and not resend:
            receipt = await self._ledger.record_unknown(claim, index, failure.error, advance=False)
            if claim.next_index is None:
                # It was the last activity: the delivery is over, unconfirmed.
                return _from_receipt(receipt, resolved, failure)
        return await self._settle(
            claim, failure, resolved, expires_at, possible_duplicate=index if resend else None
        )

    async def _settle(
        self,
        claim: Claim,
        failure: Failure,
        resolved: ResolvedTarget | None,
        expires_at: datetime | None,
        *,
        possible_duplicate: int | None = None,
    ) -> DeliveryOutcome:
        """After a failure: retry later (transient, attempts left, before ``expiresAt``), or
        end the delivery ``Failed`` (``Refused`` by policy)."""
        if failure.verdict is Verdict.RETRY:
            if not failure.held_back and self._backoff.exhausted(claim.attempt):
                error = DeliveryError(
                    failure.code, f"gave up after {claim.attempt} attempts: {failure.message}"
                )
                receipt = await self._ledger.fail(claim, error, DeliveryStatus.FAILED)
                return _from_receipt(receipt, resolved, failure)
            now = self._clock()
            retry_at = retry_time(now, self._backoff.delay(claim.attempt, failure.retry_after))
            if expires_at is not None and retry_at >= expires_at:
                return await self._expire(claim, resolved, failure)
            receipt = await self._ledger.record_retry(
                claim,
                failure.error,
                retry_at,
                now=now,
                possible_duplicate=possible_duplicate,
                deferred=failure.held_back,
            )
            return DeliveryOutcome(
                Outcome.RETRY,
                tuple(receipt.activity_ids),
                failure.error,
                failure=failure,
                retry_at=retry_at,
                receipt=receipt,
                target=resolved,
            )
        status = (
            DeliveryStatus.REFUSED if failure.verdict is Verdict.REFUSE else DeliveryStatus.FAILED
        )
        receipt = await self._ledger.fail(claim, failure.error, status)
        return _from_receipt(receipt, resolved, failure)

    def _start_failed(self, failure: Failure) -> DeliveryOutcome:
        """The outcome of a user's chat that could not be started (no ledger)."""
        _log_failure(None, failure)
        if failure.verdict is Verdict.RETRY:
            retry_at = retry_time(self._clock(), self._backoff.delay(1, failure.retry_after))
            return DeliveryOutcome(
                Outcome.RETRY, (), failure.error, failure=failure, retry_at=retry_at
            )
        outcome = Outcome.REFUSED if failure.verdict is Verdict.REFUSE else Outcome.FAILED
        return DeliveryOutcome(outcome, (), failure.error, failure=failure)

    async def _start_failed_claimed(
        self, claim: Claim, failure: Failure, expires_at: datetime | None
    ) -> DeliveryOutcome:
        """A user's chat could not be started: nothing was sent; retry or fail the delivery.

        Starting a chat is safe to repeat (Teams answers the existing chat), so a transient
        failure is retried like an unsent activity.
        """
        _log_failure(claim.id, failure)
        return await self._settle(claim, failure, None, expires_at)

    async def _expire(
        self, claim: Claim, resolved: ResolvedTarget | None, failure: Failure | None = None
    ) -> DeliveryOutcome:
        error = DeliveryError("Expired", "expiresAt passed before every activity was sent")
        receipt = await self._ledger.fail(claim, error, DeliveryStatus.EXPIRED)
        logger.info("proactive delivery %s: expired", claim.id)
        return _from_receipt(receipt, resolved, failure)

    async def _repeat(
        self, target: Target, receipt: Receipt, resolved: ResolvedTarget | None
    ) -> DeliveryOutcome:
        if resolved is None and receipt.status is DeliveryStatus.DELIVERED:
            # Only to name the conversation in the answer; a later refusal changes nothing.
            try:
                resolved = await self._resolver.resolve(target)
            except ProactiveError:
                resolved = None
        outcome = _from_receipt(receipt, resolved)
        return DeliveryOutcome(
            outcome.outcome,
            outcome.activity_ids,
            outcome.error,
            receipt=receipt,
            target=resolved,
            repeated=True,
        )

    async def retire(self, resolved: ResolvedTarget, failure: Failure) -> None:
        """Mark the conversation inactive because the Connector said it is gone (best effort)."""
        reason = failure.inactive_reason or failure.code
        try:
            await self._store.mark_inactive(resolved.key, reason, now=self._clock())
        except Exception as error:
            # The delivery's outcome matters more; the next send meets the same answer and
            # retires the conversation then.
            logger.warning(
                "proactive: could not retire the conversation (%s): %s",
                reason,
                type(error).__name__,
            )

    def _held_back(self, failure: Failure, resolved: ResolvedTarget) -> DeliveryOutcome:
        """The governor held the first request back: try again when it says, nothing written."""
        retry_at = retry_time(self._clock(), self._backoff.delay(1, failure.retry_after))
        logger.info("proactive delivery: held back by the rate governor (%s)", failure.code)
        return DeliveryOutcome(
            Outcome.RETRY, error=failure.error, failure=failure, retry_at=retry_at, target=resolved
        )

    def _expired(self, expires_at: datetime | None) -> bool:
        return expires_at is not None and self._clock() >= expires_at


def _facts(resolved: ResolvedTarget) -> dict[str, Any]:
    """What the ledger stores with a delivery's first write: where it went (for later edits
    and recalls)."""
    return {"address": resolved.reference.to_wire()}


def _refused(refusal: ProactiveError, receipt: Receipt | None = None) -> DeliveryOutcome:
    return DeliveryOutcome(
        Outcome.REFUSED,
        tuple(receipt.activity_ids) if receipt is not None else (),
        DeliveryError(refusal.code, refusal.message),
        refusal=refusal,
        receipt=receipt,
    )


def _from_receipt(
    receipt: Receipt, resolved: ResolvedTarget | None, failure: Failure | None = None
) -> DeliveryOutcome:
    outcome = _OUTCOME_OF_STATUS.get(receipt.status)
    if outcome is None:  # still Sending or Retrying: another worker's business
        return DeliveryOutcome(
            Outcome.BUSY, tuple(receipt.activity_ids), receipt.last_error, receipt=receipt
        )
    ids = tuple(activity_id or None for activity_id in receipt.activity_ids)
    return DeliveryOutcome(
        outcome, ids, receipt.last_error, failure=failure, receipt=receipt, target=resolved
    )


def _log_failure(delivery_id: str | None, failure: Failure) -> None:
    logger.warning(
        "proactive delivery %s: send failed: %s %s -> %s%s",
        delivery_id or "-",
        failure.status if failure.status is not None else "no response",
        failure.code,
        failure.verdict,
        " (may have arrived)" if failure.maybe_sent else "",
    )
