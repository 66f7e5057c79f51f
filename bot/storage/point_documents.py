"""Documents of one kind that live for a while in a container and are found by their id.

The small side stores of a feature (which delivery sent a card, what an event turn computed)
write a document whose id is an HMAC of its key, with a time to live, and read it back with a
point read: the id is also the partition key, so a read costs one request unit and never a
query. :class:`PointDocuments` holds what they share: the container, the time to live, and
the read that treats a missing document as "not known".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from bot.storage.cosmos import container as named_container

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy


class PointDocuments:
    """Documents read by id in one container, each kept for a time to live.

    A subclass names its container (``container_name``) and its documents' default time to
    live (``default_ttl_seconds``).

    Args:
        container: Returns the container; the process-wide one of ``container_name`` when
            omitted.
        ttl_seconds: Cosmos DB ``ttl`` of a document; ``default_ttl_seconds`` when omitted.
    """

    container_name: ClassVar[str]
    default_ttl_seconds: ClassVar[int]

    def __init__(
        self,
        *,
        container: Callable[[], ContainerProxy] | None = None,
        ttl_seconds: int | None = None,
    ) -> None:
        self._container = container or self._named_container
        self._ttl_seconds = ttl_seconds if ttl_seconds is not None else self.default_ttl_seconds

    def _named_container(self) -> ContainerProxy:
        return named_container(self.container_name)

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
