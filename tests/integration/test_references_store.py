"""The reference store against the Cosmos DB emulator."""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import pytest

from bot.references import (
    AmbiguousReferenceError,
    CaptureOutcome,
    InactiveReason,
    ReferenceKey,
    ReferenceStore,
)
from bot.references.records import user_index_id
from bot.schema.reference import ConversationReference
from bot.settings import Settings
from bot.storage.containers import REFERENCES
from bot.storage.cosmos import container

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy

pytestmark = pytest.mark.services

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CLAIMS = {
    "aud": "00000000-0000-0000-0000-0000000000b0",
    "iss": "https://api.botframework.com",
    "serviceurl": "https://smba.trafficmanager.net/emea/",
    "nbf": "1700000000",
}


def reference(
    conversation_id: str,
    *,
    channel_id: str = "msteams",
    tenant_id: str | None = "tenant-1",
    user_id: str = "29:user",
    conversation_type: str = "personal",
    service_url: str = "https://smba.trafficmanager.net/emea/",
    activity_id: str = "activity-1",
    locale: str = "en-US",
) -> ConversationReference:
    return ConversationReference.from_wire(
        {
            "activityId": activity_id,
            "user": {"id": user_id, "name": "User", "aadObjectId": "aad-user"},
            "bot": {"id": "28:bot", "name": "Bot"},
            "conversation": {
                "id": conversation_id,
                "conversationType": conversation_type,
                "isGroup": conversation_type != "personal",
                "tenantId": tenant_id,
            },
            "channelId": channel_id,
            "serviceUrl": service_url,
            "locale": locale,
        }
    )


def unique(prefix: str = "a:") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def fresh_store(**options: Any) -> ReferenceStore:
    # The per-process memory is off unless a test is about it, so every capture reads.
    options.setdefault("recent_window", timedelta(0))
    return ReferenceStore(**options)


async def raw_document(document_id: str) -> dict[str, Any]:
    return dict(await container(REFERENCES.name).read_item(document_id, partition_key=document_id))


async def test_a_first_capture_creates_the_document_with_ids_in_fields(
    bot_settings: Settings,
) -> None:
    store = fresh_store()
    conversation_id = unique()

    outcome = await store.capture(reference(conversation_id), CLAIMS, now=T0)

    assert outcome is CaptureOutcome.CREATED
    key = ReferenceKey("msteams", conversation_id, "tenant-1")
    document = await raw_document(key.id)
    assert document["kind"] == "conversation"
    assert (document["channelId"], document["conversationId"], document["tenantId"]) == (
        "msteams",
        conversation_id,
        "tenant-1",
    )
    assert document["userId"] == "29:user"
    assert document["conversationType"] == "personal"
    assert document["active"] is True
    assert document["reason"] is None
    assert document["firstSeen"] == document["lastSeen"] == "2026-11-22T09:00:00.000000Z"
    assert document["ttl"] == bot_settings.reference_ttl_days * 86_400
    assert document["claims"] == {
        "aud": CLAIMS["aud"],
        "iss": CLAIMS["iss"],
    }
    assert "activityId" not in document["reference"]
    assert document["reference"]["serviceUrl"] == "https://smba.trafficmanager.net/emea/"


async def test_a_second_identical_capture_writes_nothing(bot_settings: Settings) -> None:
    store = fresh_store()
    conversation_id = unique()
    await store.capture(reference(conversation_id), CLAIMS, now=T0)
    document_id = ReferenceKey("msteams", conversation_id, "tenant-1").id
    before = await raw_document(document_id)
    writes = store.stats.writes

    # A new activity id and a later time are not material changes.
    outcome = await store.capture(
        reference(conversation_id, activity_id="activity-2"), CLAIMS, now=T0 + timedelta(hours=1)
    )

    assert outcome is CaptureOutcome.UNCHANGED
    assert store.stats.writes == writes
    after = await raw_document(document_id)
    assert (after["_etag"], after["_ts"], after["lastSeen"]) == (
        before["_etag"],
        before["_ts"],
        before["lastSeen"],
    )


