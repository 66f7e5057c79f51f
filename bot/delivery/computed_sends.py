"""What proactive event turns computed, kept beside the ledger: the first computation wins.

An event turn (:mod:`bot.proactive.event_turns`) computes what to send when its message is
handled; what it computed is stored under the message's id before anything is sent, as a
``computed`` document in the ``deliveries`` container (HMAC id, the ledger's time to live),
created only if absent. Every later copy of the message (a retry after a crash, a duplicate
delivered in parallel) sends that one, never a new one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.schema import Activity
from bot.storage.containers import DELIVERIES
from bot.storage.keys import storage_id
from bot.storage.point_documents import PointDocuments
from bot.storage.timestamps import to_timestamp

if TYPE_CHECKING:
    pass

COMPUTED_KIND = "computed"
"""``kind`` of a document holding what a proactive turn computed."""
DEFAULT_TTL_SECONDS = 7 * 86_400
"""As long as the ledger remembers the id."""


class ComputedSends(PointDocuments):
    """What proactive turns computed, by message id: the first computation of an id wins.

    Args: as :class:`~bot.storage.point_documents.PointDocuments` (the ``deliveries``
    container).
    """

    container_name = DELIVERIES.name
    default_ttl_seconds = DEFAULT_TTL_SECONDS

    async def recall(self, delivery_id: str) -> list[Activity] | None:
        """What was computed for ``delivery_id``; ``None`` when nothing was yet."""
        document = await self.read(storage_id(COMPUTED_KIND, delivery_id))
        if document is None:
            return None
        return [Activity.from_wire(item) for item in document.get("activities") or ()]

    async def remember(self, delivery_id: str, activities: list[Activity]) -> list[Activity]:
        """Store ``activities`` unless something was stored first; what is stored now."""
        from azure.cosmos.exceptions import CosmosResourceExistsError

        document_id = storage_id(COMPUTED_KIND, delivery_id)
        document: dict[str, Any] = {
            "id": document_id,
            "kind": COMPUTED_KIND,
            "activities": [activity.to_wire() for activity in activities],
            "createdAt": to_timestamp(datetime.now(UTC)),
            "ttl": self._ttl_seconds,
        }
        try:
            await self._container().create_item(document)
        except CosmosResourceExistsError:
            stored = await self.recall(delivery_id)
            return stored if stored is not None else activities
        return activities
