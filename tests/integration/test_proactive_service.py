"""The proactive API against a real local Connector, token endpoint, Cosmos DB and Azurite.

Covers docs/security-model.md ("The serviceUrl allow-list", "Outbound: the bot's own token"),
the inactive and gone-conversation rules, ordering, full proactive turns, new conversations,
updates and deletes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bot.connector.sender import ConnectorSender
from bot.proactive.errors import (
    AmbiguousConversationError,
    ConversationInactiveError,
    InvalidTargetError,
    ServiceUrlMismatchError,
    ServiceUrlRefusedError,
    UnknownConversationError,
)
from bot.proactive.message import ConversationTarget, UserTarget
from bot.proactive.service import SendFailedError
from bot.references import InactiveReason
from bot.schema import Activity, ConversationReference
from bot.storage.cosmos import container
from bot.throttling.sender import GovernedSender
from bot.turn import BotAdapter, TurnContext
from bot.turn.middleware import NextStep
from tests.integration.test_proactive_support import (
    APP_ID,
    TENANT,
    Proactive,
)

pytestmark = pytest.mark.services


async def test_activities_reach_the_stored_conversation_in_order(proactive: Proactive) -> None:
    stored = await proactive.conversation()

    result = await proactive.service.send_to_conversation(
        stored.conversation_id,
        ["one", Activity(type="message", text="two"), {"type": "message", "text": "three"}],
        channel_id="msteams",
    )

    records = await proactive.control.activities(stored.conversation_id)
    assert [record["activity"]["text"] for record in records] == ["one", "two", "three"]
    assert result.activity_ids == [record["activityId"] for record in records]
    assert (result.channel_id, result.conversation_id) == ("msteams", stored.conversation_id)
    for record in records:
        assert record["method"] == "POST"
        assert record["operation"] == "sendToConversation"
        assert (record["hasAuthorization"], record["authorized"]) == (True, True)
        activity = record["activity"]
        assert activity["conversation"]["id"] == stored.conversation_id
        assert activity["from"]["id"] == f"28:{APP_ID}"
        assert activity["recipient"]["id"] == stored.user_id
        assert "replyToId" not in activity


async def test_a_conversation_id_alone_finds_a_unique_conversation(proactive: Proactive) -> None:
    stored = await proactive.conversation()
    result = await proactive.service.send_to_conversation(stored.conversation_id, ["hi"])
    assert result.channel_id == "msteams"
    assert len(await proactive.control.activities(stored.conversation_id)) == 1


async def test_a_user_is_reached_in_their_personal_conversation(proactive: Proactive) -> None:
    stored = await proactive.conversation()
    assert stored.user_id is not None

    result = await proactive.service.send_to_user("msteams", stored.user_id, ["hello"])

    assert result.conversation_id == stored.conversation_id
    [record] = await proactive.control.activities(stored.conversation_id)
    assert record["activity"]["text"] == "hello"


async def test_an_explicit_reference_with_caller_claims_uses_the_bots_own_token(
    proactive: Proactive,
) -> None:
    """Checklist 22: claims naming another app change nothing; the token is the bot's."""
    conversation_id = f"a:1{uuid.uuid4().hex}"
    await proactive.conversation(conversation_id=conversation_id)
    reference = {
        "channelId": "msteams",
        "serviceUrl": proactive.channel.service_url,
        "conversation": {"id": conversation_id, "tenantId": TENANT},
        "bot": {"id": f"28:{APP_ID}"},
        "user": {"id": "29:1someone"},
        "activityId": "an-old-message",
    }
    claims = {"appid": "00000000-0000-0000-0000-00000000dead", "aud": APP_ID, "ver": "2.0"}

    result = await proactive.service.send_to_reference(reference, ["hi"], claims=claims)

    [record] = await proactive.control.activities(conversation_id)
    assert record["activityId"] == result.activity_ids[0]
    assert record["authorized"] is True
    assert "replyToId" not in record["activity"]
    stats = await proactive.control.token_stats()
    assert (stats["requests"], stats["issued"]) == (1, 1)


