"""Editing or recalling a broadcast after it was sent: one edit per recipient, fanned out.

``PATCH /api/broadcasts/{operationId}`` (new activities, as many as the broadcast sent) and
``DELETE`` (recall) add an edit to the operation document::

    "edits": [{"number": 1, "operation": "delete", "activities": null, "key": null,
               "total": 200, "createdAt": "...",
               "fanOut": {"nextPage": 1, "queuedPage": 1, "cursor": null, "enqueued": 200,
                          "completed": true}}]

and its pages are fanned out like the broadcast's own (:mod:`bot.broadcast.fanout`): the page
message ``{"version": 1, "operationId": "...", "edit": 1, "page": 0}`` on the fan-out queue puts,
for each recipient whose message was delivered (its outcome document, read in id order), one
proactive queue message ``{"id": "be:{operationId}:1:{token}", "operation": "delete",
"deliveryId": "bc:{operationId}:{token}"}`` (:mod:`bot.proactive.edits`), then advances the
edit's cursor under the operation's ``_etag`` and queues the next page. So each recipient's
message is edited once (the ledger keeps each operation id once), through the proactive
queue, at the rate governor's pace (an update or delete counts like a send), and each
recipient's outcome is recorded (``e<number>:<token>``) for the progress.

Only a broadcast that is no longer sending may be edited (409 otherwise: cancel it first);
recipients it never reached are not edited.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.broadcast.ids import delivery_id, edit_delivery_id
from bot.broadcast.store import OperationStore
from bot.storage.timestamps import to_timestamp

if TYPE_CHECKING:
    from azure.storage.queue.aio import QueueClient

logger = logging.getLogger(__name__)

MAX_ROUNDS = 8
PAGE_SIZE = 250
ENQUEUE_CONCURRENCY = 16


class BroadcastBusyError(Exception):
    """The broadcast is still sending: edit or recall it once it is done (or cancelled)."""


class EditCountError(ValueError):
    """An update gives a different number of activities than the broadcast sent."""


def edit_page_message(operation_id: str, number: int, page: int) -> str:
    """The fan-out queue message of an edit's page."""
    return json.dumps(
        {"version": 1, "operationId": operation_id, "edit": number, "page": page},
        separators=(",", ":"),
    )


def edit_message(operation_id: str, edit: Mapping[str, Any], token: str) -> str:
    """One recipient's proactive queue message of an edit (docs/queue-message.md)."""
    message: dict[str, Any] = {
        "version": 1,
        "id": edit_delivery_id(operation_id, int(edit["number"]), token),
        "operation": edit["operation"],
        "deliveryId": delivery_id(operation_id, token),
    }
    if edit.get("activities") is not None:
        message["activities"] = edit["activities"]
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def new_edit(
    operation: Mapping[str, Any],
    kind: str,
    activities: Sequence[Mapping[str, Any]] | None,
    key: str | None,
    total: int,
    now: datetime,
) -> dict[str, Any]:
    """The next edit of an operation (not yet stored)."""
    return {
        "number": len(operation.get("edits") or ()) + 1,
        "operation": kind,
        "activities": list(activities) if activities is not None else None,
        "key": key,
        "total": total,
        "createdAt": to_timestamp(now),
        "fanOut": new_fan_out(),
    }


