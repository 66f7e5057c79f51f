"""Scope ids: keyed hashes of the activity's channel, tenant, conversation and user."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.schema import Activity, ConversationReference, get_continuation_activity
from bot.state import StateScope, StateScopeUnavailableError, scope_id

SECRET = b"scope-test-secret"
USER = "29:1raw-user-id"
CONVERSATION = "a:1raw-conversation-id"


def activity(**overrides: Any) -> Activity:
    fields: dict[str, Any] = {
        "type": "message",
        "channelId": "msteams",
        "from": {"id": USER},
        "recipient": {"id": "28:bot"},
        "conversation": {"id": CONVERSATION, "tenantId": "tenant-1"},
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
    }
    fields.update(overrides)
    return Activity.model_validate(fields)


@pytest.mark.parametrize("scope", list(StateScope))
def test_ids_are_hmacs_without_raw_ids(scope: StateScope) -> None:
    document_id = scope_id(scope, activity(), secret=SECRET)

    assert re.fullmatch(r"v1-[0-9a-f]{64}", document_id)
    assert scope_id(scope, activity(), secret=SECRET) == document_id
    assert scope_id(scope, activity(), secret=b"other") != document_id


def test_every_scope_has_its_own_id() -> None:
    ids = {scope_id(scope, activity(), secret=SECRET) for scope in StateScope}

    assert len(ids) == 3


def test_the_user_scope_follows_the_user_across_conversations() -> None:
    here = activity()
    elsewhere = activity(conversation={"id": "a:other", "tenantId": "tenant-1"})

    assert scope_id(StateScope.USER, here, secret=SECRET) == scope_id(
        StateScope.USER, elsewhere, secret=SECRET
    )
    for scope in (StateScope.CONVERSATION, StateScope.PRIVATE_CONVERSATION):
        assert scope_id(scope, here, secret=SECRET) != scope_id(scope, elsewhere, secret=SECRET)


def test_conversation_state_is_shared_and_private_state_is_not() -> None:
    ada = activity()
    grace = activity(**{"from": {"id": "29:grace"}})

    conversation = StateScope.CONVERSATION
    private = StateScope.PRIVATE_CONVERSATION
    assert scope_id(conversation, ada, secret=SECRET) == scope_id(
        conversation, grace, secret=SECRET
    )
    assert scope_id(private, ada, secret=SECRET) != scope_id(private, grace, secret=SECRET)
    assert scope_id(StateScope.USER, ada, secret=SECRET) != scope_id(
        StateScope.USER, grace, secret=SECRET
    )


def test_tenants_and_channels_never_share_state() -> None:
    base = scope_id(StateScope.CONVERSATION, activity(), secret=SECRET)
    other_tenant = activity(conversation={"id": CONVERSATION, "tenantId": "tenant-2"})
    other_channel = activity(channelId="webchat")

    assert scope_id(StateScope.CONVERSATION, other_tenant, secret=SECRET) != base
    assert scope_id(StateScope.CONVERSATION, other_channel, secret=SECRET) != base


def test_a_proactive_turn_has_the_same_ids_as_the_conversation() -> None:
    inbound = activity()
    reference = ConversationReference.model_validate(
        {
            "channelId": "msteams",
            "serviceUrl": "https://smba.trafficmanager.net/emea/",
            "conversation": {"id": CONVERSATION, "tenantId": "tenant-1"},
            "user": {"id": USER},
            "bot": {"id": "28:bot"},
        }
    )
    proactive = get_continuation_activity(reference)

    for scope in StateScope:
        assert scope_id(scope, proactive, secret=SECRET) == scope_id(scope, inbound, secret=SECRET)


@pytest.mark.parametrize(
    ("scope", "overrides", "missing"),
    [
        (StateScope.USER, {"from": None}, "from.id"),
        (StateScope.PRIVATE_CONVERSATION, {"from": {"id": ""}}, "from.id"),
        (StateScope.CONVERSATION, {"conversation": None}, "conversation id"),
        (StateScope.CONVERSATION, {"channelId": None}, "channelId"),
    ],
)
def test_a_scope_the_activity_cannot_key_is_a_typed_error(
    scope: StateScope, overrides: dict[str, Any], missing: str
) -> None:
    with pytest.raises(StateScopeUnavailableError, match=missing):
        scope_id(scope, activity(**overrides), secret=SECRET)
