"""Per-turn state: values that middleware and handlers share for one turn only."""

from __future__ import annotations

from typing import Generic, TypeVar, cast, overload

T = TypeVar("T")
D = TypeVar("D")


class StateKey(Generic[T]):
    """A typed key of :class:`TurnState`.

    Keys compare by identity, so two modules that both pick the name ``"user"`` never
    collide; the name is only for debugging. Create one per value, at module level::

        REQUEST_STARTED = StateKey[float]("request_started")
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"StateKey({self.name!r})"


class TurnState:
    """A store of typed values that lives as long as one turn."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[StateKey[object], object] = {}

    @overload
    def get(self, key: StateKey[T]) -> T | None: ...

    @overload
    def get(self, key: StateKey[T], default: D) -> T | D: ...

    def get(self, key: StateKey[T], default: object = None) -> object:
        """The value under ``key``, or ``default`` when none was set."""
        return self._values.get(cast("StateKey[object]", key), default)

    def __getitem__(self, key: StateKey[T]) -> T:
        try:
            return cast("T", self._values[cast("StateKey[object]", key)])
        except KeyError:
            raise KeyError(key) from None

    def __setitem__(self, key: StateKey[T], value: T) -> None:
        self._values[cast("StateKey[object]", key)] = value

    def __delitem__(self, key: StateKey[T]) -> None:
        del self._values[cast("StateKey[object]", key)]

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)