async def test_an_ambiguous_conversation_id_needs_the_channel(proactive: Proactive) -> None:
    conversation_id = f"shared:{uuid.uuid4().hex}"
    await proactive.conversation(conversation_id=conversation_id, channel_id="msteams")
    await proactive.conversation(conversation_id=conversation_id, channel_id="webchat")

    with pytest.raises(AmbiguousConversationError) as caught:
        await proactive.service.send_to_conversation(conversation_id, ["hi"])
    assert caught.value.channels == ["msteams", "webchat"]
    assert caught.value.status == 409
    assert await proactive.posts() == []

    await proactive.service.send_to_conversation(conversation_id, ["hi"], channel_id="webchat")
    assert len(await proactive.control.activities(conversation_id)) == 1


@pytest.mark.parametrize(
    "conversation_id", ["a:never-stored", "x' OR 1=1 --", 'x" OR c.kind = "conversation']
)
async def test_unknown_conversations_are_404_without_a_connector_call(
    proactive: Proactive, conversation_id: str
) -> None:
    """Checklist 23 and 26: parameterized lookups; nothing sent, no token."""
    await proactive.conversation()
    for channel_id in (None, "msteams"):
        with pytest.raises(UnknownConversationError):
            await proactive.service.send_to_conversation(
                conversation_id, ["hi"], channel_id=channel_id
            )
    with pytest.raises(UnknownConversationError):
        await proactive.service.send_to_user("msteams", "29:1nobody", ["hi"])
    assert await proactive.posts() == []
    assert await proactive.control.token_requests() == 0


@pytest.mark.parametrize(
    "conversation_id",
    [
        "19:abc@thread.tacv2;messageid=1700000000",
        "a/b\\c?d#e",
        "../../v3/conversations/other",
        "x" * 2000,
    ],
)
async def test_odd_conversation_ids_are_stored_and_sent_literally(
    proactive: Proactive, conversation_id: str
) -> None:
    """Checklist 24 and 25: HMAC document ids, and one encoded path segment."""
    await proactive.conversation(conversation_id=conversation_id)

    await proactive.service.send_to_conversation(conversation_id, ["hi"], channel_id="msteams")

    [record] = await proactive.control.activities(conversation_id)
    assert record["conversationId"] == conversation_id
    assert record["activity"]["conversation"]["id"] == conversation_id


async def test_a_conversation_id_with_control_characters_is_stored_and_found(
    proactive: Proactive,
) -> None:
    """Checklist 24 (the local Connector's router cannot route a decoded newline, so this
    stops at resolution)."""
    conversation_id = "line\nbreak\ttab\r" + "é" * 10
    stored = await proactive.conversation(conversation_id=conversation_id)
    resolved = await proactive.service.resolve(ConversationTarget(conversation_id=conversation_id))
    assert resolved.key == stored.key
    assert conversation_id not in stored.id


async def test_an_inactive_conversation_is_refused_without_a_connector_call(
    proactive: Proactive,
) -> None:
    stored = await proactive.conversation()
    await proactive.store.mark_inactive(
        stored, InactiveReason.UNINSTALLED, now=datetime.now(UTC) + timedelta(seconds=1)
    )

    with pytest.raises(ConversationInactiveError) as caught:
        await proactive.service.send_to_conversation(stored.conversation_id, ["hi"])
    assert caught.value.reason == "Uninstalled"
    with pytest.raises(ConversationInactiveError):
        await proactive.service.send_to_reference(stored.reference, ["hi"])
    assert await proactive.posts() == []
    assert await proactive.control.token_requests() == 0


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (403, "BotNotInConversationRoster"),
        (403, "ConversationBlockedByUser"),
        (403, "BotDisabledByAdmin"),
        (404, "ConversationNotFound"),
    ],
)
async def test_gone_answers_retire_the_conversation_until_the_user_speaks(
    proactive: Proactive, status: int, code: str
) -> None:
    """Checklist 30 and 31: no retry; the reference is inactive with the reason."""
    stored = await proactive.conversation()
    await proactive.control.set_fault(status=status, code=code, times=1)

    with pytest.raises(SendFailedError) as caught:
        await proactive.service.send_to_conversation(stored.conversation_id, ["hi"])
    assert caught.value.code == code
    retired = await proactive.store.get_by_key(stored.key)
    assert retired is not None
    assert (retired.active, retired.reason) == (False, code)

    with pytest.raises(ConversationInactiveError):
        await proactive.service.send_to_conversation(stored.conversation_id, ["again"])
    assert len(await proactive.posts(stored.conversation_id)) == 1

    # The user's next message (a capture newer than the refusal) revives it.
    await proactive.conversation(
        conversation_id=stored.conversation_id,
        user_id=stored.user_id,
        captured_at=datetime.now(UTC) + timedelta(seconds=5),
    )
    await proactive.service.send_to_conversation(stored.conversation_id, ["welcome back"])
    assert [r["activity"]["text"] for r in await proactive.control.activities()] == ["welcome back"]


