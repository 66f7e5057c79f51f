"""Bot state in memory: the :class:`~bot.state.storage.StateStorage` of unit tests."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.state.errors import StateConflictError
from bot.state.records import StoredState
from bot.state.scopes import StateScope


@dataclass
class MemoryDocument:
    """A stored scope document, as the memory storage keeps it."""

    scope: StateScope
    values: dict[str, Any]
    etag: str
    updated_at: datetime
    ttl_seconds: int | None


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class MemoryStateStorage:
    """Keeps scope documents in a dict, with the etag rules of Cosmos DB.

    Values are deep-copied in and out, so a caller that keeps mutating what it wrote or read
    cannot change what is stored, as with a real database. TTLs are kept, not enforced.

    Attributes:
        documents: The stored documents by id.
        reads: How many reads were made.
        writes: How many writes were made (conflicting ones included).
        clock: The time stamped on writes.
    """

    documents: dict[str, MemoryDocument] = field(default_factory=dict)
    reads: int = 0
    writes: int = 0
    clock: Callable[[], datetime] = _utc_now
    _versions: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    async def read(self, document_id: str) -> StoredState | None:
        """The stored document, or ``None``."""
        self.reads += 1
        document = self.documents.get(document_id)
        if document is None:
            return None
        return StoredState(copy.deepcopy(document.values), document.etag, document.updated_at)

    async def write(
        self,
        document_id: str,
        values: Mapping[str, Any],
        *,
        scope: StateScope,
        etag: str | None,
        ttl_seconds: int | None = None,
    ) -> StoredState:
        """Create or replace under the etag rules; see :class:`StateStorage`."""
        self.writes += 1
        existing = self.documents.get(document_id)
        current = existing.etag if existing is not None else None
        if current != etag:
            raise StateConflictError(scope, document_id)
        document = MemoryDocument(
            scope=scope,
            values=copy.deepcopy(dict(values)),
            etag=f'"{next(self._versions)}"',
            updated_at=self.clock(),
            ttl_seconds=ttl_seconds,
        )
        self.documents[document_id] = document
        return StoredState(copy.deepcopy(document.values), document.etag, document.updated_at)
