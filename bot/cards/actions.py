"""Universal Actions: ``Action.Execute`` invokes (``adaptiveCard/action``) routed by verb.

Teams sends an ``invoke`` named ``adaptiveCard/action`` when a user presses an
``Action.Execute`` button (``value.trigger`` ``manual``), and when a card's ``refresh`` action
runs for a user listed in ``refresh.userIds`` (``automatic``)::

    {"type": "invoke", "name": "adaptiveCard/action", "replyToId": "<the card's message id>",
     "value": {"action": {"type": "Action.Execute", "verb": "acknowledge", "data": {...}},
               "trigger": "manual"}}

:class:`CardActions` calls the handler of the verb. A handler answers with a card (or a short
message); the card replaces the card *for the user who acted* (it is the invoke's answer,
``{"statusCode": 200, "type": "application/vnd.microsoft.card.adaptive", "value": card}``), and
with ``update_for_everyone`` the bot also replaces the message for everyone in the conversation
(``PUT v3/conversations/{id}/activities/{replyToId}``; for a card a delivery sent, through the
edit path, recorded as a version of that delivery: :mod:`bot.proactive.card_updates`).
Per-user views: a card whose ``refresh`` lists ``userIds`` is refreshed for those users, each
getting the card their own invoke answers; everyone else sees the card as sent.

Every card a handler answers is validated (:mod:`bot.cards.validation`) before it leaves. An
unknown verb or an invalid invoke is answered ``statusCode`` 400 with
``application/vnd.microsoft.error``, as the protocol says; the HTTP status is 200 either way.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.cards import ADAPTIVE_CARD_CONTENT_TYPE
from bot.cards.validation import validate_card
from bot.schema import Activity, ActivityTypes, Attachment, ChannelAccount, InvokeResponse
from bot.turn import TurnContext

logger = logging.getLogger(__name__)

ACTION_INVOKE = "adaptiveCard/action"
"""The invoke name of ``Action.Execute``."""
MESSAGE_TYPE = "application/vnd.microsoft.activity.message"
ERROR_TYPE = "application/vnd.microsoft.error"


@dataclass(frozen=True)
class CardAction:
    """One ``Action.Execute`` press (or automatic refresh).

    Attributes:
        verb: The action's ``verb``.
        data: The action's ``data`` merged with the card's input values.
        user: Who pressed it.
        message_id: The id of the message holding the card (``replyToId``).
        automatic: A ``refresh``, not a press.
    """

    verb: str
    data: Mapping[str, Any]
    user: ChannelAccount | None
    message_id: str | None
    automatic: bool = False


@dataclass(frozen=True)
class CardActionResult:
    """What a handler answers.

    Attributes:
        card: The card that replaces the one acted on (for the user who acted).
        message: A short text shown instead, when there is no new card.
        update_for_everyone: Also replace the message, with ``card``, for everyone.
    """

    card: Mapping[str, Any] | None = None
    message: str | None = None
    update_for_everyone: bool = False


CardActionHandler = Callable[[TurnContext, CardAction], Awaitable[CardActionResult]]
EveryoneUpdate = Callable[[TurnContext, Activity], Awaitable[None]]
"""Replaces a message for everyone in the turn's conversation."""


async def _update_in_place(context: TurnContext, activity: Activity) -> None:
    await context.update_activity(activity)


@dataclass
class CardActions:
    """The handlers of a bot's ``Action.Execute`` verbs.

    Args:
        handlers: The handler of each verb.
        update_for_everyone: Replaces the message for everyone (the activity's ``id`` names
            it); in place by default. The bot passes
            :func:`bot.proactive.card_updates.update_card_for_everyone`, which records the
            update on the delivery that sent the card.
    """

    handlers: dict[str, CardActionHandler] = field(default_factory=dict)
    update_for_everyone: EveryoneUpdate = field(default=_update_in_place)

    def verb(self, name: str) -> Callable[[CardActionHandler], CardActionHandler]:
        """Register the decorated handler for ``name``."""

        def register(handler: CardActionHandler) -> CardActionHandler:
            self.handlers[name] = handler
            return handler

        return register

    async def answer(self, context: TurnContext) -> InvokeResponse:
        """The answer to an ``adaptiveCard/action`` invoke (see the module docstring)."""
        action = card_action_of(context.activity)
        if action is None:
            return _error(400, "BadRequest", "the invoke is not an Action.Execute")
        handler = self.handlers.get(action.verb)
        if handler is None:
            return _error(400, "NotSupported", f"no handler for the verb '{action.verb}'")
        result = await handler(context, action)
        if result.card is None:
            return InvokeResponse(
                status=200,
                body={"statusCode": 200, "type": MESSAGE_TYPE, "value": result.message or ""},
            )
        problems = validate_card(result.card)
        if problems:
            logger.error(
                "card action %s: the handler's card is invalid: %s", action.verb, problems[0]
            )
            return _error(500, "InvalidCard", "the bot answered an invalid card")
        if result.update_for_everyone and action.message_id:
            await self.update_for_everyone(
                context,
                Activity(
                    type=ActivityTypes.MESSAGE,
                    id=action.message_id,
                    attachments=[
                        Attachment(
                            content_type=ADAPTIVE_CARD_CONTENT_TYPE, content=dict(result.card)
                        )
                    ],
                ),
            )
        return InvokeResponse(
            status=200,
            body={"statusCode": 200, "type": ADAPTIVE_CARD_CONTENT_TYPE, "value": result.card},
        )


def card_action_of(activity: Activity) -> CardAction | None:
    """The ``Action.Execute`` of an ``adaptiveCard/action`` invoke, or ``None``."""
    value = activity.value
    if not isinstance(value, Mapping):
        return None
    action = value.get("action")
    if not isinstance(action, Mapping) or action.get("type") != "Action.Execute":
        return None
    verb = action.get("verb")
    if not isinstance(verb, str) or not verb:
        return None
    data = action.get("data")
    return CardAction(
        verb=verb,
        data=dict(data) if isinstance(data, Mapping) else {},
        user=activity.from_,
        message_id=activity.reply_to_id,
        automatic=value.get("trigger") == "automatic",
    )


def _error(status: int, code: str, message: str) -> InvokeResponse:
    return InvokeResponse(
        status=200,
        body={
            "statusCode": status,
            "type": ERROR_TYPE,
            "value": {"code": code, "message": message},
        },
    )
