"""Schedule documents in the Cosmos DB container ``schedules`` (partitioned on ``/id``).

Every change is a conditional write on the ``_etag`` read before it, so two writers (two
ticks, a tick and an API call) never silently overwrite each other: the loser learns it (a
``None`` result) and decides again from a fresh read.

The due query is ``WHERE (c.enabled = true AND c.nextRunAt <= @now) OR c.pending.retryAt <=
@now``: both are range filters on indexed paths, so its cost follows the number of due
documents, not the size of the container.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from bot.storage.containers import SCHEDULES
from bot.storage.cosmos import container as named_container
from bot.storage.timestamps import to_timestamp

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy

MAX_PAGE_SIZE = 1000
DUE_QUERY = (
    "SELECT * FROM c WHERE (c.enabled = true AND c.nextRunAt <= @now) OR c.pending.retryAt <= @now"
)


class ScheduleExistsError(Exception):
    """A schedule with this id exists already."""


@dataclass
class StoreStats:
    """What the store did, for tests and the bench: requests and documents returned.

    Attributes:
        reads: Point reads.
        writes: Creates, replaces and deletes.
        queries: Query pages fetched.
        documents: Documents returned by queries.
    """

    reads: int = 0
    writes: int = 0
    queries: int = 0
    documents: int = 0


@dataclass(frozen=True)
class SchedulePage:
    """One page of a listing.

    Attributes:
        documents: The documents.
        continuation: Where the next page starts; ``None`` after the last.
    """

    documents: list[dict[str, Any]]
    continuation: str | None


class ScheduleStore:
    """Reads and writes schedule documents.

    Args:
        container: Returns the ``schedules`` container client; the process-wide one when
            omitted.
    """

    def __init__(self, *, container: Callable[[], ContainerProxy] | None = None) -> None:
        self._container = container or _schedules_container
        self.stats = StoreStats()

    async def create(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Create a document.

        Raises:
            ScheduleExistsError: Its id is taken.
        """
        from azure.cosmos.exceptions import CosmosResourceExistsError

        self.stats.writes += 1
        try:
            return dict(await self._container().create_item(dict(document)))
        except CosmosResourceExistsError:
            raise ScheduleExistsError(str(document["id"])) from None

    async def read(self, schedule_id: str) -> dict[str, Any] | None:
        """The document of a schedule, or ``None``."""
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        self.stats.reads += 1
        try:
            return dict(await self._container().read_item(schedule_id, partition_key=schedule_id))
        except CosmosResourceNotFoundError:
            return None

    async def replace(self, document: Mapping[str, Any], etag: str) -> dict[str, Any] | None:
        """Replace a document if it is unchanged since it was read with ``etag``.

        Returns:
            The written document; ``None`` when it changed or was deleted meanwhile.
        """
        from azure.core import MatchConditions
        from azure.cosmos.exceptions import (
            CosmosAccessConditionFailedError,
            CosmosResourceNotFoundError,
        )

        self.stats.writes += 1
        try:
            written = await self._container().replace_item(
                str(document["id"]),
                dict(document),
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (CosmosAccessConditionFailedError, CosmosResourceNotFoundError):
            return None
        return dict(written)

    async def delete(self, schedule_id: str) -> bool:
        """Delete a schedule; whether there was one."""
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        self.stats.writes += 1
        try:
            await self._container().delete_item(schedule_id, partition_key=schedule_id)
        except CosmosResourceNotFoundError:
            return False
        return True

    async def list(
        self,
        *,
        channel_id: str | None = None,
        conversation_id: str | None = None,
        user_id: str | None = None,
        page_size: int = 100,
        continuation: str | None = None,
    ) -> SchedulePage:
        """One page of schedules, oldest first, filtered by target.

        Args:
            channel_id: Only schedules targeting this channel.
            conversation_id: Only schedules targeting this conversation.
            user_id: Only schedules targeting this user.
            page_size: At most this many (1 to 1,000).
            continuation: The ``continuation`` of the previous page.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE_SIZE}")
        conditions: builtins.list[str] = []
        parameters: dict[str, object] = {}
        if conversation_id is not None:
            conditions.append("c.conversation.conversationId = @conversationId")
            parameters["@conversationId"] = conversation_id
        if user_id is not None:
            conditions.append("c.user.userId = @userId")
            parameters["@userId"] = user_id
        if channel_id is not None:
            if conversation_id is not None:
                conditions.append("c.conversation.channelId = @channelId")
            elif user_id is not None:
                conditions.append("c.user.channelId = @channelId")
            else:
                conditions.append(
                    "(c.conversation.channelId = @channelId OR c.user.channelId = @channelId)"
                )
            parameters["@channelId"] = channel_id
        where = " WHERE " + " AND ".join(conditions) if conditions else ""
        # Only the fixed fragments above go into the text; every value is a parameter.
        query = f"SELECT * FROM c{where} ORDER BY c.createdAt"  # noqa: S608
        page = await self._first_page(query, parameters, page_size, continuation)
        return page

    async def due_pages(
        self, now: datetime, page_size: int
    ) -> AsyncGenerator[builtins.list[dict[str, Any]], None]:
        """The documents due at ``now`` (see the module docstring), a page at a time."""
        from azure.core.async_paging import AsyncPageIterator

        items = self._container().query_items(
            query=DUE_QUERY,
            parameters=_parameters({"@now": to_timestamp(now)}),
            max_item_count=page_size,
        )
        pages = cast("AsyncPageIterator[dict[str, Any]]", items.by_page())
        async for page in pages:
            self.stats.queries += 1
            documents = [dict(document) async for document in page]
            self.stats.documents += len(documents)
            if documents:
                yield documents

    async def _first_page(
        self,
        query: str,
        parameters: Mapping[str, object],
        page_size: int,
        continuation: str | None,
    ) -> SchedulePage:
        from azure.core.async_paging import AsyncPageIterator

        items = self._container().query_items(
            query=query, parameters=_parameters(parameters), max_item_count=page_size
        )
        pages = cast("AsyncPageIterator[dict[str, Any]]", items.by_page(continuation))
        documents: builtins.list[dict[str, Any]] = []
        async for page in pages:
            self.stats.queries += 1
            documents = [dict(document) async for document in page]
            break
        self.stats.documents += len(documents)
        # Cosmos DB may end a page early, even empty, and still have more: only the
        # continuation says whether this was the last page.
        return SchedulePage(documents, pages.continuation_token or None)


def _parameters(values: Mapping[str, object]) -> builtins.list[dict[str, object]]:
    return [{"name": name, "value": value} for name, value in values.items()]


def _schedules_container() -> ContainerProxy:
    return named_container(SCHEDULES.name)
