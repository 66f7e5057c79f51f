"""The delivery ledger (Cosmos DB container ``deliveries``): each proactive send exactly once.

One document per idempotency id (its HMAC id), which is also the delivery's receipt. A worker
claims the id with ``create_item`` (409: someone has it; read it and decide), holds a lease
while it sends, marks each activity in flight before sending it and records its activity id
right after, every write conditioned on the ``_etag`` it read. The rules that make this at most
one send per activity are in :mod:`bot.delivery.documents`.

A worker's loop::

    claim = await ledger.claim(delivery_id, len(activities), now=now)
    if not isinstance(claim, Claim):
        return claim  # AlreadyDone (receipt) or InProgress (try again at .until)
    while (index := claim.next_index) is not None:
        await ledger.begin(claim)             # a write only when not already in flight
        try:
            activity_id = await send(activities[index])
        except Ambiguous as error:            # timeout, 5xx after the request left
            await ledger.record_unknown(claim, index, error)  # never resent
        except Transient as error:            # 429, refused connection: certainly not sent
            await ledger.record_retry(claim, error, retry_at)
            return  # re-enqueue for retry_at
        else:
            await ledger.record_sent(claim, index, activity_id)
    await ledger.complete(claim)              # no write when already final

``record_sent`` puts the next activity in flight in the same write, so a delivery of n
activities costs n + 2 writes (claim, first begin, one per activity).

The send-to-record window: between ``begin`` (or the ``record_sent`` before) and the
``record_sent`` of an activity, its fate is only in the worker's memory. If the worker dies or
stalls past its lease there, the next claim marks that activity ``Unknown`` and goes on with the
rest: the activity was sent once or not at all, never twice, and the receipt says
``Unconfirmed``. A stalled worker that wakes up finds its lease gone at its next write
(:class:`LeaseLostError`), still records the activity id it got, and stops.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.delivery.documents import (
    begun,
    busy_until,
    completed,
    decide_claim,
    failed,
    first_in_flight,
    merged_fact,
    new_document,
    recorded,
    retrying,
    same_delivery,
    taken_over,
)
from bot.delivery.records import (
    DELIVERY_KIND,
    ActivityState,
    AlreadyDone,
    Claim,
    DeliveryError,
    DeliveryMode,
    DeliveryStatus,
    IdempotencyConflictError,
    InProgress,
    LeaseLostError,
    LedgerConflictError,
    Receipt,
    validate_delivery_id,
)
from bot.delivery.versions import versioned
from bot.storage.containers import DELIVERIES
from bot.storage.cosmos import container as named_container
from bot.storage.keys import storage_id

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy

DEFAULT_TTL_SECONDS = 7 * 86_400
"""How long a receipt (and so the idempotency of its id) is kept after its last change."""

DEFAULT_LEASE_SECONDS = 60.0
"""How long a claim is held without a write; longer than one Connector request may take."""

ClaimResult = Claim | AlreadyDone | InProgress


def delivery_document_id(delivery_id: str) -> str:
    """The ledger document id of an idempotency id."""
    return storage_id(DELIVERY_KIND, delivery_id)


class DeliveryLedger:
    """Claims, progress and receipts of proactive deliveries.

    Args:
        container: Returns the ``deliveries`` container client; the process-wide one when
            omitted.
        ttl_seconds: Cosmos DB ``ttl`` of a ledger document, from its last write. A repeated id
            is recognised for this long.
        lease_seconds: Default lease of a claim, renewed by every write of its holder.
        max_attempts: Read-decide-write rounds before a conflict is given up.
    """

    def __init__(
        self,
        *,
        container: Callable[[], ContainerProxy] | None = None,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        max_attempts: int = 16,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._container = container or _deliveries_container
        self._ttl_seconds = ttl_seconds
        self._lease_seconds = lease_seconds
        self._max_attempts = max_attempts

    async def claim(
        self,
        delivery_id: str,
        activity_count: int,
        *,
        now: datetime | None = None,
        lease_seconds: float | None = None,
        payload_hash: str | None = None,
        delivery: DeliveryMode = DeliveryMode.AT_MOST_ONCE,
        begin: bool = False,
        facts: Mapping[str, Any] | None = None,
    ) -> ClaimResult:
        """Claim a delivery to send it, or learn that it is done or being done.

        Args:
            delivery_id: The idempotency id (1-128 of ``A-Z a-z 0-9 . _ : -``).
            activity_count: How many activities the delivery sends.
            now: The current time.
            lease_seconds: How long the claim holds without a write.
            payload_hash: A digest of what is sent (target and activities); when given, reusing
                the id for something else is an error instead of a silent skip.
            delivery: The mode a new document is stored with (a stored one keeps its own).
            begin: The first pending activity's request goes right after the claim (its
                rate permit is held): the claim puts it in flight in the same write, and the
                first :meth:`begin` writes nothing.
            facts: With ``begin``: the fields :meth:`begin` would store, stored by the claim.

        Returns:
            A :class:`Claim` to send with; :class:`AlreadyDone` when the delivery is final;
            :class:`InProgress` while another worker's lease runs or a retry waits.

        Raises:
            ValueError: The id or the count is invalid.
            IdempotencyConflictError: The id was used for a different delivery.
            LedgerConflictError: Claims kept conflicting for ``max_attempts`` rounds.
        """
        from azure.cosmos.exceptions import CosmosResourceExistsError

        validate_delivery_id(delivery_id)
        if activity_count < 1:
            raise ValueError("a delivery has at least one activity")
        now = now or _now()
        lease = lease_seconds if lease_seconds is not None else self._lease_seconds
        document_id = delivery_document_id(delivery_id)
        container = self._container()

        def ready(body: dict[str, Any]) -> dict[str, Any]:
            return first_in_flight(body, facts) if begin else body

        for _ in range(self._max_attempts):
            token = uuid.uuid4().hex
            try:
                created = await container.create_item(
                    ready(
                        new_document(
                            document_id=document_id,
                            delivery_id=delivery_id,
                            activity_count=activity_count,
                            payload_hash=payload_hash,
                            lease_token=token,
                            lease_seconds=lease,
                            ttl_seconds=self._ttl_seconds,
                            now=now,
                            delivery=delivery,
                        )
                    )
                )
            except CosmosResourceExistsError:
                pass
            else:
                return Claim(delivery_id, token, dict(created), lease)
            existing = await self._read(container, document_id)
            if existing is None:
                continue  # expired or deleted since the 409: create it again
            if not same_delivery(existing, activity_count, payload_hash):
                raise IdempotencyConflictError(
                    "the delivery id was already used for different activities"
                )
            decision = decide_claim(existing, now)
            if decision == "done":
                return AlreadyDone(Receipt.from_document(existing))
            if decision == "busy":
                return InProgress(Receipt.from_document(existing), busy_until(existing))
            body = ready(
                taken_over(
                    existing,
                    lease_token=token,
                    lease_seconds=lease,
                    ttl_seconds=self._ttl_seconds,
                    now=now,
                )
            )
            written = await self._replace(container, body, existing["_etag"])
            if written is None:
                continue  # another worker took it first: decide again
            if DeliveryStatus(written["status"]).final:
                return AlreadyDone(Receipt.from_document(written), finished_now=True)
            return Claim(delivery_id, token, written, lease)
        raise LedgerConflictError(f"claim gave up after {self._max_attempts} conflicts")

    async def begin(
        self,
        claim: Claim,
        *,
        now: datetime | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> int:
        """Mark the next pending activity in flight (right before sending it).

        No write when it already is (``record_sent`` moved it there), more than half the
        lease is left and the document holds ``facts``; otherwise the write also renews the
        lease, so a send never starts on a lease about to run out.

        Args:
            claim: The claim.
            now: The current time.
            facts: Top-level fields stored with the write where the document lacks them (the
                address a delivery went to, which edits and recalls need): no extra write.

        Returns:
            The index of the activity to send now.

        Raises:
            ValueError: No activity is pending.
            LeaseLostError: Another worker took the delivery over: do not send.
        """
        index = claim.next_index
        if index is None:
            raise ValueError("no activity is pending")
        moment = now or _now()
        lease_until = claim.lease_until
        if (
            claim.in_flight == index
            and lease_until is not None
            and lease_until - moment > timedelta(seconds=claim.lease_seconds / 2)
            and all(name in claim.document for name in facts or {})
        ):
            return index
        await self._update(
            claim,
            lambda document: begun(document, facts=facts, **self._times(claim, moment)),
        )
        return index

    async def record_sent(
        self,
        claim: Claim,
        index: int,
        activity_id: str,
        *,
        now: datetime | None = None,
        advance: bool = True,
    ) -> Receipt:
        """Record that activity ``index`` was sent and got ``activity_id``.

        With ``advance`` the next pending activity is put in flight in the same write; pass
        ``False`` when it will not be sent right away. After the last activity the delivery is
        final (``Delivered``, or ``Unconfirmed`` if any activity is ``Unknown``).

        Raises:
            ValueError: ``index`` is not the activity in flight.
            LeaseLostError: Another worker took the delivery over. The activity id was
                recorded all the same; send nothing more.
        """
        try:
            await self._update(
                claim,
                lambda document: recorded(
                    document,
                    index,
                    ActivityState.SENT,
                    activity_id=activity_id,
                    error=None,
                    advance=advance,
                    **self._times(claim, now),
                ),
            )
        except LeaseLostError:
            await self._record_fact(claim, index, activity_id, now or _now())
            raise
        return claim.receipt

    async def record_unknown(
        self,
        claim: Claim,
        index: int,
        error: DeliveryError,
        *,
        now: datetime | None = None,
        advance: bool = True,
    ) -> Receipt:
        """Record that activity ``index`` had an ambiguous outcome: it is never resent.

        For a timeout or a 5xx answer after the request may have reached the Connector.

        Raises:
            ValueError: ``index`` is not the activity in flight.
            LeaseLostError: Another worker took the delivery over; send nothing more.
        """
        await self._update(
            claim,
            lambda document: recorded(
                document,
                index,
                ActivityState.UNKNOWN,
                activity_id=None,
                error=error,
                advance=advance,
                **self._times(claim, now),
            ),
        )
        return claim.receipt

    async def record_retry(
        self,
        claim: Claim,
        error: DeliveryError,
        retry_at: datetime,
        *,
        now: datetime | None = None,
        possible_duplicate: int | None = None,
        deferred: bool = False,
    ) -> Receipt:
        """Release the delivery after a transient failure, to be claimed again at ``retry_at``.

        For a failure that certainly did not deliver the in-flight activity (429, 503, a
        refused connection), or, at least once, an ambiguous one: ``possible_duplicate`` then
        names the activity, marked so in the same write. It stays pending and is sent by the
        next claim. ``deferred``: the bot's rate governor held the send back, so this claim
        does not count as an attempt (same write).

        Raises:
            LeaseLostError: Another worker took the delivery over.
        """
        moment = now or _now()
        await self._update(
            claim,
            lambda document: retrying(
                document,
                error,
                retry_at,
                moment,
                possible_duplicate=possible_duplicate,
                deferred=deferred,
            ),
        )
        return claim.receipt

    async def complete(self, claim: Claim, *, now: datetime | None = None) -> Receipt:
        """Make the delivery final once every activity is sent or unknown.

        No write when the last ``record_sent`` already did it.

        Raises:
            ValueError: An activity is still pending.
            LeaseLostError: Another worker took the delivery over.
        """
        if DeliveryStatus(claim.document["status"]).final:
            return claim.receipt
        moment = now or _now()
        await self._update(claim, lambda document: completed(document, moment))
        return claim.receipt

    async def fail(
        self,
        claim: Claim,
        error: DeliveryError,
        status: DeliveryStatus = DeliveryStatus.FAILED,
        *,
        now: datetime | None = None,
    ) -> Receipt:
        """Make the delivery final as ``Failed``, ``Expired`` or ``Refused``.

        Activities still pending are never sent (the in-flight one, if any, must not have been
        sent: record an ambiguous outcome with :meth:`record_unknown` first).

        Raises:
            ValueError: ``status`` is not a failure status.
            LeaseLostError: Another worker took the delivery over.
        """
        moment = now or _now()
        await self._update(claim, lambda document: failed(document, error, status, moment))
        return claim.receipt

    async def record_invalid(
        self,
        delivery_id: str,
        activity_count: int,
        payload_hash: str,
        error: DeliveryError,
        *,
        now: datetime,
    ) -> None:
        """Give the valid id of a message that can never be sent a ``Failed`` receipt.

        Only a receipt this creates is failed: an id already used by a real delivery has other
        activities (``IdempotencyConflictError``) or a different payload hash, and is left
        alone; one this call finds claimable is handed back untouched, claimable at once.

        Args:
            delivery_id: The message's id.
            activity_count: How many activities the message seemed to carry.
            payload_hash: The hash of the message's bytes, marked as an invalid message's.
            error: Why the message is invalid.
            now: The current time.
        """
        try:
            claimed = await self.claim(
                delivery_id, activity_count, now=now, payload_hash=payload_hash
            )
        except IdempotencyConflictError:
            return
        if not isinstance(claimed, Claim):
            return
        if claimed.attempt == 1:
            await self.fail(claimed, error, DeliveryStatus.FAILED)
        else:
            # A delivery that was not ours: hand it back untouched, claimable at once.
            await self.record_retry(claimed, error, now)

    async def get_receipt(self, delivery_id: str) -> Receipt | None:
        """The receipt of a delivery, or ``None`` when the id is unknown (or expired).

        Raises:
            ValueError: The id is not a valid idempotency id.
        """
        validate_delivery_id(delivery_id)
        document_id = delivery_document_id(delivery_id)
        document = await self._read(self._container(), document_id)
        return Receipt.from_document(document) if document is not None else None

    async def record_version(self, delivery_id: str, entry: Mapping[str, Any]) -> Receipt | None:
        """Append an edit or recall to a delivery's versions (:mod:`bot.delivery.versions`).

        Idempotent by the entry's ``operationId``; independent of any lease (the delivery is
        final when it is edited).

        Returns:
            The receipt after the write, or ``None`` when the delivery is unknown (expired).

        Raises:
            LedgerConflictError: Writers kept conflicting for ``max_attempts`` rounds.
        """
        container = self._container()
        document_id = delivery_document_id(delivery_id)
        for _ in range(self._max_attempts):
            document = await self._read(container, document_id)
            if document is None:
                return None
            body = versioned(document, entry)
            if body is None:
                return Receipt.from_document(document)
            written = await self._replace(container, body, document["_etag"])
            if written is not None:
                return Receipt.from_document(written)
        raise LedgerConflictError(f"version gave up after {self._max_attempts} conflicts")

    def _times(self, claim: Claim, now: datetime | None) -> dict[str, Any]:
        return {"lease_seconds": claim.lease_seconds, "now": now or _now()}

    async def _update(
        self, claim: Claim, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        """Apply ``change`` to the claim's document under its etag, while the lease is ours."""
        container = self._container()
        document = claim.document
        for _ in range(self._max_attempts):
            if document.get("leaseToken") != claim.lease_token:
                raise LeaseLostError("another worker holds the delivery now")
            written = await self._replace(container, change(document), document["_etag"])
            if written is not None:
                claim.document = written
                return
            fresh = await self._read(container, document["id"])
            if fresh is None:
                raise LeaseLostError("the delivery's ledger document is gone")
            document = claim.document = fresh
        raise LedgerConflictError(f"update gave up after {self._max_attempts} conflicts")

    async def _record_fact(self, claim: Claim, index: int, activity_id: str, now: datetime) -> None:
        """Record a sent activity into a document another worker now holds."""
        container = self._container()
        for _ in range(self._max_attempts):
            document = await self._read(container, claim.document["id"])
            if document is None:
                return
            body = merged_fact(document, index, ActivityState.SENT, activity_id, now)
            if body is None:
                claim.document = document
                return
            written = await self._replace(container, body, document["_etag"])
            if written is not None:
                claim.document = written
                return

    async def _read(self, container: ContainerProxy, document_id: str) -> dict[str, Any] | None:
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        try:
            return dict(await container.read_item(document_id, partition_key=document_id))
        except CosmosResourceNotFoundError:
            return None

    async def _replace(
        self, container: ContainerProxy, body: dict[str, Any], etag: str
    ) -> dict[str, Any] | None:
        """Replace under ``etag``; ``None`` when someone else changed (or deleted) it first."""
        from azure.core import MatchConditions
        from azure.cosmos.exceptions import (
            CosmosAccessConditionFailedError,
            CosmosResourceNotFoundError,
        )

        try:
            return dict(
                await container.replace_item(
                    body["id"], body, etag=etag, match_condition=MatchConditions.IfNotModified
                )
            )
        except (CosmosAccessConditionFailedError, CosmosResourceNotFoundError):
            return None


def _now() -> datetime:
    return datetime.now(UTC)


def _deliveries_container() -> ContainerProxy:
    return named_container(DELIVERIES.name)
