"""Documents of one kind that live for a while in a container and are found by their id.

The small side stores of a feature (which delivery sent a card, what an event turn computed)
write a document whose id is an HMAC of its key, with a time to live, and read it back with a
point read: the id is also the partition key, so a read costs one request unit and never a
query. :class:`PointDocuments` holds what they share: the container, the time to live, and
the read that treats a missing document as "not known".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.storage.cosmos import container as named_container

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy


class PointDocuments:
    """Documents read by id in one container, each kept ``ttl_seconds``.

    Args:
        container_name: The container's name (``bot.storage.containers``).
        container: Returns the container; the process-wide one of that name when omitted.
        ttl_seconds: Cosmos DB ``ttl`` of a document.
    """

    def __init__(
        self,
        container_name: str,
        *,
        container: Callable[[], ContainerProxy] | None = None,
        ttl_seconds: int,
    ) -> None:
        self._container = container or (lambda: named_container(container_name))
        self._ttl_seconds = ttl_seconds

    async def read(self, document_id: str) -> dict[str, Any] | None:
        """The document with ``document_id``; ``None`` when there is none (or it expired)."""
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        try:
            document: dict[str, Any] = await self._container().read_item(
                document_id, partition_key=document_id
            )
        except CosmosResourceNotFoundError:
            return None
        return document
