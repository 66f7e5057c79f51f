"""Which delivery sent a card: the point read behind "update for everyone" on a proactive card.

A Universal Action invoke names the card's message only by its conversation and activity id
(``replyToId``). To record an update of a proactive card as a version of the delivery that sent
it (docs/cards.md), the bot must go from that pair to the delivery's idempotency id, cheaply and
without a query. So when a delivery sends an activity holding an Adaptive Card, it also writes a
``sentCard`` document to the ``deliveries`` container::

    {"id": "v1-<HMAC of conversation id + activity id>", "kind": "sentCard",
     "deliveryId": "rpt-42", "index": 0, "ttl": 604800}

one upsert per card sent (plain messages cost nothing), kept as long as the receipt. The id is
an HMAC of both ids, so the document is found by a point read, holds neither id in clear, and a
conversation cannot name another conversation's card: the invoke's conversation is part of the
key. A card whose document is missing (not sent by a delivery, expired, or the worker stopped
between the send and this write) is simply not known, and is updated as any message is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.storage.containers import DELIVERIES
from bot.storage.keys import storage_id
from bot.storage.point_documents import PointDocuments

if TYPE_CHECKING:
    pass

SENT_CARD_KIND = "sentCard"
"""``kind`` of a document naming the delivery that sent a card (and its key kind)."""
DEFAULT_TTL_SECONDS = 7 * 86_400
"""As long as the ledger keeps the receipt."""


@dataclass(frozen=True)
class SentCard:
    """The delivery that sent a card.

    Attributes:
        delivery_id: The delivery's idempotency id.
        index: The position of the card's activity among the delivery's activities.
    """

    delivery_id: str
    index: int


class SentCards(PointDocuments):
    """Sent cards by conversation and activity id, in the ``deliveries`` container.

    Args: as :class:`~bot.storage.point_documents.PointDocuments`.
    """

    container_name = DELIVERIES.name
    default_ttl_seconds = DEFAULT_TTL_SECONDS

    async def remember(self, conversation_id: str, activity_id: str, card: SentCard) -> None:
        """Record that ``card``'s delivery sent ``activity_id`` (idempotent: an upsert)."""
        document: dict[str, Any] = {
            "id": _document_id(conversation_id, activity_id),
            "kind": SENT_CARD_KIND,
            "deliveryId": card.delivery_id,
            "index": card.index,
            "ttl": self._ttl_seconds,
        }
        await self._container().upsert_item(document)

    async def find(self, conversation_id: str, activity_id: str) -> SentCard | None:
        """The delivery that sent ``activity_id`` in the conversation; ``None`` if unknown."""
        document = await self.read(_document_id(conversation_id, activity_id))
        if document is None:
            return None
        delivery_id, index = document.get("deliveryId"), document.get("index")
        if not isinstance(delivery_id, str) or not isinstance(index, int):
            return None
        return SentCard(delivery_id, index)


def _document_id(conversation_id: str, activity_id: str) -> str:
    return storage_id(SENT_CARD_KIND, conversation_id, activity_id)
