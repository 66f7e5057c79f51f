"""The bot state of one turn: its three scopes, each read on first use and saved if changed.

:class:`~bot.state.middleware.BotStateMiddleware` creates a :class:`BotState` for every turn
(proactive turns included) and saves it when the turn ends; handlers get it with
:func:`bot_state`. A scope costs nothing until a property of it is used, then one point read;
at the end of the turn it costs one write if and only if its JSON changed (or its TTL is due
for a refresh).

Change detection compares JSON, not object identity: a value mutated in place (a model, a
list) is saved without a :meth:`BotState.set`, a value set back to what was stored is not
written, and neither is a default that was read and left as it was.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bot.schema import Activity
from bot.state.properties import StateProperty
from bot.state.scopes import StateScope, scope_id
from bot.state.storage import StateStorage
from bot.turn import StateKey, TurnContext

T = TypeVar("T")

SAVE_ORDER: tuple[StateScope, ...] = (
    StateScope.CONVERSATION,
    StateScope.PRIVATE_CONVERSATION,
    StateScope.USER,
)
"""The order changed scopes are written in at the end of a turn."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _ScopeState:
    """One scope of one turn: what was read, and the values handed out since."""

    scope: StateScope
    document_id: str
    stored: dict[str, Any] = field(default_factory=dict)
    etag: str | None = None
    updated_at: datetime | None = None
    # Decoded values handed out this turn, with the property that decodes them; encoded again
    # at save time, so in-place mutations count.
    live: dict[str, tuple[StateProperty[Any], Any]] = field(default_factory=dict)
    # The JSON of defaults handed out: a default nobody changed is not worth a write.
    defaults: dict[str, Any] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    cleared: bool = False

    def current(self) -> dict[str, Any]:
        values = {} if self.cleared else dict(self.stored)
        for name in self.deleted:
            values.pop(name, None)
        for name, (prop, value) in self.live.items():
            encoded = prop.encode(value)
            if name in self.defaults and encoded == self.defaults[name]:
                continue
            values[name] = encoded
        return values


