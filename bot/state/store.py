"""Bot state in Cosmos DB: one document per scope in the ``state`` container.

A document is ``{"id", "scope", "state", "updatedAt", "ttl"?}``: ``id`` is the scope's HMAC
storage id (also the partition key), ``state`` the scope's properties. No raw user or
conversation id is stored. Writes are conditioned on the ``_etag`` that was read (a first
write is ``create_item``), so two turns that both read a scope cannot both write it: the
second gets 412 (or 409) and :class:`~bot.state.errors.StateConflictError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.state.errors import StateConflictError
from bot.state.records import StoredState
from bot.state.scopes import StateScope
from bot.storage.containers import STATE
from bot.storage.cosmos import container as named_container
from bot.storage.timestamps import from_timestamp, to_timestamp

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy


def _state_container() -> ContainerProxy:
    return named_container(STATE.name)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CosmosStateStorage:
    """Scope documents in the ``state`` container.

    Args:
        container: Returns the container client; the process-wide ``state`` container when
            omitted (resolved on first use, so building this costs nothing).
        clock: The time written to ``updatedAt``.
    """

    def __init__(
        self,
        *,
        container: Callable[[], ContainerProxy] | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._container = container or _state_container
        self._clock = clock

    async def read(self, document_id: str) -> StoredState | None:
        """One point read; ``None`` when the scope has no document."""
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        try:
            document = await self._container().read_item(document_id, partition_key=document_id)
        except CosmosResourceNotFoundError:
            return None
        return _stored(document)

    async def write(
        self,
        document_id: str,
        values: Mapping[str, Any],
        *,
        scope: StateScope,
        etag: str | None,
        ttl_seconds: int | None = None,
    ) -> StoredState:
        """Create, or replace if still at ``etag``; see :class:`~bot.state.storage.StateStorage`."""
        from azure.core import MatchConditions
        from azure.cosmos.exceptions import (
            CosmosAccessConditionFailedError,
            CosmosResourceExistsError,
            CosmosResourceNotFoundError,
        )

        body: dict[str, Any] = {
            "id": document_id,
            "scope": str(scope),
            "state": dict(values),
            "updatedAt": to_timestamp(self._clock()),
        }
        if ttl_seconds is not None:
            body["ttl"] = ttl_seconds
        container = self._container()
        try:
            if etag is None:
                written = await container.create_item(body)
            else:
                written = await container.replace_item(
                    document_id,
                    body,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except (
            CosmosAccessConditionFailedError,  # 412: written since it was read
            CosmosResourceExistsError,  # 409: created since it was found missing
            CosmosResourceNotFoundError,  # 404: deleted (or expired) since it was read
        ):
            raise StateConflictError(scope, document_id) from None
        return _stored(written)


def _stored(document: Mapping[str, Any]) -> StoredState:
    values = document.get("state")
    updated = document.get("updatedAt")
    return StoredState(
        values=dict(values) if isinstance(values, dict) else {},
        etag=str(document["_etag"]),
        updated_at=from_timestamp(updated) if isinstance(updated, str) else None,
    )