@pytest.mark.parametrize(
    "service_url",
    [
        "https://evil.example/",
        "http://smba.trafficmanager.net/teams/",
        "https://smba.trafficmanager.net.evil.com/",
        "https://user@smba.trafficmanager.net@evil.com/",
        "https://x.blob.core.windows.net/",
        "http://127.0.0.2:1/",
    ],
)
async def test_a_foreign_service_url_never_gets_a_token(
    proactive: Proactive, service_url: str
) -> None:
    """Checklist 16-19: refused before any token request; nothing is sent anywhere."""
    reference = ConversationReference.from_wire(
        {
            "channelId": "msteams",
            "serviceUrl": service_url,
            "conversation": {"id": f"a:1{uuid.uuid4().hex}"},
        }
    )
    with pytest.raises(ServiceUrlRefusedError):
        await proactive.service.send_to_reference(reference, ["hi"])
    with pytest.raises(ServiceUrlRefusedError):
        await proactive.service.create_conversation(
            "29:1abc", tenant_id=TENANT, service_url=service_url, activities=["hi"]
        )
    assert await proactive.control.token_requests() == 0
    assert await proactive.posts() == []


async def test_a_poisoned_stored_reference_never_gets_a_token(proactive: Proactive) -> None:
    stored = await proactive.conversation(service_url="https://evil.example/teams/")
    with pytest.raises(ServiceUrlRefusedError):
        await proactive.service.send_to_conversation(stored.conversation_id, ["hi"])
    assert await proactive.control.token_requests() == 0


async def test_a_reference_cannot_redirect_a_stored_conversation(proactive: Proactive) -> None:
    """T1: the serviceUrl stored from the channel's authenticated activity wins."""
    stored = await proactive.conversation()
    moved = stored.reference.model_copy(deep=True)
    moved.service_url = proactive.channel.service_url + "elsewhere/"
    with pytest.raises(ServiceUrlMismatchError):
        await proactive.service.send_to_reference(moved, ["hi"])
    assert await proactive.posts() == []


async def test_a_redirect_is_not_followed(proactive: Proactive) -> None:
    """Checklist 20: the token never travels to the redirect's target."""
    stored = await proactive.conversation()
    sink = proactive.channel.state.redirect_sink_url + "/v3/conversations/x/activities"
    await proactive.control.set_fault(status=302, times=1, location=sink)

    with pytest.raises(SendFailedError) as caught:
        await proactive.service.send_to_conversation(stored.conversation_id, ["hi"])

    assert caught.value.code == "UnexpectedRedirect"
    operations = [record["operation"] for record in await proactive.control.requests()]
    assert operations == ["sendToConversation"]


async def test_a_full_proactive_turn_runs_middleware_and_the_handler(
    proactive: Proactive,
) -> None:
    stored = await proactive.conversation()
    seen: list[tuple[str | None, str | None]] = []

    async def middleware(context: TurnContext, next_step: NextStep) -> None:
        seen.append((context.activity.name, context.identity.audience))
        await next_step()

    async def logic(context: TurnContext) -> None:
        await context.send_activity("first")
        await context.send_activity("second")

    adapter = BotAdapter(GovernedSender(ConnectorSender()), middleware=[middleware])
    proactive.service.turns._adapter = lambda: (adapter, logic)

    ids = await proactive.service.continue_conversation(
        ConversationTarget(channel_id="msteams", conversation_id=stored.conversation_id)
    )

    assert seen == [("ContinueConversation", APP_ID)]
    records = await proactive.control.activities(stored.conversation_id)
    assert [record["activity"]["text"] for record in records] == ["first", "second"]
    assert ids == [record["activityId"] for record in records]
    assert all("replyToId" not in record["activity"] for record in records)


