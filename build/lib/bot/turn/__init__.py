"""The turn pipeline: context, middleware, activity routing and the adapter.

The adapter takes an authenticated activity, runs middleware and the bot's handler with a
:class:`TurnContext`, and returns the HTTP answer as a :class:`TurnResult`. Outgoing
activities leave through an :class:`ActivitySender`, implemented elsewhere over the
Connector API.
"""

from bot.turn.activity_handler import ActivityHandler, handles_event, handles_invoke
from bot.turn.adapter import (
    ACCEPTED_STATUS,
    SORRY_MESSAGE,
    BotAdapter,
    TurnErrorHandler,
    TurnResult,
    apologize,
)
from bot.turn.context import (
    DeleteActivityHandler,
    DeleteNext,
    SendActivitiesHandler,
    SendNext,
    TurnContext,
    UpdateActivityHandler,
    UpdateNext,
)
from bot.turn.identity import ClaimsIdentity
from bot.turn.memory_sender import InMemorySender, SentActivity
from bot.turn.middleware import (
    Middleware,
    MiddlewareFunction,
    MiddlewareSet,
    NextStep,
    TurnLogic,
)
from bot.turn.sender import ActivitySender
from bot.turn.state import StateKey, TurnState

__all__ = [
    "ACCEPTED_STATUS",
    "SORRY_MESSAGE",
    "ActivityHandler",
    "ActivitySender",
    "BotAdapter",
    "ClaimsIdentity",
    "DeleteActivityHandler",
    "DeleteNext",
    "InMemorySender",
    "Middleware",
    "MiddlewareFunction",
    "MiddlewareSet",
    "NextStep",
    "SendActivitiesHandler",
    "SendNext",
    "SentActivity",
    "StateKey",
    "TurnContext",
    "TurnErrorHandler",
    "TurnLogic",
    "TurnResult",
    "TurnState",
    "UpdateActivityHandler",
    "UpdateNext",
    "apologize",
    "handles_event",
    "handles_invoke",
]
