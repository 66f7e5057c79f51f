"""The broadcast fan-out: one page of the audience per queue message, resumable at any point.

A broadcast's pages are read one after the other, each by one message of the fan-out queue
``<PROACTIVE_QUEUE_NAME>-fanout`` (``{"version": 1, "operationId": "...", "page": 3}``). For
page ``k`` the handler:

1. reads the operation; the page is due only when its ``fanOut.nextPage`` is ``k``;
2. reads ``k``'s recipients from the stored cursor and puts one proactive queue message per
   recipient (docs/queue-message.md, id ``bc:{operationId}:{token}``) on the proactive queue;
3. advances the operation (``nextPage``, ``cursor``, ``enqueued``; ``completed`` after the
   last page) under its ``_etag``;
4. puts page ``k + 1``'s message on the fan-out queue and notes that (``queuedPage``).

Dying anywhere in between loses nothing and duplicates nothing: the host gives page ``k``'s
message back, and the handler redoes what is missing. Step 2 repeated makes the same message
ids, which the delivery ledger sends at most once; step 3 happens once (the etag); step 4 is
skipped when ``queuedPage`` says it is done. A page message that is not due (an old duplicate)
is dropped. ``POST /api/broadcasts`` with the same operation id re-queues the due page, which
resumes a fan-out whose message was lost (moved to the poison queue after repeated storage
failures, for example). A cancel marks the fan-out complete, so no further page is read.

A page message with ``"edit": n`` is a page of the broadcast's edit or recall ``n``
(:mod:`bot.broadcast.edits`), fanned out the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.broadcast.audience import AudienceReader
from bot.broadcast.edits import EditFanOut
from bot.broadcast.ids import Recipient, delivery_id, is_operation_id, recipient_token
from bot.broadcast.store import OperationStore
from bot.proactive.message import FieldError, InvalidMessageError, decode_json
from bot.proactive.poison import POISON_SUFFIX, PoisonReason, poison_text, put_poison
from bot.settings import get_settings
from bot.storage.timestamps import from_timestamp, to_timestamp

if TYPE_CHECKING:
    from azure.storage.queue.aio import QueueClient

logger = logging.getLogger(__name__)

FANOUT_QUEUE_SUFFIX = "-fanout"
"""The fan-out queue is ``<PROACTIVE_QUEUE_NAME>-fanout``."""
PAGE_SIZE = 250
"""Recipients per page (and per fan-out message)."""
ENQUEUE_CONCURRENCY = 16
"""Proactive queue messages put in parallel."""
MAX_ROUNDS = 8
"""Read-decide-write rounds of one page message before it is left to the host to retry."""
MESSAGE_VERSION = 1


class FanOutAction(StrEnum):
    """What a fan-out message did."""

    PAGE = "Page"
    """Its page was fanned out (and the next page queued, if any)."""
    QUEUED_NEXT = "QueuedNext"
    """Its page was already done; the next page's message was missing and is now queued."""
    DROPPED = "Dropped"
    """Not due: a duplicate, a finished fan-out or an unknown operation."""
    POISONED = "Poisoned"
    """Not a fan-out page message: moved to ``<queue>-fanout-poison`` with the reason."""


@dataclass(frozen=True)
class FanOutResult:
    """What :meth:`FanOut.process` did.

    Attributes:
        action: The action.
        recipients: Recipients put on the proactive queue (or settled) by this call.
    """

    action: FanOutAction
    recipients: int = 0


def fanout_queue_name(proactive_queue_name: str | None = None) -> str:
    """The fan-out queue's name for a proactive queue (``PROACTIVE_QUEUE_NAME`` by default)."""
    return (proactive_queue_name or get_settings().proactive_queue_name) + FANOUT_QUEUE_SUFFIX


def page_message(operation_id: str, page: int) -> str:
    """The fan-out queue message of an operation's page."""
    return json.dumps(
        {"version": MESSAGE_VERSION, "operationId": operation_id, "page": page},
        separators=(",", ":"),
    )