async def test_a_recent_capture_in_this_process_costs_no_read(bot_settings: Settings) -> None:
    store = ReferenceStore(recent_window=timedelta(seconds=30))
    conversation_id = unique()
    await store.capture(reference(conversation_id), CLAIMS, now=T0)
    reads, writes = store.stats.reads, store.stats.writes

    cached = await store.capture(reference(conversation_id), CLAIMS, now=T0 + timedelta(seconds=5))
    cached_reads, cached_writes = store.stats.reads, store.stats.writes
    changed = await store.capture(
        reference(conversation_id, locale="fr-FR"), CLAIMS, now=T0 + timedelta(seconds=6)
    )
    expired = await store.capture(
        reference(conversation_id, locale="fr-FR"), CLAIMS, now=T0 + timedelta(seconds=40)
    )

    assert cached is CaptureOutcome.CACHED
    assert (cached_reads, cached_writes) == (reads, writes)
    assert changed is CaptureOutcome.UPDATED
    assert expired is CaptureOutcome.UNCHANGED


@pytest.mark.parametrize(
    "change",
    [
        {"service_url": "https://smba.trafficmanager.net/amer/"},
        {"locale": "de-DE"},
        {"user_id": "29:someone-else"},
    ],
)
async def test_a_material_change_updates_the_document(
    bot_settings: Settings, change: dict[str, str]
) -> None:
    store = fresh_store()
    conversation_id = unique()
    await store.capture(reference(conversation_id), CLAIMS, now=T0)

    outcome = await store.capture(
        reference(conversation_id, **change), CLAIMS, now=T0 + timedelta(minutes=1)
    )

    assert outcome is CaptureOutcome.UPDATED
    stored = await store.get("msteams", conversation_id, "tenant-1")
    assert stored is not None
    assert stored.reference == reference(conversation_id, **change).model_copy(
        update={"activity_id": None}
    )
    assert stored.first_seen == T0
    assert stored.last_seen == T0 + timedelta(minutes=1)


async def test_changed_claims_update_the_document(bot_settings: Settings) -> None:
    store = fresh_store()
    conversation_id = unique()
    await store.capture(reference(conversation_id), CLAIMS, now=T0)

    outcome = await store.capture(
        reference(conversation_id), {**CLAIMS, "tid": "tenant-1"}, now=T0 + timedelta(minutes=1)
    )

    assert outcome is CaptureOutcome.UPDATED
    stored = await store.get("msteams", conversation_id, "tenant-1")
    assert stored is not None
    assert stored.claims["tid"] == "tenant-1"


async def test_an_unchanged_reference_is_refreshed_after_the_interval(
    bot_settings: Settings,
) -> None:
    store = fresh_store(refresh_interval=timedelta(days=1))
    conversation_id = unique()
    await store.capture(reference(conversation_id), CLAIMS, now=T0)

    early = await store.capture(reference(conversation_id), CLAIMS, now=T0 + timedelta(hours=23))
    late = await store.capture(reference(conversation_id), CLAIMS, now=T0 + timedelta(days=1))

    assert early is CaptureOutcome.UNCHANGED
    assert late is CaptureOutcome.REFRESHED
    stored = await store.get("msteams", conversation_id, "tenant-1")
    assert stored is not None
    assert stored.last_seen == T0 + timedelta(days=1)


async def test_parallel_captures_leave_the_newest_turn_stored(bot_settings: Settings) -> None:
    conversation_id = unique()
    turns = list(range(20))
    random.Random(7).shuffle(turns)

    async def turn(index: int) -> CaptureOutcome:
        # One store per turn, as if every turn ran in another process.
        return await fresh_store().capture(
            reference(conversation_id, service_url=f"https://smba.trafficmanager.net/r{index}/"),
            CLAIMS,
            now=T0 + timedelta(seconds=index),
        )

    outcomes = await asyncio.gather(*(turn(index) for index in turns))

    stored = await fresh_store().get("msteams", conversation_id, "tenant-1")
    assert stored is not None
    assert stored.reference.service_url == "https://smba.trafficmanager.net/r19/"
    assert stored.last_seen == T0 + timedelta(seconds=19)
    assert stored.first_seen <= T0 + timedelta(seconds=19)
    assert outcomes.count(CaptureOutcome.CREATED) == 1
    assert set(outcomes) <= {CaptureOutcome.CREATED, CaptureOutcome.UPDATED, CaptureOutcome.STALE}


async def test_parallel_captures_of_one_conversation_keep_every_field_consistent(
    bot_settings: Settings,
) -> None:
    conversation_id = unique()
    store = fresh_store()

    async def turn(index: int) -> None:
        await store.capture(
            reference(conversation_id, locale=f"x-{index}", user_id=f"29:u{index}"),
            CLAIMS,
            now=T0 + timedelta(seconds=index),
        )

    await asyncio.gather(*(turn(index) for index in reversed(range(10))))

    document = await raw_document(ReferenceKey("msteams", conversation_id, "tenant-1").id)
    assert document["reference"]["locale"] == "x-9"
    assert document["userId"] == document["reference"]["user"]["id"] == "29:u9"


