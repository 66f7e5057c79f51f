"""The state middleware: state for every turn, saved at its end, proactive turns included."""

from __future__ import annotations

import pytest

from bot.schema import ConversationReference
from bot.state import (
    BotStateMiddleware,
    MemoryStateStorage,
    StateConflictError,
    bot_state,
    conversation_property,
)
from bot.turn import SORRY_MESSAGE, BotAdapter, ClaimsIdentity, InMemorySender, TurnContext
from tests.unit.turn.builders import build_activity

SECRET = b"middleware-tests"
COUNT = conversation_property("count", int, default=0)


def adapter(storage: MemoryStateStorage, sender: InMemorySender | None = None) -> BotAdapter:
    return BotAdapter(
        sender or InMemorySender(), middleware=[BotStateMiddleware(storage, secret=SECRET)]
    )


async def count_message(context: TurnContext) -> None:
    state = bot_state(context)
    count = await state.get(COUNT) + 1
    await state.set(COUNT, count)
    await context.send_activity(f"{count}")


async def test_state_is_saved_at_the_end_of_each_turn() -> None:
    storage = MemoryStateStorage()
    sender = InMemorySender()
    bot = adapter(storage, sender)

    for _ in range(3):
        await bot.process_activity(build_activity(), ClaimsIdentity.anonymous(), count_message)

    assert sender.texts == ["1", "2", "3"]
    assert storage.writes == 3


async def test_a_turn_that_uses_no_state_costs_nothing() -> None:
    storage = MemoryStateStorage()

    async def echo(context: TurnContext) -> None:
        await context.send_activity("hi")

    await adapter(storage).process_activity(build_activity(), ClaimsIdentity.anonymous(), echo)

    assert (storage.reads, storage.writes) == (0, 0)


async def test_a_failed_turn_saves_nothing() -> None:
    storage = MemoryStateStorage()
    sender = InMemorySender()

    async def fail_after_change(context: TurnContext) -> None:
        await bot_state(context).set(COUNT, 99)
        raise RuntimeError("boom")

    await adapter(storage, sender).process_activity(
        build_activity(), ClaimsIdentity.anonymous(), fail_after_change
    )

    assert storage.writes == 0
    assert sender.texts == [SORRY_MESSAGE]


async def test_a_conflict_reaches_the_turn_error_handler() -> None:
    storage = MemoryStateStorage()
    sender = InMemorySender()
    bot = adapter(storage, sender)

    async def raced(context: TurnContext) -> None:
        await count_message(context)
        # Another turn of the same conversation saves while this one runs.
        await bot.process_activity(build_activity(), ClaimsIdentity.anonymous(), count_message)

    await bot.process_activity(build_activity(), ClaimsIdentity.anonymous(), raced)

    assert sender.texts == ["1", "1", SORRY_MESSAGE]
    assert storage.writes == 2  # the second's write, and the first's refused write


async def test_a_conflict_in_a_proactive_turn_goes_to_the_caller() -> None:
    storage = MemoryStateStorage()
    bot = adapter(storage)
    reference = ConversationReference.from_wire(
        {
            "channelId": "msteams",
            "serviceUrl": "https://smba.trafficmanager.net/emea/",
            "conversation": {"id": "a:conv", "tenantId": "tenant-1"},
            "user": {"id": "29:user"},
            "bot": {"id": "28:bot"},
        }
    )

    async def raced(context: TurnContext) -> None:
        await count_message(context)
        await bot.process_activity(build_activity(), ClaimsIdentity.anonymous(), count_message)

    with pytest.raises(StateConflictError):
        await bot.continue_conversation(reference, ClaimsIdentity.for_bot("28:bot"), raced)


async def test_proactive_turns_share_the_conversation_state() -> None:
    storage = MemoryStateStorage()
    sender = InMemorySender()
    bot = adapter(storage, sender)
    inbound = build_activity()
    await bot.process_activity(inbound, ClaimsIdentity.anonymous(), count_message)

    await bot.continue_conversation(
        TurnContext(inbound, sender).reference, ClaimsIdentity.for_bot("28:bot"), count_message
    )
    await bot.process_activity(inbound, ClaimsIdentity.anonymous(), count_message)

    assert sender.texts == ["1", "2", "3"]


async def test_state_without_the_middleware_is_a_clear_error() -> None:
    context = TurnContext(build_activity(), InMemorySender())

    with pytest.raises(RuntimeError, match="BotStateMiddleware"):
        bot_state(context)
