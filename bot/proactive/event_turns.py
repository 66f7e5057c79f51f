"""Proactive turns that compute the message when they fire.

A queue message (or a schedule's occurrence) may carry ``"event": {"name", "value"}`` instead
of ``activities``. When it is handled, the bot runs a proactive turn in the target conversation
whose activity is that ``event`` (addressed like a continuation: from the user, to the bot),
through the adapter's middleware (state, reference capture, telemetry), the bot's handlers and
the assistant's event map: a skill composes the message then, with state, dialogs and the
calendar at hand as in any turn.

Exactly once, in three steps:

1. **Compute.** The turn runs with its sends captured, not posted: nothing reaches the
   Connector while the bot is still deciding.
2. **Remember.** What it would have sent is stored under the message's ``id`` (a ``computed``
   document in the ``deliveries`` container, HMAC id, the ledger's time to live), created only
   if absent: the first computation of an id wins, and every later copy of the message (a
   retry after a crash, a duplicate delivered in parallel) sends that one, never a new one.
3. **Deliver.** The remembered activities are sent under the ledger like any message's
   (:mod:`bot.proactive.delivery`): each at most (or, by ``delivery``, at least) once.

So a host that dies mid-turn has sent nothing and the turn runs again; one that dies after
remembering has its computation reused; one that dies mid-send resumes from the ledger. The
price: state the turn changed may be changed twice if the host dies between a finished turn and
step 2 (the middleware saved it); keep fire-time handlers free of such side effects, or make
them idempotent. A turn that sends nothing ends the delivery with nothing sent.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.proactive.message import ProactiveEvent
from bot.proactive.targets import ResolvedTarget
from bot.schema import (
    Activity,
    ActivityTypes,
    ResourceResponse,
    get_continuation_activity,
)
from bot.storage.containers import DELIVERIES
from bot.storage.keys import storage_id
from bot.storage.point_documents import PointDocuments
from bot.storage.timestamps import to_timestamp
from bot.turn import BotAdapter, ClaimsIdentity, SendNext, TurnContext, TurnLogic

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy

COMPUTED_KIND = "computed"
"""``kind`` of a document holding what a proactive turn computed."""
DEFAULT_TTL_SECONDS = 7 * 86_400
"""As long as the ledger remembers the id."""


def event_activity(resolved: ResolvedTarget, event: ProactiveEvent) -> Activity:
    """The activity of the turn: an ``event`` in the conversation, from its user to the bot."""
    activity = get_continuation_activity(resolved.reference)
    activity.type = ActivityTypes.EVENT
    activity.name = event.name
    activity.value = copy.deepcopy(event.value)
    activity.timestamp = to_timestamp(datetime.now(UTC))
    return activity


class ComputedSends(PointDocuments):
    """What proactive turns computed, by message id: the first computation of an id wins.

    Args:
        container: Returns the ``deliveries`` container; the process-wide one when omitted.
        ttl_seconds: Cosmos DB ``ttl`` of a document.
    """

    def __init__(
        self,
        *,
        container: Callable[[], ContainerProxy] | None = None,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        super().__init__(DELIVERIES.name, container=container, ttl_seconds=ttl_seconds)

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


async def compute_turn(
    adapter: BotAdapter,
    logic: TurnLogic,
    resolved: ResolvedTarget,
    event: ProactiveEvent,
    app_id: str,
) -> list[Activity]:
    """Run the event's turn with its sends captured; what it would have sent, in order.

    Raises:
        Exception: Whatever the turn raises (the caller retries the message).
    """
    captured: list[Activity] = []

    async def capture(
        context: TurnContext, activities: list[Activity], next_send: SendNext
    ) -> list[ResourceResponse]:
        del context, next_send  # never posted here: delivered under the ledger afterwards
        for activity in activities:
            outgoing = activity.model_copy(deep=True)
            outgoing.id = None
            outgoing.reply_to_id = None
            captured.append(outgoing)
        return [ResourceResponse(id=None) for _ in activities]

    async def turn(context: TurnContext) -> None:
        context.on_send_activities(capture)
        await logic(context)

    await adapter.continue_conversation(
        resolved.reference,
        ClaimsIdentity.for_bot(app_id),
        turn,
        continuation_activity=event_activity(resolved, event),
    )
    # Typing indicators and the like mean nothing once the turn is over.
    return [activity for activity in captured if activity.type != ActivityTypes.TYPING]
