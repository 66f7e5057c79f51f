"""The capture middleware in the turn pipeline, against the Cosmos DB emulator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.references import InactiveReason, ReferenceKey, ReferenceStore
from bot.references.capture import ReferenceCapture
from bot.schema import Activity
from bot.settings import Settings
from bot.storage.cosmos import container
from bot.turn import BotAdapter, ClaimsIdentity, InMemorySender, TurnContext

pytestmark = pytest.mark.services

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
IDENTITY = ClaimsIdentity(
    {"aud": "00000000-0000-0000-0000-0000000000b0", "iss": "https://api.botframework.com"},
    is_authenticated=True,
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def incoming(conversation_id: str, **overrides: Any) -> Activity:
    fields: dict[str, Any] = {
        "type": "message",
        "id": f"m-{uuid.uuid4().hex}",
        "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "from": {"id": "29:user", "aadObjectId": "aad-1"},
        "recipient": {"id": "28:bot"},
        "conversation": {
            "id": conversation_id,
            "conversationType": "personal",
            "tenantId": "tenant-1",
        },
        "text": "hello",
    }
    fields.update(overrides)
    return Activity.model_validate(fields)


async def turn(adapter: BotAdapter, activity: Activity) -> int:
    handled: list[TurnContext] = []

    async def logic(context: TurnContext) -> None:
        handled.append(context)

    await adapter.process_activity(activity, IDENTITY, logic)
    return len(handled)


async def test_turns_capture_retire_and_revive_the_reference(bot_settings: Settings) -> None:
    store, clock = ReferenceStore(), Clock()
    adapter = BotAdapter(InMemorySender()).use(ReferenceCapture(store, clock=clock))
    conversation_id = f"a:{uuid.uuid4().hex}"
    key = ReferenceKey("msteams", conversation_id, "tenant-1")

    await turn(adapter, incoming(conversation_id))
    captured = await store.get_by_key(key)
    clock.now = T0 + timedelta(minutes=1)
    await turn(adapter, incoming(conversation_id, type="installationUpdate", action="remove"))
    uninstalled = await store.get_by_key(key)
    clock.now = T0 + timedelta(minutes=2)
    await turn(adapter, incoming(conversation_id, type="installationUpdate", action="add"))
    reinstalled = await store.get_by_key(key)

    assert captured is not None
    assert captured.active is True
    assert captured.claims == {
        "aud": "00000000-0000-0000-0000-0000000000b0",
        "iss": "https://api.botframework.com",
    }
    assert captured.reference.user is not None
    assert captured.reference.user.aad_object_id == "aad-1"
    assert uninstalled is not None
    assert (uninstalled.active, uninstalled.reason) == (False, InactiveReason.UNINSTALLED)
    assert reinstalled is not None
    assert (reinstalled.active, reinstalled.reason) == (True, None)
    assert reinstalled.last_seen == T0 + timedelta(minutes=2)
    assert (await store.get_for_user("msteams", "29:user")) is not None


async def test_a_broken_store_does_not_break_the_turn(bot_settings: Settings) -> None:
    store = ReferenceStore(container=lambda: container("no-such-container"))
    adapter = BotAdapter(InMemorySender()).use(ReferenceCapture(store))

    handled = await turn(adapter, incoming(f"a:{uuid.uuid4().hex}"))

    assert handled == 1
