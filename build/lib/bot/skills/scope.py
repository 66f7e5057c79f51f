"""Each skill's own state: a namespace per skill id in the assistant's state documents.

The Virtual Assistant gives every skill a state container of its own inside the assistant's
store. Here a skill's properties are ordinary state properties whose names start with
``skill.<id>.``, so they live in the same documents as the assistant's (one read and at most
one write per scope per turn, with the same optimistic concurrency), and two skills can never
read or overwrite each other's values, whatever names they pick.
"""

from __future__ import annotations

from collections.abc import Callable
from types import UnionType
from typing import Any, TypeVar

from bot.state import StateProperty, StateScope

T = TypeVar("T")

NAMESPACE_PREFIX = "skill."
_UNSET: Any = object()


def namespace(skill_id: str) -> str:
    """The prefix of a skill's property names: ``skill.<id>.``."""
    return f"{NAMESPACE_PREFIX}{skill_id}."


def skill_property(
    skill_id: str,
    scope: StateScope,
    name: str,
    value_type: type[T] | UnionType,
    *,
    default: T = _UNSET,
    default_factory: Callable[[], T] | None = None,
) -> StateProperty[T]:
    """A state property in a skill's namespace.

    Args:
        skill_id: The skill.
        scope: User, conversation or private conversation state.
        name: The name within the skill (``pending``); stored as ``skill.<id>.pending``.
        value_type: What it holds.
        default: The value when none is stored.
        default_factory: Makes the value when none is stored (instead of ``default``).

    Raises:
        ValueError: ``name`` is empty, or neither or both defaults were given.
    """
    if not name:
        raise ValueError("a skill state property needs a name")
    full_name = namespace(skill_id) + name
    if default is _UNSET:
        return StateProperty(scope, full_name, value_type, default_factory=default_factory)
    return StateProperty(
        scope, full_name, value_type, default=default, default_factory=default_factory
    )
