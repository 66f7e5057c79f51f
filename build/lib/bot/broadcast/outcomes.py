"""Recording a broadcast recipient's outcome when the queue sender finishes its delivery.

The proactive queue sender calls :func:`record_outcome` after every delivery; only a final
outcome of a broadcast recipient (its id is ``bc:{operationId}:{token}``) is recorded, as a
document of the operation (:meth:`OperationStore.record_outcome`). Recording is idempotent,
and a repeated delivery (the queue gave the message again after the function died between its
send and this record) records the same outcome again: every finished recipient is counted
exactly once.

A failure to record propagates: the host then retries the queue message, the delivery answers
"already done", and the outcome is recorded then.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.broadcast.ids import parse_delivery_id

if TYPE_CHECKING:
    from bot.broadcast.operations import OperationStore
    from bot.proactive.delivery import DeliveryOutcome


def is_broadcast_delivery(delivery_id: str) -> bool:
    """Whether a delivery id is a broadcast recipient's."""
    return parse_delivery_id(delivery_id) is not None


async def record_outcome(
    delivery_id: str,
    outcome: DeliveryOutcome,
    *,
    store: OperationStore | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> bool:
    """Record a broadcast recipient's final outcome.

    Args:
        delivery_id: The queue message's id.
        outcome: How its delivery ended.
        store: The operation store; the process-wide one when omitted.
        clock: The current time.

    Returns:
        Whether an outcome was recorded (a final outcome of a broadcast recipient).

    Raises:
        azure.core.exceptions.AzureError: The outcome could not be stored.
    """
    parsed = parse_delivery_id(delivery_id)
    if parsed is None or not outcome.outcome.final:
        return False
    from bot.broadcast.operations import operation_store

    operation_id, token = parsed
    code = outcome.error.code if outcome.error is not None else None
    await (store or operation_store.get()).record_outcome(
        operation_id, token, outcome.outcome.value, code, now=clock()
    )
    return True
