"""Teams' places and lifecycle in the reference store, against the Cosmos DB emulator: threads
stored as their channel, the index by Entra object id, and team events retiring and reviving a
team's conversations (docs/targets.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.references import InactiveReason, ReferenceKey, ReferenceStore
from bot.references.capture import ReferenceCapture
from bot.schema import Activity, ConversationReference
from bot.settings import Settings
from bot.turn import BotAdapter, InMemorySender
from tests.integration.test_references_capture import Clock, turn

pytestmark = pytest.mark.services

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
TENANT = "tenant-1"


def team_activity(team_id: str, channel_id: str, **overrides: Any) -> Activity:
    fields: dict[str, Any] = {
        "type": "message",
        "id": f"m-{uuid.uuid4().hex}",
        "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "from": {"id": "29:user", "aadObjectId": "aad-1"},
        "recipient": {"id": "28:bot"},
        "conversation": {
            "id": channel_id,
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": TENANT,
        },
        "channelData": {
            "team": {"id": team_id},
            "channel": {"id": channel_id},
            "tenant": {"id": TENANT},
        },
        "text": "hello",
    }
    fields.update(overrides)
    return Activity.model_validate(fields)


def team_event(team_id: str, channel_id: str, event_type: str, **overrides: Any) -> Activity:
    activity = team_activity(team_id, team_id, type="conversationUpdate", text=None, **overrides)
    data = {
        "team": {"id": team_id},
        "channel": {"id": channel_id},
        "tenant": {"id": TENANT},
        "eventType": event_type,
    }
    return activity.model_copy(update={"channel_data": data})


async def test_threads_are_stored_once_as_their_channel_with_the_team(
    bot_settings: Settings,
) -> None:
    store = ReferenceStore()
    adapter = BotAdapter(InMemorySender()).use(ReferenceCapture(store, clock=Clock()))
    team, channel = f"19:team-{uuid.uuid4().hex}", f"19:chan-{uuid.uuid4().hex}"

    for root in ("1", "2", "3"):
        thread = {
            "id": f"{channel};messageid={root}",
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": TENANT,
        }
        await turn(adapter, team_activity(team, channel, conversation=thread))

    stored = await store.get_by_key(ReferenceKey("msteams", channel, TENANT))
    assert stored is not None
    assert stored.team_id == team
    assert stored.reference.conversation is not None
    assert stored.reference.conversation.id == channel
    for root in ("1", "2", "3"):
        thread_key = ReferenceKey("msteams", f"{channel};messageid={root}", TENANT)
        assert await store.get_by_key(thread_key) is None
    assert [item.key for item in await store.list_team(TENANT, team)] == [stored.key]


async def test_a_personal_chat_is_found_by_object_id(bot_settings: Settings) -> None:
    store = ReferenceStore()
    object_id = str(uuid.uuid4())
    reference = ConversationReference.from_wire(
        {
            "channelId": "msteams",
            "serviceUrl": "https://smba.trafficmanager.net/emea/",
            "conversation": {
                "id": f"a:{uuid.uuid4().hex}",
                "conversationType": "personal",
                "tenantId": TENANT,
            },
            "user": {"id": f"29:{uuid.uuid4().hex}", "aadObjectId": object_id},
        }
    )
    await store.capture(reference, now=T0)

    found = await store.get_for_aad_user("msteams", TENANT, object_id.upper())
    assert found is not None
    assert found.conversation_id == (reference.conversation.id if reference.conversation else "")
    assert await store.get_for_aad_user("msteams", "other-tenant", object_id) is None

    await store.delete(found)
    assert await store.get_for_aad_user("msteams", TENANT, object_id) is None


async def test_team_events_retire_and_revive_only_what_they_name(bot_settings: Settings) -> None:
    store, clock = ReferenceStore(), Clock()
    adapter = BotAdapter(InMemorySender()).use(ReferenceCapture(store, clock=clock))
    team = f"19:team-{uuid.uuid4().hex}"
    channels = [f"19:chan-{uuid.uuid4().hex}" for _ in range(2)]
    for channel in [team, *channels]:
        await turn(adapter, team_activity(team, channel))
    keys = [ReferenceKey("msteams", item, TENANT) for item in (team, *channels)]

    async def reasons() -> list[str | None]:
        found = [await store.get_by_key(key) for key in keys]
        return [None if item is None or item.active else item.reason for item in found]

    clock.now = T0 + timedelta(minutes=1)
    await turn(adapter, team_event(team, channels[0], "channelDeleted"))
    assert await reasons() == [None, InactiveReason.CHANNEL_DELETED, None]

    deleted = InactiveReason.CHANNEL_DELETED
    clock.now = T0 + timedelta(minutes=2)
    await turn(adapter, team_event(team, team, "teamArchived"))
    # A channel already retired keeps its reason: unarchiving must not bring it back.
    assert await reasons() == [InactiveReason.TEAM_ARCHIVED, deleted, InactiveReason.TEAM_ARCHIVED]

    clock.now = T0 + timedelta(minutes=3)
    await turn(adapter, team_event(team, team, "teamUnarchived"))
    assert await reasons() == [None, deleted, None]

    clock.now = T0 + timedelta(minutes=4)
    removed = team_event(team, team, "teamMemberRemoved", membersRemoved=[{"id": "28:bot"}])
    await turn(adapter, removed)
    assert await reasons() == [InactiveReason.BOT_REMOVED, deleted, InactiveReason.BOT_REMOVED]

    clock.now = T0 + timedelta(minutes=5)
    added = team_event(team, team, "teamMemberAdded", membersAdded=[{"id": "28:bot"}])
    await turn(adapter, added)
    assert await reasons() == [None, deleted, None]