@pytest.mark.parametrize(
    "conversation_id",
    [
        "a/b\\c?d#e\nf",
        "../../v3/conversations/other",
        "19:" + "x" * 1997,
        "19:é" + "ü" * 999,
    ],
    ids=["illegal-characters", "path", "2000-bytes", "2000-bytes-utf8"],
)
async def test_any_conversation_id_round_trips(
    bot_settings: Settings, conversation_id: str
) -> None:
    store = fresh_store()
    conversation_id = f"{conversation_id}-{uuid.uuid4().hex}"
    tenant_id = "t/\\?#\n"

    await store.capture(reference(conversation_id, tenant_id=tenant_id), CLAIMS, now=T0)

    stored = await store.get("msteams", conversation_id, tenant_id)
    assert stored is not None
    assert stored.conversation_id == conversation_id
    assert stored.tenant_id == tenant_id
    assert stored.reference.conversation is not None
    assert stored.reference.conversation.id == conversation_id
    assert [match.id for match in await store.find_by_conversation_id(conversation_id)] == [
        stored.id
    ]


async def test_no_id_or_partition_key_holds_the_user_id_or_its_md5(
    bot_settings: Settings,
) -> None:
    store = fresh_store()
    conversation_id = unique()
    user_id = "29:abc"
    await store.capture(reference(conversation_id, user_id=user_id), CLAIMS, now=T0)
    md5 = hashlib.md5(user_id.encode()).hexdigest()  # noqa: S324 - what must not appear

    documents = [
        await raw_document(ReferenceKey("msteams", conversation_id, "tenant-1").id),
        await raw_document(user_index_id("msteams", user_id)),
    ]

    for document in documents:
        # The container is partitioned on /id: the id is the partition key.
        assert REFERENCES.partition_key == "/id"
        assert user_id not in document["id"]
        assert md5 not in document["id"]
        assert document["id"].startswith("v1-")
        assert document["userId"] == user_id


async def test_an_injection_attempt_is_just_an_unknown_id(bot_settings: Settings) -> None:
    store = fresh_store()
    await store.capture(reference(unique()), CLAIMS, now=T0)
    hostile = "x' OR 1=1 --"

    assert await store.find_by_conversation_id(hostile) == []
    assert await store.get("msteams", hostile) is None
    assert await store.get(hostile, hostile, hostile) is None
    page = await store.list(channel_id=hostile)
    assert page.items == []


async def test_inactive_references_are_revived_only_by_newer_turns(
    bot_settings: Settings,
) -> None:
    store = fresh_store()
    conversation_id = unique()
    await store.capture(reference(conversation_id), CLAIMS, now=T0)
    key = ReferenceKey("msteams", conversation_id, "tenant-1")

    marked = await store.mark_inactive(
        key, InactiveReason.CONVERSATION_BLOCKED_BY_USER, now=T0 + timedelta(minutes=10)
    )
    late_turn = await store.capture(
        reference(conversation_id), CLAIMS, now=T0 + timedelta(minutes=5)
    )
    still = await store.get_by_key(key)
    revived = await store.capture(reference(conversation_id), CLAIMS, now=T0 + timedelta(hours=1))
    after = await store.get_by_key(key)

    assert marked is not None
    assert (marked.active, marked.reason) == (False, "ConversationBlockedByUser")
    assert marked.inactive_at == T0 + timedelta(minutes=10)
    assert late_turn is CaptureOutcome.STALE
    assert still is not None
    assert still.active is False
    assert revived is CaptureOutcome.REVIVED
    assert after is not None
    assert (after.active, after.reason, after.inactive_at) == (True, None, None)


async def test_an_inactivation_older_than_the_last_turn_changes_nothing(
    bot_settings: Settings,
) -> None:
    store = fresh_store()
    conversation_id = unique()
    await store.capture(reference(conversation_id), CLAIMS, now=T0 + timedelta(hours=1))

    result = await store.mark_inactive(
        reference(conversation_id), InactiveReason.BOT_NOT_IN_CONVERSATION_ROSTER, now=T0
    )

    assert result is not None
    assert result.active is True