def new_fan_out() -> dict[str, Any]:
    """The fan-out state of a broadcast, or of one of its edits, before its first page."""
    return {
        "nextPage": 0,
        "queuedPage": -1,
        "cursor": None,
        "enqueued": 0,
        "completed": False,
        "completedAt": None,
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EditFanOut:
    """Adds edits to broadcasts and fans their pages out.

    Args:
        operations: The operation store.
        proactive_queue: Returns the proactive queue.
        fanout_queue: Returns the fan-out queue.
        page_size: Recipients per page.
        clock: The current time.
    """

    def __init__(
        self,
        *,
        operations: OperationStore,
        proactive_queue: Callable[[], QueueClient],
        fanout_queue: Callable[[], QueueClient],
        page_size: int = PAGE_SIZE,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._operations = operations
        self._proactive_queue = proactive_queue
        self._fanout_queue = fanout_queue
        self._page_size = page_size
        self._clock = clock

    async def add(
        self,
        operation_id: str,
        kind: str,
        activities: Sequence[Mapping[str, Any]] | None,
        key: str | None,
        *,
        sending: bool,
        delivered: int,
    ) -> dict[str, Any] | None:
        """Add an edit (or find the one with ``key``) and queue its first page.

        Args:
            operation_id: The broadcast.
            kind: ``update`` or ``delete``.
            activities: The replacements of an update.
            key: The edit's idempotency key.
            sending: The broadcast is still sending (refused).
            delivered: Recipients whose message was delivered (the edit's total).

        Returns:
            The edit; ``None`` when there is no such operation.

        Raises:
            BroadcastBusyError: The broadcast is still sending.
            EditCountError: An update's activities do not match the broadcast's.
        """
        for _ in range(MAX_ROUNDS):
            operation = await self._operations.get(operation_id)
            if operation is None:
                return None
            edits = list(operation.get("edits") or ())
            if key is not None:
                for edit in edits:
                    if edit.get("key") == key:
                        return await self._resume(operation, edit)
            if sending:
                raise BroadcastBusyError(
                    "the broadcast is still sending; cancel it or wait until it completes"
                )
            if activities is not None and len(activities) != len(operation["activities"]):
                raise EditCountError(
                    f"the broadcast sent {len(operation['activities'])} activities; an update "
                    "gives exactly as many"
                )
            edit = new_edit(operation, kind, activities, key, delivered, self._clock())
            written = await self._operations.replace({**operation, "edits": [*edits, edit]})
            if written is not None:
                return await self._resume(written, edit)
        raise RuntimeError(f"broadcast {operation_id}: adding an edit kept conflicting")

    async def process(self, operation_id: str, number: int, page: int) -> int:
        """Fan out page ``page`` of edit ``number``; the recipients queued (0 when not due)."""
        for _ in range(MAX_ROUNDS):
            operation = await self._operations.get(operation_id)
            edits = list((operation or {}).get("edits") or ())
            if operation is None or not 1 <= number <= len(edits):
                logger.warning("broadcast %s: no edit %d; page dropped", operation_id, number)
                return 0
            edit = edits[number - 1]
            fan_out = edit["fanOut"]
            if fan_out["completed"] or int(fan_out["nextPage"]) != page:
                if (
                    not fan_out["completed"]
                    and int(fan_out["nextPage"]) == page + 1
                    and int(fan_out["queuedPage"]) < page + 1
                ):
                    await self._queue_page(operation, edit, page + 1)
                return 0
            tokens, cursor = await self._operations.delivered_page(
                operation_id, fan_out["cursor"], self._page_size
            )
            await self._enqueue(operation_id, edit, tokens)
            now = to_timestamp(self._clock())
            advanced = {
                **edit,
                "fanOut": {
                    **fan_out,
                    "nextPage": page + 1,
                    "cursor": cursor,
                    "enqueued": int(fan_out["enqueued"]) + len(tokens),
                    "completed": cursor is None,
                    "completedAt": now if cursor is None else None,
                },
            }
            edits[number - 1] = advanced
            written = await self._operations.replace(
                {**operation, "edits": edits, "updatedAt": now}
            )
            if written is None:
                continue
            if cursor is not None:
                await self._queue_page(written, advanced, page + 1)
            logger.info(
                "broadcast %s: edit %d page %d fanned out (%d recipients)",
                operation_id,
                number,
                page,
                len(tokens),
            )
            return len(tokens)
        raise RuntimeError(f"broadcast {operation_id}: edit {number} page {page} kept conflicting")

    async def _resume(self, operation: dict[str, Any], edit: Mapping[str, Any]) -> dict[str, Any]:
        fan_out = edit["fanOut"]
        if not fan_out["completed"] and int(fan_out["queuedPage"]) < int(fan_out["nextPage"]):
            await self._queue_page(operation, edit, int(fan_out["nextPage"]))
        return dict(edit)

    async def _queue_page(
        self, operation: dict[str, Any], edit: Mapping[str, Any], page: int
    ) -> None:
        from bot.storage.queues import send_creating_queue

        operation_id = str(operation["operationId"])
        number = int(edit["number"])
        await send_creating_queue(
            self._fanout_queue(), edit_page_message(operation_id, number, page)
        )
        # Note the page as queued (an optimisation: a duplicate page message is dropped).
        edits = list(operation.get("edits") or ())
        if 1 <= number <= len(edits) and int(edits[number - 1]["fanOut"]["queuedPage"]) < page:
            edits[number - 1] = {
                **edits[number - 1],
                "fanOut": {**edits[number - 1]["fanOut"], "queuedPage": page},
            }
            await self._operations.replace({**operation, "edits": edits})

    async def _enqueue(
        self, operation_id: str, edit: Mapping[str, Any], tokens: Sequence[str]
    ) -> None:
        from bot.proactive.enqueue import MessageTooLargeError, send_text

        queue = self._proactive_queue()
        gate = asyncio.Semaphore(ENQUEUE_CONCURRENCY)

        async def put(token: str) -> None:
            async with gate:
                try:
                    await send_text(
                        edit_message(operation_id, edit, token), queue=queue, now=self._clock()
                    )
                except MessageTooLargeError:
                    await self._operations.record_edit_outcome(
                        operation_id,
                        int(edit["number"]),
                        token,
                        "Failed",
                        "MessageTooLarge",
                        now=self._clock(),
                    )

        await asyncio.gather(*(put(token) for token in tokens))


def edit_progress(
    edit: Mapping[str, Any], done: int, failed: int, failures: dict[str, int]
) -> dict[str, Any]:
    """An edit's progress as ``GET /api/broadcasts/{operationId}`` lists it."""
    fan_out = edit["fanOut"]
    total = int(fan_out["enqueued"]) if fan_out["completed"] else int(edit.get("total") or 0)
    total = max(total, done + failed)
    pending = total - done - failed
    return {
        "number": edit["number"],
        "operation": edit["operation"],
        "status": "Completed" if fan_out["completed"] and pending == 0 else "Running",
        "total": total,
        "done": done,
        "failed": failed,
        "pending": pending,
        "failures": failures,
        "createdAt": edit.get("createdAt"),
    }
