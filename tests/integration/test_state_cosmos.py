"""Bot state in the Cosmos DB emulator: round trips, 412 conflicts, ids without raw ids."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from bot.samples.counter import CounterBot
from bot.schema import Activity
from bot.settings import Settings
from bot.state import (
    BotState,
    CosmosStateStorage,
    StateConflictError,
    StateScope,
    conversation_property,
    private_conversation_property,
    scope_id,
    user_property,
)
from bot.storage.containers import STATE
from bot.storage.cosmos import container
from tests.transcripts import Transcript, play, transcripts_of
from tests.transcripts.in_process import InProcessChannel

pytestmark = pytest.mark.services


class Profile(BaseModel):
    name: str = ""
    colours: list[str] = []


COUNT = conversation_property("count", int, default=0)
PROFILE = user_property("profile", Profile, default_factory=Profile)
DRAFT = private_conversation_property("draft", str | None, default=None)


def activity(user_id: str, conversation_id: str) -> Activity:
    return Activity.model_validate(
        {
            "type": "message",
            "channelId": "msteams",
            "from": {"id": user_id, "name": "Ada"},
            "recipient": {"id": "28:bot"},
            "conversation": {"id": conversation_id, "tenantId": "tenant-state"},
            "serviceUrl": "https://smba.trafficmanager.net/emea/",
        }
    )


def fresh_activity() -> Activity:
    return activity(f"29:1user-{uuid.uuid4().hex}", f"a:1conversation-{uuid.uuid4().hex}")


async def raw_document(document_id: str) -> dict[str, Any]:
    return dict(await container(STATE.name).read_item(document_id, partition_key=document_id))


async def test_state_round_trips_through_cosmos(bot_settings: Settings) -> None:
    del bot_settings
    storage = CosmosStateStorage()
    turn = fresh_activity()
    first = BotState(turn, storage)
    await first.set(COUNT, 41)
    profile = await first.get(PROFILE)
    profile.name = "Ada"
    profile.colours.append("green")
    await first.set(DRAFT, "half a thought")
    await first.save()

    second = BotState(turn, storage)

    assert await second.get(COUNT) == 41
    assert await second.get(PROFILE) == Profile(name="Ada", colours=["green"])
    assert await second.get(DRAFT) == "half a thought"


async def test_a_missing_scope_reads_as_none(bot_settings: Settings) -> None:
    del bot_settings
    assert await CosmosStateStorage().read(f"v1-{uuid.uuid4().hex * 2}") is None


async def test_a_concurrent_write_is_a_412_conflict(bot_settings: Settings) -> None:
    del bot_settings
    storage = CosmosStateStorage()
    turn = fresh_activity()
    seed = BotState(turn, storage)
    await seed.set(COUNT, 1)
    await seed.save()

    first, second = BotState(turn, storage), BotState(turn, storage)
    await first.set(COUNT, await first.get(COUNT) + 1)
    await second.set(COUNT, await second.get(COUNT) + 100)
    await first.save()

    with pytest.raises(StateConflictError) as conflict:
        await second.save()

    assert conflict.value.scope == StateScope.CONVERSATION
    assert await BotState(turn, storage).get(COUNT) == 2


async def test_concurrent_first_writes_let_exactly_one_win(bot_settings: Settings) -> None:
    del bot_settings
    storage = CosmosStateStorage()
    turn = fresh_activity()
    turns = [BotState(turn, storage) for _ in range(4)]
    for number, state in enumerate(turns):
        await state.set(COUNT, number)

    outcomes = await asyncio.gather(*(state.save() for state in turns), return_exceptions=True)

    conflicts = [outcome for outcome in outcomes if isinstance(outcome, StateConflictError)]
    assert len(conflicts) == 3
    assert outcomes.count(None) == 1
    assert await BotState(turn, storage).get(COUNT) == outcomes.index(None)


async def test_documents_hold_no_raw_ids(bot_settings: Settings) -> None:
    del bot_settings
    storage = CosmosStateStorage()
    user_id = f"29:1raw-user-{uuid.uuid4().hex}"
    conversation_id = f"a:1raw-conversation-{uuid.uuid4().hex}"
    turn = activity(user_id, conversation_id)
    state = BotState(turn, storage, ttl={StateScope.USER: timedelta(days=30)})
    await state.set(COUNT, 1)
    (await state.get(PROFILE)).name = "Ada"
    await state.set(DRAFT, "draft")
    await state.save()

    for scope in StateScope:
        document_id = scope_id(scope, turn)
        document = await raw_document(document_id)
        text = json.dumps(document)
        assert re.fullmatch(r"v1-[0-9a-f]{64}", document["id"])
        assert document["scope"] == scope
        assert user_id not in text
        assert conversation_id not in text
        assert "tenant-state" not in text
    user_document = await raw_document(scope_id(StateScope.USER, turn))
    assert user_document["ttl"] == 30 * 86_400
    assert "ttl" not in await raw_document(scope_id(StateScope.CONVERSATION, turn))


@pytest.mark.parametrize("path", transcripts_of("counter"), ids=lambda path: path.stem)
async def test_counter_transcripts_with_state_in_cosmos(bot_settings: Settings, path: Any) -> None:
    del bot_settings
    storage = CosmosStateStorage()
    channel = InProcessChannel(CounterBot, storage=storage)

    await play(Transcript.load(path), channel)
