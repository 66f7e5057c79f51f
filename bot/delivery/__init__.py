"""Proactive delivery bookkeeping: the idempotency ledger that is also the receipt of a send.

See :mod:`bot.delivery.ledger` for how a worker uses it and :mod:`bot.delivery.transitions`
for why it sends each activity at most once.
"""

from bot.delivery.ledger import ClaimResult, DeliveryLedger, delivery_document_id
from bot.delivery.records import (
    DEFAULT_DELIVERY_MODE,
    ActivityResult,
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

__all__ = [
    "DEFAULT_DELIVERY_MODE",
    "ActivityResult",
    "ActivityState",
    "AlreadyDone",
    "Claim",
    "ClaimResult",
    "DeliveryError",
    "DeliveryLedger",
    "DeliveryMode",
    "DeliveryStatus",
    "IdempotencyConflictError",
    "InProgress",
    "LeaseLostError",
    "LedgerConflictError",
    "Receipt",
    "delivery_document_id",
    "validate_delivery_id",
]