async def test_a_gone_conversation_in_a_turn_is_retired(proactive: Proactive) -> None:
    stored = await proactive.conversation()
    await proactive.control.set_fault(status=403, code="ConversationBlockedByUser", times=1)

    async def logic(context: TurnContext) -> None:
        await context.send_activity("hello?")

    with pytest.raises(SendFailedError):
        await proactive.service.continue_conversation(
            UserTarget(channel_id="msteams", user_id=stored.user_id or ""), logic
        )
    retired = await proactive.store.get_by_key(stored.key)
    assert retired is not None
    assert retired.reason == "ConversationBlockedByUser"


async def test_a_conversation_with_a_new_user_is_created_stored_and_written_to(
    proactive: Proactive,
) -> None:
    user_id = f"29:1{uuid.uuid4().hex}"

    created = await proactive.service.create_conversation(
        user_id,
        tenant_id=TENANT,
        service_url=proactive.channel.service_url,
        activities=["Nice to meet you"],
    )

    [conversation] = [
        item
        for item in await proactive.control.conversations()
        if item["id"] == created.conversation_id
    ]
    assert conversation["tenantId"] == TENANT
    assert conversation["conversationType"] == "personal"
    assert user_id in [member["id"] for member in conversation["members"]]
    [sent] = await proactive.control.activities(created.conversation_id)
    assert created.activity_ids == [sent["activityId"]]
    by_user = await proactive.store.get_for_user("msteams", user_id)
    assert by_user is not None
    assert by_user.conversation_id == created.conversation_id

    # Checklist 36: no raw user id in a document id.
    documents = [
        item
        async for item in container("references").query_items(
            "SELECT c.id, c.kind FROM c WHERE c.userId = @user",
            parameters=[{"name": "@user", "value": user_id}],
        )
    ]
    assert {document["kind"] for document in documents} == {"conversation", "user"}
    assert all(user_id not in document["id"] for document in documents)


async def test_teams_needs_a_tenant_to_start_a_conversation(proactive: Proactive) -> None:
    with pytest.raises(InvalidTargetError):
        await proactive.service.create_conversation(
            "29:1abc", service_url=proactive.channel.service_url
        )
    assert await proactive.posts() == []


async def test_a_sent_activity_can_be_updated_and_deleted(proactive: Proactive) -> None:
    stored = await proactive.conversation()
    target = ConversationTarget(channel_id="msteams", conversation_id=stored.conversation_id)
    [activity_id] = (await proactive.service.send(target, ["draft"])).activity_ids
    assert activity_id is not None

    await proactive.service.update_activity(target, activity_id, "final")
    await proactive.service.delete_activity(target, activity_id)
    with pytest.raises(SendFailedError) as caught:
        await proactive.service.update_activity(target, activity_id, "too late")

    requests = await proactive.control.requests(stored.conversation_id)
    assert [(r["method"], r["status"]) for r in requests] == [
        ("POST", 201),
        ("PUT", 200),
        ("DELETE", 200),
        ("PUT", 404),
    ]
    assert requests[1]["activity"]["text"] == "final"
    assert caught.value.code == "ActivityNotFoundInConversation"
    still = await proactive.store.get_by_key(stored.key)
    assert still is not None
    assert still.active is True


async def test_an_idempotent_send_posts_once_and_answers_the_same(proactive: Proactive) -> None:
    stored = await proactive.conversation()
    key = f"send-{uuid.uuid4().hex}"

    first = await proactive.service.send_to_conversation(
        stored.conversation_id, ["once", "twice?"], delivery_id=key
    )
    again = await proactive.service.send_to_conversation(
        stored.conversation_id, ["once", "twice?"], delivery_id=key
    )

    assert again.activity_ids == first.activity_ids
    assert (first.repeated, again.repeated) == (False, True)
    assert len(await proactive.control.activities(stored.conversation_id)) == 2
    receipt = await proactive.service.receipt(key)
    assert receipt is not None
    assert receipt.status == "Delivered"
    assert receipt.activity_ids == first.activity_ids
