"""Typed state properties: defaults, types, JSON."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from bot.state import (
    StateProperty,
    StateScope,
    StateValueError,
    conversation_property,
    private_conversation_property,
    user_property,
)


class Profile(BaseModel):
    name: str = ""
    colours: list[str] = []


def test_helpers_pick_the_scope() -> None:
    assert user_property("a", int, default=0).scope is StateScope.USER
    assert conversation_property("a", int, default=0).scope is StateScope.CONVERSATION
    private = private_conversation_property("a", int, default=0)
    assert private.scope is StateScope.PRIVATE_CONVERSATION


def test_defaults_are_fresh_copies() -> None:
    tags = conversation_property("tags", list[str], default=[])
    profile = user_property("profile", Profile, default_factory=Profile)

    first = tags.default_value()
    first.append("x")

    assert tags.default_value() == []
    assert profile.default_value() is not profile.default_value()


def test_values_round_trip_through_json() -> None:
    profile = user_property("profile", Profile, default_factory=Profile)

    stored = profile.encode(Profile(name="Ada", colours=["red"]))

    assert stored == {"name": "Ada", "colours": ["red"]}
    assert profile.decode(stored) == Profile(name="Ada", colours=["red"])


def test_unions_are_types_too() -> None:
    nickname = user_property("nickname", str | None, default=None)

    assert nickname.decode(None) is None
    assert nickname.decode("Ada") == "Ada"


def test_a_stored_value_of_another_shape_is_a_typed_error_without_the_value() -> None:
    count = conversation_property("count", int, default=0)

    with pytest.raises(StateValueError) as error:
        count.decode("secret-personal-text")

    assert "count" in str(error.value)
    assert "secret-personal-text" not in str(error.value)


@pytest.mark.parametrize(
    "arguments",
    [{}, {"default": 0, "default_factory": int}],
)
def test_exactly_one_default_is_needed(arguments: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        StateProperty(StateScope.USER, "x", int, **arguments)  # type: ignore[arg-type]


def test_a_default_of_the_wrong_type_fails_at_declaration() -> None:
    with pytest.raises(TypeError, match="default"):
        conversation_property("count", int, default="zero")


def test_a_property_needs_a_name() -> None:
    with pytest.raises(ValueError, match="name"):
        conversation_property("", int, default=0)
