"""The seam between bot state and where it is kept.

:class:`~bot.state.store.CosmosStateStorage` keeps it in Cosmos DB (container
``state``); :class:`~bot.state.memory_storage.MemoryStateStorage` keeps it in memory for
tests. Both implement :class:`StateStorage`: one document per scope, written with optimistic
concurrency on an etag.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from bot.state.records import StoredState
from bot.state.scopes import StateScope


class StateStorage(Protocol):
    """Reads and writes scope documents by storage id."""

    async def read(self, document_id: str) -> StoredState | None:
        """The document, or ``None`` when there is none."""
        ...

    async def write(
        self,
        document_id: str,
        values: Mapping[str, Any],
        *,
        scope: StateScope,
        etag: str | None,
        ttl_seconds: int | None = None,
    ) -> StoredState:
        """Create (``etag`` is ``None``) or replace (the document is still at ``etag``).

        Args:
            document_id: The scope's storage id.
            values: The scope's properties, JSON values.
            scope: Which scope the document holds.
            etag: The version that was read; ``None`` when none was stored.
            ttl_seconds: Seconds after this write until the document expires; ``None``
                keeps it until deleted.

        Returns:
            The document as written, with its new etag.

        Raises:
            StateConflictError: Someone wrote (or created, or deleted) the document since
                ``etag`` was read.
        """
        ...