class BotState:
    """User, conversation and private conversation state of one turn.

    Args:
        activity: The turn's activity; its channel, conversation and sender key the scopes.
        storage: Where scope documents are read and written.
        ttl: Per scope, how long its document lives after its last write; scopes not named
            never expire. A scope whose document is older than half its TTL is written at
            the end of a turn that used it even when unchanged, so state in use never
            expires.
        clock: The current time (for the TTL refresh).
        secret: The HMAC key of storage ids; ``KEY_HASH_SECRET`` when omitted.
    """

    def __init__(
        self,
        activity: Activity,
        storage: StateStorage,
        *,
        ttl: Mapping[StateScope, timedelta] | None = None,
        clock: Callable[[], datetime] = _utc_now,
        secret: bytes | None = None,
    ) -> None:
        self._activity = activity
        self._storage = storage
        self._ttl = dict(ttl or {})
        self._clock = clock
        self._secret = secret
        self._scopes: dict[StateScope, _ScopeState] = {}
        self._locks = {scope: asyncio.Lock() for scope in StateScope}

    @property
    def loaded_scopes(self) -> frozenset[StateScope]:
        """The scopes read so far in this turn."""
        return frozenset(self._scopes)

    async def get(self, prop: StateProperty[T]) -> T:
        """The property's value (its default when none is stored).

        The same object is returned for the rest of the turn; changing it in place changes
        the state.

        Raises:
            StateScopeUnavailableError: The turn has no such scope (no user id...).
            StateValueError: The stored value does not fit the property's type.
            TypeError: Another property with the same name and a different type was used in
                this turn.
        """
        scope = await self._scope(prop.scope)
        live = scope.live.get(prop.name)
        if live is not None:
            _check_same(live[0], prop)
            value: T = live[1]
            return value
        if prop.name in scope.stored and prop.name not in scope.deleted and not scope.cleared:
            # A copy: validation keeps ``Any`` values by reference, and a value changed in place
            # must not change the snapshot it is compared with at save time.
            value = prop.decode(copy.deepcopy(scope.stored[prop.name]))
        else:
            value = prop.default_value()
            scope.defaults[prop.name] = prop.encode(value)
        scope.live[prop.name] = (prop, value)
        return value

    async def set(self, prop: StateProperty[T], value: T) -> None:
        """Replace the property's value."""
        scope = await self._scope(prop.scope)
        live = scope.live.get(prop.name)
        if live is not None:
            _check_same(live[0], prop)
        scope.defaults.pop(prop.name, None)
        scope.live[prop.name] = (prop, value)

    async def delete(self, prop: StateProperty[Any]) -> None:
        """Remove the property: its next read gives the default."""
        scope = await self._scope(prop.scope)
        scope.live.pop(prop.name, None)
        scope.defaults.pop(prop.name, None)
        scope.deleted.add(prop.name)

    async def clear(self, scope: StateScope) -> None:
        """Remove every property of a scope (those of other modules too)."""
        state = await self._scope(scope)
        state.live.clear()
        state.defaults.clear()
        state.deleted.clear()
        state.cleared = True

    def changed(self, scope: StateScope) -> bool:
        """Whether the scope was read and its values now differ from what was read."""
        state = self._scopes.get(scope)
        return state is not None and state.current() != state.stored

    async def save(self) -> None:
        """Write every scope that changed (or whose TTL is due for a refresh).

        The middleware calls this at the end of the turn; call it earlier to make changes
        durable before something slow or risky. Saving twice writes only what changed since.

        Raises:
            StateConflictError: Another turn wrote a scope after this turn read it. Scopes
                earlier in :data:`SAVE_ORDER` may have been written already.
        """
        for scope in SAVE_ORDER:
            state = self._scopes.get(scope)
            if state is None:
                continue
            async with self._locks[scope]:
                values = state.current()
                if values == state.stored and not self._refresh_due(state):
                    continue
                ttl = self._ttl.get(scope)
                written = await self._storage.write(
                    state.document_id,
                    values,
                    scope=scope,
                    etag=state.etag,
                    ttl_seconds=int(ttl.total_seconds()) if ttl is not None else None,
                )
                state.stored = written.values
                state.etag = written.etag
                state.updated_at = written.updated_at
                state.deleted.clear()
                state.cleared = False

    def _refresh_due(self, state: _ScopeState) -> bool:
        ttl = self._ttl.get(state.scope)
        if ttl is None or state.etag is None:
            return False
        if state.updated_at is None:
            return True
        return self._clock() - state.updated_at >= ttl / 2

    async def _scope(self, scope: StateScope) -> _ScopeState:
        state = self._scopes.get(scope)
        if state is not None:
            return state
        # One read per scope per turn, even when handlers ask for it concurrently.
        async with self._locks[scope]:
            state = self._scopes.get(scope)
            if state is None:
                document_id = scope_id(scope, self._activity, secret=self._secret)
                stored = await self._storage.read(document_id)
                state = _ScopeState(scope, document_id)
                if stored is not None:
                    state.stored = stored.values
                    state.etag = stored.etag
                    state.updated_at = stored.updated_at
                self._scopes[scope] = state
            return state


def _check_same(used: StateProperty[Any], asked: StateProperty[Any]) -> None:
    if used is not asked and not used.same_value_as(asked):
        raise TypeError(
            f"{asked.scope} property {asked.name!r} is used with two types in one turn: "
            f"{used.value_type!r} and {asked.value_type!r}"
        )


BOT_STATE = StateKey[BotState]("bot_state")
"""Where the middleware puts the turn's :class:`BotState` in ``context.state``."""


def bot_state(context: TurnContext) -> BotState:
    """The turn's bot state.

    Raises:
        RuntimeError: :class:`~bot.state.middleware.BotStateMiddleware` is not installed on
            the adapter, so nothing would ever save the state.
    """
    state = context.state.get(BOT_STATE)
    if state is None:
        raise RuntimeError(
            "bot state is not available in this turn: add BotStateMiddleware to the adapter"
        )
    return state
