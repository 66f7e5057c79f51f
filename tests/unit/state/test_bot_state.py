"""One turn's bot state over the in-memory storage: lazy reads, writes only when changed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from bot.schema import Activity
from bot.state import (
    BotState,
    MemoryStateStorage,
    StateConflictError,
    StateScope,
    StateScopeUnavailableError,
    conversation_property,
    private_conversation_property,
    scope_id,
    user_property,
)

SECRET = b"bot-state-tests"
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class Profile(BaseModel):
    name: str = ""
    visits: int = 0


COUNT = conversation_property("count", int, default=0)
TOPICS = conversation_property("topics", list[str], default=[])
PROFILE = user_property("profile", Profile, default_factory=Profile)
DRAFT = private_conversation_property("draft", str | None, default=None)


def activity(user: str = "29:ada", conversation: str = "a:one", **overrides: Any) -> Activity:
    fields: dict[str, Any] = {
        "type": "message",
        "channelId": "msteams",
        "from": {"id": user},
        "recipient": {"id": "28:bot"},
        "conversation": {"id": conversation, "tenantId": "tenant-1"},
    }
    fields.update(overrides)
    return Activity.model_validate(fields)


def turn(storage: MemoryStateStorage, *, clock: datetime = T0, **options: Any) -> BotState:
    return BotState(
        options.pop("activity", None) or activity(),
        storage,
        secret=SECRET,
        clock=lambda: clock,
        **options,
    )


async def test_nothing_is_read_until_a_property_is_used() -> None:
    storage = MemoryStateStorage()
    state = turn(storage)

    await state.save()

    assert (storage.reads, storage.writes) == (0, 0)
    assert state.loaded_scopes == frozenset()


async def test_a_scope_is_read_once_per_turn() -> None:
    storage = MemoryStateStorage()
    state = turn(storage)

    await asyncio.gather(state.get(COUNT), state.get(TOPICS), state.get(COUNT))
    await state.get(PROFILE)

    assert storage.reads == 2
    assert state.loaded_scopes == {StateScope.CONVERSATION, StateScope.USER}


async def test_a_changed_value_is_saved_and_read_back_next_turn() -> None:
    storage = MemoryStateStorage()
    first = turn(storage)
    await first.set(COUNT, await first.get(COUNT) + 1)
    await first.save()

    second = turn(storage)

    assert await second.get(COUNT) == 1
    assert storage.writes == 1


async def test_unchanged_state_is_not_written() -> None:
    storage = MemoryStateStorage()
    first = turn(storage)
    await first.set(COUNT, 5)
    await first.save()

    second = turn(storage)
    await second.get(COUNT)
    await second.get(PROFILE)  # a default that is never changed is not written either
    await second.set(COUNT, 5)  # the value it already had
    await second.save()

    assert storage.writes == 1
    assert not second.changed(StateScope.CONVERSATION)


async def test_values_changed_in_place_are_saved() -> None:
    storage = MemoryStateStorage()
    first = turn(storage)
    (await first.get(PROFILE)).name = "Ada"
    (await first.get(TOPICS)).append("weather")
    assert first.changed(StateScope.USER)
    await first.save()

    second = turn(storage)

    assert (await second.get(PROFILE)).name == "Ada"
    assert await second.get(TOPICS) == ["weather"]
    assert storage.writes == 2  # one per changed scope


async def test_saving_twice_writes_only_what_changed_since() -> None:
    storage = MemoryStateStorage()
    state = turn(storage)
    await state.set(COUNT, 1)
    await state.save()
    await state.save()
    await state.set(COUNT, 2)
    await state.save()

    assert storage.writes == 2
    assert await turn(storage).get(COUNT) == 2


async def test_scopes_are_isolated() -> None:
    storage = MemoryStateStorage()
    ada = turn(storage, activity=activity("29:ada", "a:one"))
    await ada.set(COUNT, 7)
    await ada.set(DRAFT, "ada's draft")
    (await ada.get(PROFILE)).name = "Ada"
    await ada.save()

    grace_here = turn(storage, activity=activity("29:grace", "a:one"))
    ada_elsewhere = turn(storage, activity=activity("29:ada", "a:two"))

    assert await grace_here.get(COUNT) == 7  # the conversation is shared
    assert await grace_here.get(DRAFT) is None  # the private conversation is not
    assert (await grace_here.get(PROFILE)).name == ""  # nor is the user
    assert await ada_elsewhere.get(COUNT) == 0
    assert await ada_elsewhere.get(DRAFT) is None
    assert (await ada_elsewhere.get(PROFILE)).name == "Ada"  # the user follows Ada


async def test_documents_are_stored_under_scope_ids_with_json_values() -> None:
    storage = MemoryStateStorage()
    state = turn(storage)
    await state.set(COUNT, 3)
    (await state.get(PROFILE)).visits = 2
    await state.save()

    conversation_id = scope_id(StateScope.CONVERSATION, activity(), secret=SECRET)
    user_id = scope_id(StateScope.USER, activity(), secret=SECRET)
    assert set(storage.documents) == {conversation_id, user_id}
    assert storage.documents[conversation_id].values == {"count": 3}
    assert storage.documents[user_id].values == {"profile": {"name": "", "visits": 2}}
    assert storage.documents[user_id].scope is StateScope.USER


async def test_a_concurrent_write_makes_the_later_save_fail() -> None:
    storage = MemoryStateStorage()
    seed = turn(storage)
    await seed.set(COUNT, 1)
    await seed.save()

    first, second = turn(storage), turn(storage)
    await first.set(COUNT, await first.get(COUNT) + 1)
    await second.set(COUNT, await second.get(COUNT) + 10)
    await first.save()

    with pytest.raises(StateConflictError) as conflict:
        await second.save()

    assert conflict.value.scope == StateScope.CONVERSATION
    assert conflict.value.document_id == scope_id(
        StateScope.CONVERSATION, activity(), secret=SECRET
    )
    assert await turn(storage).get(COUNT) == 2  # the first writer's value stands


async def test_two_first_writes_conflict_too() -> None:
    storage = MemoryStateStorage()
    first, second = turn(storage), turn(storage)
    await first.set(COUNT, 1)
    await second.set(COUNT, 2)
    await first.save()

    with pytest.raises(StateConflictError):
        await second.save()


async def test_delete_and_clear() -> None:
    storage = MemoryStateStorage()
    state = turn(storage)
    await state.set(COUNT, 4)
    await state.set(TOPICS, ["a"])
    await state.save()

    state = turn(storage)
    await state.delete(COUNT)
    await state.save()
    after_delete = turn(storage)
    assert await after_delete.get(COUNT) == 0
    assert await after_delete.get(TOPICS) == ["a"]

    await after_delete.clear(StateScope.CONVERSATION)
    await after_delete.save()
    assert await turn(storage).get(TOPICS) == []


async def test_one_name_with_two_types_in_a_turn_is_refused() -> None:
    state = turn(MemoryStateStorage())
    as_text = conversation_property("count", str, default="")
    await state.get(COUNT)

    with pytest.raises(TypeError, match="two types"):
        await state.get(as_text)


async def test_a_missing_scope_is_a_typed_error() -> None:
    anonymous = activity().model_copy(update={"from_": None})
    state = turn(MemoryStateStorage(), activity=anonymous)

    assert await state.get(COUNT) == 0  # the conversation needs no user
    with pytest.raises(StateScopeUnavailableError):
        await state.get(PROFILE)


async def test_ttl_is_written_per_scope() -> None:
    storage = MemoryStateStorage()
    state = turn(storage, ttl={StateScope.CONVERSATION: timedelta(days=30)})
    await state.set(COUNT, 1)
    (await state.get(PROFILE)).name = "Ada"
    await state.save()

    conversation_id = scope_id(StateScope.CONVERSATION, activity(), secret=SECRET)
    user_id = scope_id(StateScope.USER, activity(), secret=SECRET)
    assert storage.documents[conversation_id].ttl_seconds == 30 * 86_400
    assert storage.documents[user_id].ttl_seconds is None


async def test_state_in_use_is_rewritten_before_it_can_expire() -> None:
    ttl = {StateScope.CONVERSATION: timedelta(days=30)}
    storage = MemoryStateStorage(clock=lambda: T0)
    first = turn(storage, ttl=ttl)
    await first.set(COUNT, 1)
    await first.save()

    soon = turn(storage, ttl=ttl, clock=T0 + timedelta(days=14))
    await soon.get(COUNT)
    await soon.save()
    assert storage.writes == 1

    later = turn(storage, ttl=ttl, clock=T0 + timedelta(days=15))
    await later.get(COUNT)
    await later.save()
    assert storage.writes == 2


async def test_nested_values_changed_in_place_are_saved() -> None:
    bag = conversation_property("bag", dict[str, Any], default_factory=dict)
    storage = MemoryStateStorage()
    first = turn(storage)
    await first.set(bag, {"items": []})
    await first.save()

    second = turn(storage)
    (await second.get(bag))["items"].append(1)
    await second.save()

    assert storage.writes == 2
    assert await turn(storage).get(bag) == {"items": [1]}
