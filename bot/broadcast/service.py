"""Broadcasts: one message to an audience, fanned out per recipient, with progress.

    service = broadcast_service.get()                    # built by bot.app
    total = await service.count(request)                 # a dry run: nobody is sent anything
    started = await service.start(request)               # -> operationId, total
    progress = await service.progress(started.operation_id)
    progress.sent, progress.failed, progress.pending

:meth:`BroadcastService.start` checks the message, counts the audience, stores the operation
and queues its first fan-out page (:mod:`bot.broadcast.fanout`); the recipients' messages are
then sent by the proactive queue sender, under the rate governor (:mod:`bot.throttling`), at
the channel's ceiling. Starting again with the same operation id sends nothing twice: it
answers the same operation (and resumes its fan-out if that stalled); with a different
message or audience it is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.broadcast.audience import AudienceReader
from bot.broadcast.edits import edit_progress, new_fan_out
from bot.broadcast.fanout import MAX_ROUNDS, FanOut, recipient_message
from bot.broadcast.ids import Recipient, new_operation_id
from bot.broadcast.outcomes import CANCELLED
from bot.broadcast.records import OperationConflictError
from bot.broadcast.request import BroadcastRequest
from bot.broadcast.store import OPERATION_KIND, OperationStore
from bot.proactive.enqueue import MAX_ENCODED_BYTES, encoded_size
from bot.proactive.message import FieldError, InvalidMessageError, parse_message
from bot.storage.timestamps import to_timestamp

ID_HEADROOM_BYTES = 8 * 1024
"""Room left in a queue message for the recipient's ids (real ones take a few hundred bytes;
the sample a message is checked with has short ones)."""


@dataclass(frozen=True)
class StartedBroadcast:
    """A broadcast that is under way.

    Attributes:
        operation_id: Its id (``GET /api/broadcasts/{operationId}``).
        total: How many recipients its audience has.
        created: ``False`` when an earlier call with the same id started it.
    """

    operation_id: str
    total: int
    created: bool = True


@dataclass(frozen=True)
class BroadcastProgress:
    """How far a broadcast got.

    Attributes:
        operation_id: Its id.
        status: ``FanningOut`` (recipients are still being queued), ``Sending`` (all queued,
            some not yet finished), ``Completed``; after a cancel ``Cancelling`` (queued
            messages are being dropped) then ``Cancelled``.
        total: Recipients in all (the audience count until the fan-out is complete, then
            exactly the recipients queued).
        sent: Recipients whose message was delivered.
        failed: Recipients whose message was not (certainly) delivered: refused (unknown or
            inactive conversation), failed, expired, or unconfirmed.
        pending: Recipients not finished yet.
        enqueued: Recipients queued so far.
        failures: ``failed`` by error code.
        created_at: When the broadcast was started.
        fanned_out_at: When the last page was queued.
    """

    operation_id: str
    status: str
    total: int
    sent: int
    failed: int
    pending: int
    enqueued: int
    failures: dict[str, int] = field(default_factory=dict)
    created_at: str | None = None
    fanned_out_at: str | None = None
    cancelled: int = 0
    """Recipients not sent because the broadcast was cancelled (part of ``failed``)."""
    cancelled_at: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    """Each edit or recall of the broadcast and its progress."""

    def to_json(self) -> dict[str, Any]:
        """The progress as ``GET /api/broadcasts/{operationId}`` answers it."""
        return {
            "operationId": self.operation_id,
            "status": self.status,
            "total": self.total,
            "sent": self.sent,
            "failed": self.failed,
            "pending": self.pending,
            "enqueued": self.enqueued,
            "failures": self.failures,
            "createdAt": self.created_at,
            "fannedOutAt": self.fanned_out_at,
            "cancelled": self.cancelled,
            "cancelledAt": self.cancelled_at,
            "edits": self.edits,
        }


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BroadcastService:
    """Starts broadcasts and reports their progress.

    Args:
        operations: The operation store.
        audience: Counts audiences.
        fan_out: Returns the fan-out.
        clock: The current time.
    """

    def __init__(
        self,
        *,
        operations: OperationStore,
        audience: AudienceReader,
        fan_out: Callable[[], FanOut],
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._operations = operations
        self._audience = audience
        self._fan_out = fan_out
        self._clock = clock

    async def count(self, request: BroadcastRequest) -> int:
        """How many recipients the audience has (a dry run)."""
        check_message(request)
        return await self._audience.count(request.audience)

    async def start(self, request: BroadcastRequest) -> StartedBroadcast:
        """Start a broadcast (or answer the one already started with its operation id).

        Raises:
            InvalidMessageError: The activities would not fit a queue message.
            OperationConflictError: The operation id is taken by another broadcast.
        """
        check_message(request)
        payload_hash = request.payload_hash()
        if request.operation_id is not None:
            existing = await self._operations.get(request.operation_id)
            if existing is not None:
                return await self._repeat(existing, payload_hash)
        total = await self._audience.count(request.audience)
        operation_id = request.operation_id or new_operation_id()
        now = to_timestamp(self._clock())
        document: dict[str, Any] = {
            "id": operation_id,
            "operationId": operation_id,
            "kind": OPERATION_KIND,
            "version": 1,
            "audience": request.audience.to_wire(),
            "activities": [activity.to_wire() for activity in request.activity_list()],
            "notBefore": _optional_timestamp(request.not_before),
            "expiresAt": _optional_timestamp(request.expires_at),
            "delivery": request.delivery,
            "payloadHash": payload_hash,
            "audienceCount": total,
            "fanOut": new_fan_out(),
            "createdAt": now,
            "updatedAt": now,
        }
        stored, created = await self._operations.create(document)
        if not created:
            return await self._repeat(stored, payload_hash)
        await self._fan_out().resume(stored)
        return StartedBroadcast(operation_id, total)

    async def progress(self, operation_id: str) -> BroadcastProgress | None:
        """The progress of a broadcast; ``None`` when there is no such operation."""
        operation = await self._operations.get(operation_id)
        if operation is None:
            return None
        counts = await self._operations.count_outcomes(operation_id)
        fan_out = operation["fanOut"]
        enqueued = int(fan_out["enqueued"])
        completed = bool(fan_out["completed"])
        total = enqueued if completed else max(int(operation["audienceCount"]), enqueued)
        # An outcome recorded for a recipient queued by a page whose commit is being retried
        # can come before the count: never report a negative pending.
        total = max(total, counts.finished)
        pending = total - counts.finished
        cancelled_at = operation.get("cancelledAt")
        if cancelled_at:
            status = "Cancelling" if pending > 0 else "Cancelled"
        elif not completed:
            status = "FanningOut"
        elif pending > 0:
            status = "Sending"
        else:
            status = "Completed"
        return BroadcastProgress(
            operation_id=operation_id,
            status=status,
            total=total,
            sent=counts.delivered,
            failed=counts.failed,
            pending=pending,
            enqueued=enqueued,
            failures=counts.failures,
            created_at=operation.get("createdAt"),
            fanned_out_at=fan_out.get("completedAt"),
            cancelled=counts.failures.get(CANCELLED, 0),
            cancelled_at=cancelled_at,
            edits=await self._edits_progress(operation),
        )

    async def edit(
        self,
        operation_id: str,
        kind: str,
        activities: list[dict[str, Any]] | None = None,
        key: str | None = None,
    ) -> dict[str, Any] | None:
        """Edit (``update``) or recall (``delete``) every recipient's message of a broadcast
        that is no longer sending (:mod:`bot.broadcast.edits`).

        Returns:
            The edit's progress; ``None`` when there is no such operation.

        Raises:
            BroadcastBusyError: The broadcast is still sending.
            EditCountError: An update gives another number of activities than were sent.
        """
        progress = await self.progress(operation_id)
        if progress is None:
            return None
        sending = progress.status in ("FanningOut", "Sending", "Cancelling")
        edit = await self._fan_out().edits.add(
            operation_id, kind, activities, key, sending=sending, delivered=progress.sent
        )
        if edit is None:
            return None
        counts = await self._operations.count_edit_outcomes(operation_id, int(edit["number"]))
        return edit_progress(edit, counts.delivered, counts.failed, counts.failures)

    async def _edits_progress(self, operation: dict[str, Any]) -> list[dict[str, Any]]:
        progress: list[dict[str, Any]] = []
        for edit in operation.get("edits") or ():
            counts = await self._operations.count_edit_outcomes(
                str(operation["operationId"]), int(edit["number"])
            )
            progress.append(edit_progress(edit, counts.delivered, counts.failed, counts.failures))
        return progress

    async def cancel(self, operation_id: str) -> BroadcastProgress | None:
        """Cancel a broadcast: no more pages are fanned out, and recipients' messages still in
        the queue are dropped (recorded ``Cancelled``) instead of sent. Those already sent
        stay sent (recall them with :meth:`edit`). Idempotent.

        Returns:
            The progress after the cancel; ``None`` when there is no such operation.
        """
        for _ in range(MAX_ROUNDS):
            operation = await self._operations.get(operation_id)
            if operation is None:
                return None
            if operation.get("cancelledAt"):
                break
            now = to_timestamp(self._clock())
            fan_out = operation["fanOut"]
            changed = {
                **operation,
                "cancelledAt": now,
                # Stop the fan-out where it is: the total becomes what was queued.
                "fanOut": {
                    **fan_out,
                    "completed": True,
                    "completedAt": fan_out.get("completedAt") or now,
                },
                "updatedAt": now,
            }
            if await self._operations.replace(changed) is not None:
                break
        return await self.progress(operation_id)

    async def _repeat(self, existing: dict[str, Any], payload_hash: str) -> StartedBroadcast:
        if existing.get("payloadHash") != payload_hash:
            raise OperationConflictError(
                "the operationId is already used for a broadcast with another audience or "
                "other activities; use a new operationId"
            )
        resumed = await self._fan_out().resume(existing)
        fan_out = resumed["fanOut"]
        total = (
            int(fan_out["enqueued"])
            if fan_out["completed"]
            else max(int(resumed["audienceCount"]), int(fan_out["enqueued"]))
        )
        return StartedBroadcast(str(existing["operationId"]), total, created=False)


def check_message(request: BroadcastRequest) -> None:
    """Check that a recipient's queue message would be valid and fit the queue.

    Raises:
        InvalidMessageError: It would not.
    """
    operation = {
        "operationId": request.operation_id or "0" * 32,
        "activities": [activity.to_wire() for activity in request.activity_list()],
        "notBefore": _optional_timestamp(request.not_before),
        "expiresAt": _optional_timestamp(request.expires_at),
        "delivery": request.delivery,
    }
    channel_id = request.audience.channel_id or "msteams"
    sample = recipient_message(
        operation, Recipient(channel_id, "a:" + "0" * 64, tenant_id=request.audience.tenant_id)
    )
    parse_message(sample)
    limit = MAX_ENCODED_BYTES - ID_HEADROOM_BYTES
    if encoded_size(sample) > limit:
        raise InvalidMessageError(
            [
                FieldError(
                    field="activities",
                    message=f"too large: a recipient's queue message must stay under {limit} "
                    "bytes once base64-encoded",
                )
            ]
        )


def _optional_timestamp(moment: datetime | None) -> str | None:
    return to_timestamp(moment) if moment is not None else None