def recipient_message(operation: Mapping[str, Any], recipient: Recipient) -> str:
    """The proactive queue message (docs/queue-message.md) of one recipient."""
    operation_id = str(operation["operationId"])
    message: dict[str, Any] = {
        "version": 1,
        "id": delivery_id(operation_id, recipient_token(operation_id, recipient)),
    }
    if recipient.user_id is not None:
        message["user"] = {"channelId": recipient.channel_id, "userId": recipient.user_id}
    elif recipient.aad_object_id is not None:
        message["user"] = {
            "channelId": recipient.channel_id,
            "tenantId": recipient.tenant_id,
            "aadObjectId": recipient.aad_object_id,
        }
    else:
        conversation = {
            "channelId": recipient.channel_id,
            "conversationId": recipient.conversation_id,
        }
        if recipient.tenant_id:
            conversation["tenantId"] = recipient.tenant_id
        message["conversation"] = conversation
    message["activities"] = operation["activities"]
    for name in ("notBefore", "expiresAt", "delivery"):
        if operation.get(name):
            message[name] = operation[name]
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FanOut:
    """Fans broadcasts out, page by page.

    Args:
        operations: The operation store.
        audience: Reads the audience's pages.
        proactive_queue: Returns the proactive queue (base64-encoding).
        fanout_queue: Returns the fan-out queue (base64-encoding).
        poison_queue: Returns the fan-out poison queue (base64-encoding).
        page_size: Recipients per page.
        concurrency: Proactive queue messages put in parallel.
        clock: The current time.
    """

    def __init__(
        self,
        *,
        operations: OperationStore,
        audience: AudienceReader,
        proactive_queue: Callable[[], QueueClient] | None = None,
        fanout_queue: Callable[[], QueueClient] | None = None,
        poison_queue: Callable[[], QueueClient] | None = None,
        page_size: int = PAGE_SIZE,
        concurrency: int = ENQUEUE_CONCURRENCY,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if page_size < 1 or concurrency < 1:
            raise ValueError("page_size and concurrency must be at least 1")
        self._operations = operations
        self._audience = audience
        self._proactive_queue = proactive_queue or _named_queue(None)
        self._fanout_queue = fanout_queue or _named_queue(FANOUT_QUEUE_SUFFIX)
        self._poison_queue = poison_queue or _named_queue(FANOUT_QUEUE_SUFFIX + POISON_SUFFIX)
        self._page_size = page_size
        self._concurrency = concurrency
        self._clock = clock
        self.edits = EditFanOut(
            operations=self._operations,
            proactive_queue=self._proactive_queue,
            fanout_queue=self._fanout_queue,
            page_size=page_size,
            clock=clock,
        )
        """Edits and recalls of broadcasts, fanned out on the same queue."""

    async def resume(self, operation: dict[str, Any]) -> dict[str, Any]:
        """Queue the due page's message of an unfinished fan-out (a duplicate is harmless).

        Returns:
            The operation as stored afterwards.
        """
        fan_out = operation["fanOut"]
        if fan_out["completed"]:
            return operation
        return await self._queue_page(operation, int(fan_out["nextPage"]))

    async def process(self, body: bytes) -> FanOutResult:
        """Handle one fan-out message.

        Raises:
            Exception: When storage fails; the host retries the message.
        """
        try:
            operation_id, page, edit = _parse(body)
        except InvalidMessageError as error:
            # It can never succeed: poison it at once, with the reason, rather than retry it.
            await self._poison(body, error)
            return FanOutResult(FanOutAction.POISONED)
        if edit is not None:
            queued = await self.edits.process(operation_id, edit, page)
            return FanOutResult(FanOutAction.PAGE if queued else FanOutAction.DROPPED, queued)
        for _ in range(MAX_ROUNDS):
            operation = await self._operations.get(operation_id)
            if operation is None:
                logger.warning(
                    "broadcast %s: no such operation; page %d dropped", operation_id, page
                )
                return FanOutResult(FanOutAction.DROPPED)
            fan_out = operation["fanOut"]
            next_page = int(fan_out["nextPage"])
            if next_page == page and not fan_out["completed"]:
                recipients, operation_after = await self._fan_out_page(operation, page)
                if operation_after is None:
                    continue  # another worker advanced it meanwhile: decide again
                await self._queue_next(operation_after)
                return FanOutResult(FanOutAction.PAGE, recipients)
            if (
                next_page == page + 1
                and int(fan_out["queuedPage"]) < next_page
                and not fan_out["completed"]
            ):
                # This page was done but the next one's message never made it (the worker
                # died in between): queue it now.
                await self._queue_page(operation, next_page)
                return FanOutResult(FanOutAction.QUEUED_NEXT)
            return FanOutResult(FanOutAction.DROPPED)
        raise RuntimeError(f"broadcast {operation_id}: page {page} kept conflicting")

    async def _poison(self, body: bytes, error: InvalidMessageError) -> None:
        queue_name = get_settings().proactive_queue_name + FANOUT_QUEUE_SUFFIX
        reason = PoisonReason("InvalidMessage", str(error), errors=error.errors)
        text = poison_text(
            body, reason, queue_name=queue_name, dequeue_count=None, now=self._clock()
        )
        await put_poison(self._poison_queue(), text)
        logger.warning(
            "broadcast fan-out: a message that is not a fan-out page moved to %s%s",
            queue_name,
            POISON_SUFFIX,
        )

    async def _fan_out_page(
        self, operation: dict[str, Any], page: int
    ) -> tuple[int, dict[str, Any] | None]:
        fan_out = operation["fanOut"]
        read = await self._audience.page(operation["audience"], fan_out["cursor"], self._page_size)
        expires_at = operation.get("expiresAt")
        if expires_at and from_timestamp(str(expires_at)) <= self._clock():
            await self._settle_expired(operation, read.recipients)
        else:
            await self._enqueue_recipients(operation, read.recipients)
        now = self._clock()
        changed = {
            **operation,
            "fanOut": {
                **fan_out,
                "nextPage": page + 1,
                "cursor": read.cursor,
                "enqueued": int(fan_out["enqueued"]) + len(read.recipients),
                "completed": read.cursor is None,
                "completedAt": to_timestamp(now) if read.cursor is None else None,
            },
            "updatedAt": to_timestamp(now),
        }
        written = await self._operations.replace(changed)
        if written is not None:
            logger.info(
                "broadcast %s: page %d fanned out (%d recipients)%s",
                operation["operationId"],
                page,
                len(read.recipients),
                "; fan-out complete" if read.cursor is None else "",
            )
        return len(read.recipients), written

    async def _queue_next(self, operation: dict[str, Any]) -> None:
        fan_out = operation["fanOut"]
        if not fan_out["completed"] and int(fan_out["queuedPage"]) < int(fan_out["nextPage"]):
            await self._queue_page(operation, int(fan_out["nextPage"]))

    async def _queue_page(self, operation: dict[str, Any], page: int) -> dict[str, Any]:
        from bot.storage.queues import send_creating_queue

        operation_id = str(operation["operationId"])
        await send_creating_queue(self._fanout_queue(), page_message(operation_id, page))
        for _ in range(MAX_ROUNDS):
            fan_out = operation["fanOut"]
            if int(fan_out["queuedPage"]) >= page:
                return operation
            written = await self._operations.replace(
                {**operation, "fanOut": {**fan_out, "queuedPage": page}}
            )
            if written is not None:
                return written
            # Changed meanwhile (a concurrent duplicate): the mark is only an optimisation,
            # so read again and set it if it is still behind.
            reread = await self._operations.get(operation_id)
            if reread is None:
                return operation
            operation = reread
        return operation

    async def _enqueue_recipients(
        self, operation: Mapping[str, Any], recipients: Sequence[Recipient]
    ) -> None:
        from bot.proactive.enqueue import MessageTooLargeError, send_text

        not_before_text = operation.get("notBefore")
        not_before = from_timestamp(str(not_before_text)) if not_before_text else None
        queue = self._proactive_queue()
        gate = asyncio.Semaphore(self._concurrency)
        too_large: list[Recipient] = []

        async def put(recipient: Recipient) -> None:
            async with gate:
                try:
                    await send_text(
                        recipient_message(operation, recipient),
                        queue=queue,
                        not_before=not_before,
                        now=self._clock(),
                    )
                except MessageTooLargeError:
                    too_large.append(recipient)

        await asyncio.gather(*(put(recipient) for recipient in recipients))
        if too_large:
            await self._settle(operation, too_large, "Failed", "MessageTooLarge")

    async def _settle_expired(
        self, operation: Mapping[str, Any], recipients: Sequence[Recipient]
    ) -> None:
        await self._settle(operation, recipients, "Expired", "Expired")

    async def _settle(
        self,
        operation: Mapping[str, Any],
        recipients: Sequence[Recipient],
        outcome: str,
        code: str,
    ) -> None:
        """Record a final outcome for recipients that are never put on the queue."""
        operation_id = str(operation["operationId"])
        gate = asyncio.Semaphore(self._concurrency)
        now = self._clock()

        async def settle(recipient: Recipient) -> None:
            async with gate:
                await self._operations.record_outcome(
                    operation_id,
                    recipient_token(operation_id, recipient),
                    outcome,
                    code,
                    now=now,
                )

        await asyncio.gather(*(settle(recipient) for recipient in recipients))


def _parse(body: bytes) -> tuple[str, int, int | None]:
    """The operation id, page and edit number (``None``: the broadcast itself) of a fan-out
    message.

    Raises:
        InvalidMessageError: It is not a fan-out page message (each problem named).
    """
    document = decode_json(body)
    if not isinstance(document, dict):
        raise _invalid("", "the message must be an object")
    if document.get("version") != MESSAGE_VERSION:
        raise _invalid("version", f"must be {MESSAGE_VERSION}")
    operation_id = document.get("operationId")
    page = document.get("page")
    if not isinstance(operation_id, str) or not is_operation_id(operation_id):
        raise _invalid("operationId", "must be 1 to 64 of A-Z a-z 0-9 _ -")
    if not isinstance(page, int) or isinstance(page, bool) or page < 0:
        raise _invalid("page", "must be a whole number from 0")
    edit = document.get("edit")
    if edit is not None and (not isinstance(edit, int) or isinstance(edit, bool) or edit < 1):
        raise _invalid("edit", "must be a whole number from 1")
    return operation_id, page, edit


def _invalid(field: str, message: str) -> InvalidMessageError:
    return InvalidMessageError([FieldError(field=field, message=message)])


def _named_queue(suffix: str | None) -> Callable[[], QueueClient]:
    def get() -> QueueClient:
        from bot.storage.queues import queue

        name = get_settings().proactive_queue_name
        return queue(name + suffix if suffix else name)

    return get
