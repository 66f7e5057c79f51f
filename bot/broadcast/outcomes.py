"""Recording a broadcast recipient's outcome when the queue sender finishes its delivery.

The proactive queue sender calls :func:`record_outcome` after every delivery; only a final
outcome of a broadcast recipient (its id is ``bc:{operationId}:{token}``) is recorded, as a
document of the operation (:meth:`OperationStore.record_outcome`). Recording is idempotent,
and a repeated delivery (the queue gave the message again after the function died between its
send and this record) records the same outcome again: every finished recipient is counted
exactly once. An edit or recall of a broadcast (``be:{operationId}:{n}:{token}``) is recorded
the same way, as the recipient's outcome of that edit.

A failure to record propagates: the host then retries the queue message, the delivery answers
"already done", and the outcome is recorded then.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.broadcast.ids import parse_delivery_id, parse_edit_delivery_id

if TYPE_CHECKING:
    from bot.broadcast.store import OperationStore
    from bot.proactive.delivery import DeliveryOutcome


def is_broadcast_delivery(delivery_id: str) -> bool:
    """Whether a delivery id is a broadcast recipient's."""
    return parse_delivery_id(delivery_id) is not None


async def record_outcome(
    delivery_id: str,
    outcome: DeliveryOutcome,
    *,
    store: OperationStore,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> bool:
    """Record a broadcast recipient's final outcome.

    Args:
        delivery_id: The queue message's id.
        outcome: How its delivery ended.
        store: The operation store.
        clock: The current time.

    Returns:
        Whether an outcome was recorded (a final outcome of a broadcast recipient).

    Raises:
        azure.core.exceptions.AzureError: The outcome could not be stored.
    """
    if not outcome.outcome.final:
        return False
    edit = parse_edit_delivery_id(delivery_id)
    if edit is not None:
        code = outcome.error.code if outcome.error is not None else None
        await store.record_edit_outcome(
            edit[0], edit[1], edit[2], outcome.outcome.value, code, now=clock()
        )
        return True
    parsed = parse_delivery_id(delivery_id)
    if parsed is None:
        return False
    operation_id, token = parsed
    code = outcome.error.code if outcome.error is not None else None
    await store.record_outcome(operation_id, token, outcome.outcome.value, code, now=clock())
    return True


CANCELLED = "Cancelled"
"""The outcome (and code) of a recipient whose message was dropped by a cancel."""
CANCEL_CHECK_SECONDS = 2.0
"""How long a process trusts what it read of an operation's cancellation: a cancel stops the
sends within about this long, for one point read per operation and process this often."""
_seen: dict[str, tuple[float, bool]] = {}


async def cancelled(
    delivery_id: str,
    *,
    store: OperationStore,
    monotonic: Callable[[], float] = time.monotonic,
) -> bool:
    """Whether ``delivery_id`` is a recipient of a broadcast that was cancelled.

    Raises:
        azure.core.exceptions.AzureError: The operation could not be read.
    """
    parsed = parse_delivery_id(delivery_id)
    if parsed is None:
        return False
    operation_id = parsed[0]
    now = monotonic()
    known = _seen.get(operation_id)
    if known is not None and now - known[0] < CANCEL_CHECK_SECONDS:
        return known[1]
    operation: dict[str, Any] | None = await store.get(operation_id)
    is_cancelled = bool(operation and operation.get("cancelledAt"))
    if len(_seen) > 1000:
        _seen.clear()
    _seen[operation_id] = (now, is_cancelled)
    return is_cancelled


async def record_cancelled(
    delivery_id: str,
    *,
    store: OperationStore,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Record that a cancelled broadcast's recipient was not sent its message."""
    parsed = parse_delivery_id(delivery_id)
    if parsed is None:
        return
    operation_id, token = parsed
    await store.record_outcome(operation_id, token, CANCELLED, CANCELLED, now=clock())


class BroadcastProgress:
    """The queue sender's broadcast listener (a :class:`~bot.proactive.listeners.DeliveryListener`).

    Withholds the messages of a cancelled broadcast and counts each recipient's final outcome
    toward its operation's progress; other deliveries pass through untouched.

    Args:
        operations: The operation store (the process's, from :mod:`bot.app`).
    """

    def __init__(self, operations: OperationStore) -> None:
        self._operations = operations

    async def withheld(self, delivery_id: str) -> bool:
        """Whether ``delivery_id`` is a recipient of a broadcast that was cancelled."""
        return await cancelled(delivery_id, store=self._operations)

    async def record_withheld(self, delivery_id: str) -> None:
        """Record that a cancelled broadcast's recipient was not sent its message."""
        await record_cancelled(delivery_id, store=self._operations)

    async def record_outcome(self, delivery_id: str, outcome: DeliveryOutcome) -> None:
        """Count a recipient's final outcome (or an edit's) toward its operation."""
        await record_outcome(delivery_id, outcome, store=self._operations)