async def test_marking_again_for_the_same_reason_writes_nothing(bot_settings: Settings) -> None:
    store = fresh_store()
    conversation_id = unique()
    await store.capture(reference(conversation_id), CLAIMS, now=T0)
    key = ReferenceKey("msteams", conversation_id, "tenant-1")
    await store.mark_inactive(key, InactiveReason.UNINSTALLED, now=T0 + timedelta(seconds=1))
    writes = store.stats.writes

    again = await store.mark_inactive(
        key, InactiveReason.UNINSTALLED, now=T0 + timedelta(seconds=2)
    )

    assert again is not None
    assert again.inactive_at == T0 + timedelta(seconds=1)
    assert store.stats.writes == writes
    assert await store.mark_inactive(ReferenceKey("msteams", unique()), "Gone", now=T0) is None


async def test_parallel_inactivation_and_turns_settle_on_the_newest_event(
    bot_settings: Settings,
) -> None:
    conversation_id = unique()
    await fresh_store().capture(reference(conversation_id), CLAIMS, now=T0)
    key = ReferenceKey("msteams", conversation_id, "tenant-1")

    async def turn(seconds: int) -> object:
        return await fresh_store().capture(
            reference(conversation_id), CLAIMS, now=T0 + timedelta(seconds=seconds)
        )

    async def uninstall() -> object:
        return await fresh_store().mark_inactive(
            key, InactiveReason.UNINSTALLED, now=T0 + timedelta(seconds=100)
        )

    await asyncio.gather(*(turn(seconds) for seconds in range(1, 100, 7)), uninstall())

    stored = await fresh_store().get_by_key(key)
    assert stored is not None
    assert (stored.active, stored.reason) == (False, "Uninstalled")


async def test_a_user_is_found_through_the_index_of_their_latest_personal_conversation(
    bot_settings: Settings,
) -> None:
    store = fresh_store()
    user_id = unique("29:")
    first, second, group = unique(), unique(), unique("19:")
    await store.capture(reference(first, user_id=user_id), CLAIMS, now=T0)
    found_first = await store.get_for_user("msteams", user_id)
    await store.capture(
        reference(group, user_id=user_id, conversation_type="groupChat"),
        CLAIMS,
        now=T0 + timedelta(minutes=1),
    )
    after_group = await store.get_for_user("msteams", user_id)
    await store.capture(reference(second, user_id=user_id), CLAIMS, now=T0 + timedelta(minutes=2))
    # An older turn of the first conversation does not take the index back.
    await store.capture(
        reference(first, user_id=user_id, locale="fr-FR"), CLAIMS, now=T0 + timedelta(seconds=30)
    )
    found_second = await store.get_for_user("msteams", user_id)

    assert found_first is not None
    assert found_first.conversation_id == first
    assert after_group is not None
    assert after_group.conversation_id == first
    assert found_second is not None
    assert found_second.conversation_id == second
    assert found_second.personal is True
    assert await store.get_for_user("msteams", unique("29:")) is None
    assert await store.get_for_user("webchat", user_id) is None


async def test_a_group_turn_by_another_user_is_not_a_material_change(
    bot_settings: Settings,
) -> None:
    store = fresh_store()
    group = unique("19:")
    await store.capture(reference(group, conversation_type="channel"), CLAIMS, now=T0)

    outcome = await store.capture(
        reference(group, conversation_type="channel", user_id="29:other"),
        CLAIMS,
        now=T0 + timedelta(minutes=1),
    )

    assert outcome is CaptureOutcome.UNCHANGED


async def test_a_conversation_is_found_without_its_tenant_unless_ambiguous(
    bot_settings: Settings,
) -> None:
    store = fresh_store()
    conversation_id = unique()
    await store.capture(reference(conversation_id, tenant_id="tenant-a"), CLAIMS, now=T0)
    untenanted = unique()
    await store.capture(reference(untenanted, channel_id="webchat", tenant_id=None), CLAIMS, now=T0)

    single = await store.get("msteams", conversation_id)
    plain = await store.get("webchat", untenanted)
    await store.capture(reference(conversation_id, tenant_id="tenant-b"), CLAIMS, now=T0)

    assert single is not None
    assert single.tenant_id == "tenant-a"
    assert plain is not None
    assert plain.tenant_id is None
    with pytest.raises(AmbiguousReferenceError) as raised:
        await store.get("msteams", conversation_id)
    assert {match.tenant_id for match in raised.value.matches} == {"tenant-a", "tenant-b"}
    assert len(await store.find_by_conversation_id(conversation_id)) == 2
    assert await store.get("msteams", conversation_id, "tenant-c") is None


