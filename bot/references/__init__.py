"""Conversation references: captured on every inbound turn, read to message a conversation later.

:class:`ReferenceStore` keeps them in Cosmos DB; ``bot.references.capture.ReferenceCapture`` is
the middleware that captures them on every turn (and retires them on uninstall). It is not
imported here, so code that only reads references does not load the turn pipeline.
"""

from bot.references.records import (
    AmbiguousReferenceError,
    CaptureOutcome,
    InactiveReason,
    ReferenceConflictError,
    ReferenceKey,
    ReferencePage,
    StoredReference,
)
from bot.references.store import ReferenceStore, StoreStats

__all__ = [
    "AmbiguousReferenceError",
    "CaptureOutcome",
    "InactiveReason",
    "ReferenceConflictError",
    "ReferenceKey",
    "ReferencePage",
    "ReferenceStore",
    "StoreStats",
    "StoredReference",
]
