"""The middleware that gives every turn its bot state and saves it when the turn ends.

Saving is the middleware's job, not the handler's, so a handler cannot forget it, and proactive
turns (``continue_conversation``) get the same treatment as inbound ones.

What happens when:

* the turn succeeds: every changed scope is written (one write each), unchanged ones are not;
* the turn raises: nothing is written, the turn's half-made changes are dropped, and the
  exception goes on to the adapter's error handler;
* another turn wrote a scope in between (two messages of one conversation processed at once):
  the write fails with 412 and :class:`~bot.state.errors.StateConflictError` propagates. The
  losing turn is not retried (its replies are already out; a retry would repeat them): the
  adapter's error handler apologises, and the next message sees the winner's state. In a
  proactive turn the error reaches the caller of ``continue_conversation``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from bot.state.bot_state import BOT_STATE, BotState
from bot.state.scopes import StateScope
from bot.state.storage import StateStorage
from bot.turn import NextStep, TurnContext


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BotStateMiddleware:
    """Puts a :class:`BotState` in ``context.state`` and saves it after the rest of the turn.

    Args:
        storage: Where state lives (the root hands in Cosmos DB, the ``state`` container).
        ttl: Per scope, how long its document lives after its last use (see
            :class:`BotState`); scopes not named never expire.
        clock: The current time.
        secret: The HMAC key of storage ids; ``KEY_HASH_SECRET`` when omitted (tests pass
            one so they need no settings).
    """

    def __init__(
        self,
        storage: StateStorage,
        *,
        ttl: Mapping[StateScope, timedelta] | None = None,
        clock: Callable[[], datetime] = _utc_now,
        secret: bytes | None = None,
    ) -> None:
        self.storage = storage
        self._ttl = dict(ttl or {})
        self._clock = clock
        self._secret = secret

    async def on_turn(self, context: TurnContext, next: NextStep, /) -> None:
        """Run the turn with its state, then save what changed."""
        state = BotState(
            context.activity, self.storage, ttl=self._ttl, clock=self._clock, secret=self._secret
        )
        context.state[BOT_STATE] = state
        await next()
        await state.save()
