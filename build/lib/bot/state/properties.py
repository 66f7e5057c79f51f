"""Typed state properties: a name in a scope, a type, and a default.

Declare each property once, at module level, and use it with the turn's
:class:`~bot.state.bot_state.BotState`::

    COUNT = conversation_property("counter.count", int, default=0)
    PROFILE = user_property("profile", Profile, default_factory=Profile)
    NICKNAME = user_property("nickname", str | None, default=None)

    state = bot_state(context)
    count = await state.get(COUNT)
    await state.set(COUNT, count + 1)
    profile = await state.get(PROFILE)
    profile.name = "Ada"  # mutated in place: saved at the end of the turn too

Values are stored as JSON through pydantic (:class:`pydantic.TypeAdapter`), so any type
pydantic can validate and dump works: scalars, lists and dicts of them, models, dataclasses.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import UnionType
from typing import Any, Generic, TypeVar, cast

from pydantic import TypeAdapter, ValidationError

from bot.state.errors import StateValueError
from bot.state.scopes import StateScope

T = TypeVar("T")

_NO_DEFAULT: Any = object()


class StateProperty(Generic[T]):
    """A named, typed value in one scope of bot state.

    Two properties with the same scope and name are the same stored value, so they must
    declare the same type. Property objects are immutable and shared by every turn.

    Args:
        scope: Whose state it belongs to.
        name: Its key in the scope's document; unique within the scope.
        value_type: What it holds (``int``, ``list[str]``, a model, ``str | None``...).
        default: The value when none is stored. Copied for each turn, so a mutable default
            is safe.
        default_factory: Makes the value when none is stored (instead of ``default``).

    Raises:
        ValueError: Neither or both of ``default`` and ``default_factory`` were given, or
            the name is empty.
        TypeError: ``default`` does not fit ``value_type``.
    """

    __slots__ = ("_adapter", "_default", "_default_factory", "name", "scope", "value_type")

    def __init__(
        self,
        scope: StateScope,
        name: str,
        value_type: type[T] | UnionType,
        *,
        default: T = _NO_DEFAULT,
        default_factory: Callable[[], T] | None = None,
    ) -> None:
        if not name:
            raise ValueError("a state property needs a name")
        if (default is _NO_DEFAULT) == (default_factory is None):
            raise ValueError(
                f"state property {name!r}: give exactly one of default and default_factory"
            )
        self.scope = scope
        self.name = name
        self.value_type = value_type
        # A union (``str | None``) is a valid type form that ``type[T]`` cannot spell.
        self._adapter: TypeAdapter[T] = TypeAdapter(cast("Any", value_type))
        self._default = default
        self._default_factory = default_factory
        if default is not _NO_DEFAULT:
            try:
                self._adapter.validate_python(default)
            except ValidationError:
                raise TypeError(
                    f"state property {name!r}: the default does not fit {value_type!r}"
                ) from None

    def __repr__(self) -> str:
        return f"StateProperty({self.scope!s}, {self.name!r}, {self.value_type!r})"

    def default_value(self) -> T:
        """A fresh default value."""
        if self._default_factory is not None:
            return self._default_factory()
        return copy.deepcopy(self._default)

    def decode(self, stored: Any) -> T:
        """The typed value of a stored JSON value.

        Raises:
            StateValueError: The stored value does not fit the type.
        """
        try:
            return self._adapter.validate_python(stored)
        except ValidationError:
            # The value itself is left out of the message: it may be personal data.
            raise StateValueError(
                f"the stored {self.scope} property {self.name!r} does not fit {self.value_type!r}"
            ) from None

    def encode(self, value: T) -> Any:
        """The JSON value stored for ``value``."""
        return self._adapter.dump_python(value, mode="json", by_alias=True)

    def same_value_as(self, other: StateProperty[Any]) -> bool:
        """Whether ``other`` names the same stored value with the same type."""
        return (
            self.scope == other.scope
            and self.name == other.name
            and self.value_type == other.value_type
        )


def user_property(
    name: str,
    value_type: type[T] | UnionType,
    *,
    default: T = _NO_DEFAULT,
    default_factory: Callable[[], T] | None = None,
) -> StateProperty[T]:
    """A property of the user (one user on one channel, across conversations)."""
    return StateProperty(
        StateScope.USER, name, value_type, default=default, default_factory=default_factory
    )


def conversation_property(
    name: str,
    value_type: type[T] | UnionType,
    *,
    default: T = _NO_DEFAULT,
    default_factory: Callable[[], T] | None = None,
) -> StateProperty[T]:
    """A property of the conversation, shared by everyone in it."""
    return StateProperty(
        StateScope.CONVERSATION,
        name,
        value_type,
        default=default,
        default_factory=default_factory,
    )


def private_conversation_property(
    name: str,
    value_type: type[T] | UnionType,
    *,
    default: T = _NO_DEFAULT,
    default_factory: Callable[[], T] | None = None,
) -> StateProperty[T]:
    """A property of one user in one conversation."""
    return StateProperty(
        StateScope.PRIVATE_CONVERSATION,
        name,
        value_type,
        default=default,
        default_factory=default_factory,
    )
