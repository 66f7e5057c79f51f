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
   document in the ``deliveries`` container, :mod:`bot.delivery.computed_sends`), created only
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
from datetime import UTC, datetime

from bot.proactive.message import ProactiveEvent
from bot.proactive.targets import ResolvedTarget
from bot.schema import (
    Activity,
    ActivityTypes,
    ResourceResponse,
    get_continuation_activity,
)
from bot.storage.timestamps import to_timestamp
from bot.turn import BotAdapter, ClaimsIdentity, SendNext, TurnContext, TurnLogic


def event_activity(resolved: ResolvedTarget, event: ProactiveEvent) -> Activity:
    """The activity of the turn: an ``event`` in the conversation, from its user to the bot."""
    activity = get_continuation_activity(resolved.reference)
    activity.type = ActivityTypes.EVENT
    activity.name = event.name
    activity.value = copy.deepcopy(event.value)
    activity.timestamp = to_timestamp(datetime.now(UTC))
    return activity


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
