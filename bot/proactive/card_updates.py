"""A Universal Action's update for everyone, through the edit path when a delivery sent the
card.

A card the bot sent proactively belongs to a delivery: replacing it for everyone is an edit of
that delivery, recorded on its receipt as the next version (as ``PATCH /api/deliveries/{id}``
is), so ``GET /api/deliveries/{id}`` tells what the conversation now shows. The delivery is
found by a point read on the invoke's conversation and ``replyToId``
(:mod:`bot.delivery.sent_cards`). A card no delivery sent (a reply in a turn, or one whose
note expired) is replaced in place as before (``PUT .../activities/{replyToId}``).

The operation id is derived from the invoke's own id, so a channel that repeats the same invoke
edits once.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from bot.proactive.delivery import Outcome
from bot.proactive.service import proactive_service
from bot.schema import Activity
from bot.turn import TurnContext

logger = logging.getLogger(__name__)


async def update_card_for_everyone(context: TurnContext, card: Activity) -> None:
    """Replace the card ``card.id`` names for everyone in the invoke's conversation.

    Args:
        context: The ``adaptiveCard/action`` invoke's turn.
        card: The replacement; its ``id`` is the card's message id.
    """
    conversation = context.activity.conversation
    conversation_id = conversation.id if conversation is not None else None
    if card.id is None or not conversation_id:
        await context.update_activity(card)
        return
    service = proactive_service.get()
    edited = await service.update_sent_card(
        conversation_id, card.id, card, operation_id(conversation_id, context.activity.id)
    )
    if edited is None or edited.outcome.outcome is Outcome.BUSY:
        # Not a delivery's card, or its delivery is still sending the rest: replace it in place.
        await context.update_activity(card)
        return
    if edited.outcome.outcome is not Outcome.DELIVERED:
        error = edited.outcome.error
        logger.warning(
            "card action: the update of delivery card was not applied: %s %s",
            edited.outcome.outcome,
            error.code if error else "",
        )


def operation_id(conversation_id: str, invoke_id: str | None) -> str:
    """The edit's idempotency id: the same for the same invoke, never holding its ids."""
    if not invoke_id:
        return f"card-action.{uuid.uuid4().hex}"
    digest = hashlib.sha256(f"{conversation_id}\n{invoke_id}".encode()).hexdigest()
    return f"card-action.{digest[:48]}"
