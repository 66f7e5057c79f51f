"""Proactive delivery bookkeeping: the idempotency ledger that is also the receipt of a send.

See :mod:`bot.delivery.store` for how a worker uses it and :mod:`bot.delivery.documents`
for why it sends each activity at most once; :mod:`bot.delivery.records` holds the receipt
and the other values. Beside the ledger, in the same container: which delivery sent a card
(:mod:`bot.delivery.sent_cards`) and what an event turn computed
(:mod:`bot.delivery.computed_sends`).
"""

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
from bot.delivery.store import ClaimResult, DeliveryLedger, delivery_document_id

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