async def test_find_by_conversation_id_spans_channels(bot_settings: Settings) -> None:
    store = fresh_store()
    conversation_id = unique()
    await store.capture(reference(conversation_id, channel_id="msteams"), CLAIMS, now=T0)
    await store.capture(
        reference(conversation_id, channel_id="webchat", tenant_id=None), CLAIMS, now=T0
    )

    matches = await store.find_by_conversation_id(conversation_id)

    assert sorted(match.channel_id for match in matches) == ["msteams", "webchat"]


async def test_list_pages_through_every_match(bot_settings: Settings) -> None:
    store = fresh_store()
    channel_id = f"test-{uuid.uuid4().hex}"
    conversation_ids = [unique() for _ in range(25)]
    for conversation_id in conversation_ids:
        await store.capture(reference(conversation_id, channel_id=channel_id), CLAIMS, now=T0)
    await store.mark_inactive(
        ReferenceKey(channel_id, conversation_ids[0], "tenant-1"), "Gone", now=T0
    )

    seen: list[str] = []
    sizes: list[int] = []
    continuation: str | None = None
    for _ in range(10):
        page = await store.list(channel_id=channel_id, page_size=10, continuation=continuation)
        seen += [item.conversation_id for item in page.items]
        sizes.append(len(page.items))
        continuation = page.continuation
        if continuation is None:
            break
    inactive = await store.list(channel_id=channel_id, active=False)
    in_tenant = await store.list(channel_id=channel_id, tenant_id="tenant-1", page_size=100)

    assert sorted(seen) == sorted(conversation_ids)
    assert max(sizes) <= 10
    assert continuation is None
    assert [item.conversation_id for item in inactive.items] == [conversation_ids[0]]
    assert len(in_tenant.items) == 25


async def test_delete_removes_the_reference_and_its_user_index(bot_settings: Settings) -> None:
    store = fresh_store()
    conversation_id, user_id = unique(), unique("29:")
    await store.capture(reference(conversation_id, user_id=user_id), CLAIMS, now=T0)
    key = ReferenceKey("msteams", conversation_id, "tenant-1")

    assert await store.delete(key) is True
    assert await store.delete(key) is False
    assert await store.get_by_key(key) is None
    assert await store.get_for_user("msteams", user_id) is None


async def test_a_deleted_reference_is_created_again_by_the_next_turn(
    bot_settings: Settings,
) -> None:
    store = ReferenceStore(recent_window=timedelta(seconds=30))
    conversation_id = unique()
    await store.capture(reference(conversation_id), CLAIMS, now=T0)
    await store.delete(reference(conversation_id))

    outcome = await store.capture(reference(conversation_id), CLAIMS, now=T0 + timedelta(seconds=1))

    assert outcome is CaptureOutcome.CREATED


class CountingContainer:
    """The real container, counting Cosmos DB calls by kind."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        self.calls[name] = self.calls.get(name, 0) + 1
        return getattr(self.inner, name)


async def test_a_conversation_id_without_its_tenant_costs_point_reads_only(
    bot_settings: Settings,
) -> None:
    counting = CountingContainer(container(REFERENCES.name))
    store = ReferenceStore(container=lambda: cast("ContainerProxy", counting))
    conversation_id = unique()
    await store.capture(reference(conversation_id, tenant_id="tenant-a"), CLAIMS, now=T0)
    counting.calls.clear()

    found = await store.get("msteams", conversation_id)

    assert found is not None
    assert found.tenant_id == "tenant-a"
    # The untenanted id misses, the conversation index names the document, it is read.
    assert counting.calls == {"read_item": 3}


async def test_a_reference_stored_before_the_index_is_found_once_by_query_then_by_reads(
    bot_settings: Settings,
) -> None:
    from bot.references.records import conversation_index_id

    store = fresh_store()
    conversation_id = unique()
    await store.capture(reference(conversation_id, tenant_id="tenant-a"), CLAIMS, now=T0)
    index_id = conversation_index_id("msteams", conversation_id)
    await container(REFERENCES.name).delete_item(index_id, partition_key=index_id)

    first = await store.get("msteams", conversation_id)
    queries = store.stats.queries
    second = await store.get("msteams", conversation_id)

    assert first is not None
    assert second is not None
    assert second.tenant_id == "tenant-a"
    assert queries == 1
    assert store.stats.queries == 1  # the first lookup repaired the index
