"""Bot state: user, conversation and private conversation state, kept in Cosmos DB.

Install :class:`BotStateMiddleware` on the adapter, declare typed properties, and use them
through :func:`bot_state`::

    COUNT = conversation_property("count", int, default=0)

    async def on_message_activity(self, context: TurnContext) -> None:
        state = bot_state(context)
        count = await state.get(COUNT) + 1
        await state.set(COUNT, count)
        await context.send_activity(f"{count} messages so far")

Scopes are read lazily (on first use in a turn) and written at the end of the turn only if
they changed, with optimistic concurrency: a concurrent turn's write makes this turn's save
fail with :class:`StateConflictError` (see :mod:`bot.state.middleware` for why it is not
retried).
"""

from bot.state.bot_state import BOT_STATE, SAVE_ORDER, BotState, bot_state
from bot.state.errors import (
    StateConflictError,
    StateError,
    StateScopeUnavailableError,
    StateValueError,
)
from bot.state.memory_storage import MemoryDocument, MemoryStateStorage
from bot.state.middleware import BotStateMiddleware
from bot.state.properties import (
    StateProperty,
    conversation_property,
    private_conversation_property,
    user_property,
)
from bot.state.records import StoredState
from bot.state.scopes import StateScope, scope_id
from bot.state.storage import StateStorage
from bot.state.store import CosmosStateStorage

__all__ = [
    "BOT_STATE",
    "SAVE_ORDER",
    "BotState",
    "BotStateMiddleware",
    "CosmosStateStorage",
    "MemoryDocument",
    "MemoryStateStorage",
    "StateConflictError",
    "StateError",
    "StateProperty",
    "StateScope",
    "StateScopeUnavailableError",
    "StateStorage",
    "StateValueError",
    "StoredState",
    "bot_state",
    "conversation_property",
    "private_conversation_property",
    "scope_id",
    "user_property",
]
