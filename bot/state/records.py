"""The values of bot state as storage reads them, free of I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StoredState:
    """One scope's document as read.

    Attributes:
        values: The scope's properties by name, as JSON values.
        etag: The document's version; a write conditioned on it fails if anyone wrote since.
        updated_at: When it was last written, when the storage knows.
    """

    values: dict[str, Any]
    etag: str
    updated_at: datetime | None = None
