"""The Teams targets: users by object id or name, channels and threads, team audiences."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.broadcast.fanout import recipient_message
from bot.broadcast.ids import Recipient, recipient_token
from bot.broadcast.request import Audience
from bot.proactive.message import (
    TeamsChannelTarget,
    UserTarget,
    message_json_schema,
    parse_message,
    payload_hash,
)
from bot.references.teams import TeamsPlace, channel_root, root_reference
from bot.schema import Activity, ConversationReference

AAD = "6F1B2C3D-0000-4000-8000-00000000ABCD"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CHANNEL = "19:Q7bC@thread.tacv2"
TEAM = "19:8zWl@thread.tacv2"


def message(**target: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "id": "teams-1",
        **target,
        "activities": [{"type": "message", "text": "hi"}],
    }


class TestUsers:
    def test_an_object_id_is_held_in_lower_case(self) -> None:
        user = UserTarget.model_validate(
            {"channelId": "msteams", "tenantId": TENANT, "aadObjectId": AAD}
        )
        assert user.aad_object_id == AAD.lower()
        assert user.user_id is None

    def test_the_same_user_in_either_case_hashes_alike(self) -> None:
        activities = [Activity(type="message", text="hi")]
        upper = UserTarget(channel_id="msteams", tenant_id=TENANT, aad_object_id=AAD)
        lower = UserTarget(channel_id="msteams", tenant_id=TENANT, aad_object_id=AAD.lower())
        other = UserTarget(channel_id="msteams", tenant_id="other", aad_object_id=AAD)
        assert payload_hash(upper, activities) == payload_hash(lower, activities)
        assert payload_hash(upper, activities) != payload_hash(other, activities)

    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"channelId": "msteams"}, "found: none"),
            ({"channelId": "msteams", "aadObjectId": AAD}, "tenantId"),
            ({"channelId": "msteams", "userPrincipalName": "ada@contoso.com"}, "tenantId"),
            ({"channelId": "msteams", "userId": "29:1", "tenantId": TENANT}, "tenantId"),
            (
                {"channelId": "msteams", "userId": "29:1", "aadObjectId": AAD, "tenantId": "t"},
                "userId, aadObjectId",
            ),
            ({"channelId": "slack", "aadObjectId": AAD, "tenantId": TENANT}, "channelId"),
            ({"channelId": "msteams", "aadObjectId": "42", "tenantId": TENANT}, "aadObjectId"),
            (
                {"channelId": "msteams", "userPrincipalName": "ada", "tenantId": TENANT},
                "userPrincipalName",
            ),
        ],
    )
    def test_missing_or_conflicting_fields_are_named(
        self, fields: dict[str, Any], named: str
    ) -> None:
        with pytest.raises(ValidationError) as caught:
            UserTarget.model_validate(fields)
        assert named in str(caught.value)


class TestChannels:
    def test_without_reply_to_id_the_channel_itself_is_addressed(self) -> None:
        target = TeamsChannelTarget(tenant_id=TENANT, team_id=TEAM, channel_id=CHANNEL)
        assert target.conversation_id == CHANNEL

    def test_with_reply_to_id_the_thread_is_addressed(self) -> None:
        target = TeamsChannelTarget(
            tenant_id=TENANT, team_id=TEAM, channel_id=CHANNEL, reply_to_id="1715"
        )
        assert target.conversation_id == f"{CHANNEL};messageid=1715"

    def test_a_thread_id_is_not_a_channel_id(self) -> None:
        with pytest.raises(ValidationError, match="replyToId"):
            TeamsChannelTarget(tenant_id=TENANT, team_id=TEAM, channel_id=f"{CHANNEL};messageid=1")

    def test_a_thread_reference_is_stored_as_its_channel(self) -> None:
        thread = ConversationReference.from_wire(
            {
                "channelId": "msteams",
                "serviceUrl": "https://smba.trafficmanager.net/teams/",
                "conversation": {"id": f"{CHANNEL};messageid=1715", "conversationType": "channel"},
            }
        )
        root = root_reference(thread)
        assert root.conversation is not None
        assert root.conversation.id == CHANNEL
        assert thread.conversation is not None
        assert (thread.conversation.id or "").endswith("1715")  # the original is left alone
        assert channel_root("a:1x2y") == "a:1x2y"

    def test_the_place_comes_from_channel_data(self) -> None:
        place = TeamsPlace.of({"team": {"id": TEAM}, "channel": {"id": CHANNEL}})
        assert place == TeamsPlace(TEAM, CHANNEL)
        assert TeamsPlace.of({"tenant": {"id": TENANT}}) is None
        assert TeamsPlace.of("not an object") is None


class TestMessages:
    @pytest.mark.parametrize(
        "target",
        [
            {"user": {"channelId": "msteams", "tenantId": TENANT, "aadObjectId": AAD}},
            {"user": {"channelId": "msteams", "tenantId": TENANT, "userPrincipalName": "a@b.co"}},
            {"teamsChannel": {"tenantId": TENANT, "teamId": TEAM, "channelId": CHANNEL}},
            {
                "teamsChannel": {
                    "tenantId": TENANT,
                    "teamId": TEAM,
                    "channelId": CHANNEL,
                    "replyToId": "1715",
                }
            },
        ],
    )
    def test_every_new_target_is_a_valid_message(self, target: dict[str, Any]) -> None:
        name = next(iter(target))
        assert parse_message(message(**target)).to_wire()[name] == target[name] | (
            {"aadObjectId": AAD.lower()} if "aadObjectId" in target[name] else {}
        )

    def test_the_schema_says_what_a_user_and_a_channel_need(self) -> None:
        definitions = message_json_schema()["$defs"]
        assert [branch["required"] for branch in definitions["UserTarget"]["oneOf"]] == [
            ["userId"],
            ["aadObjectId", "tenantId"],
            ["userPrincipalName", "tenantId"],
        ]
        assert sorted(definitions["TeamsChannelTarget"]["required"]) == [
            "channelId",
            "teamId",
            "tenantId",
        ]


class TestAudiences:
    def test_a_team_audience_is_teams_only_and_needs_its_tenant(self) -> None:
        audience = Audience.model_validate({"tenantId": TENANT, "teamId": TEAM})
        assert audience.to_wire()["channelId"] == "msteams"
        with pytest.raises(ValidationError, match="tenantId"):
            Audience.model_validate({"channelId": "msteams", "teamId": TEAM})

    @pytest.mark.parametrize(
        "fields",
        [
            {"channelId": "msteams", "users": ["29:1"], "teamId": TEAM},
            {"tenantId": TENANT, "aadObjectIds": [AAD], "teamId": TEAM},
            {"tenantId": TENANT, "teamId": TEAM, "conversationTypes": ["channel"]},
            {"tenantId": TENANT, "conversationTypes": ["thread"]},
        ],
    )
    def test_conflicting_audiences_are_refused(self, fields: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            Audience.model_validate(fields)

    def test_listed_object_ids_are_kept_once_in_lower_case(self) -> None:
        audience = Audience.model_validate({"tenantId": TENANT, "aadObjectIds": [AAD, AAD.lower()]})
        assert audience.to_wire()["aadObjectIds"] == [AAD.lower()]

    @pytest.mark.usefixtures("configured")
    def test_an_object_id_recipient_gets_a_user_message_by_object_id(self) -> None:
        recipient = Recipient("msteams", tenant_id=TENANT, aad_object_id=AAD.lower())
        operation = {"operationId": "op1", "activities": [{"type": "message", "text": "x"}]}
        parsed = parse_message(recipient_message(operation, recipient))
        assert isinstance(parsed.target, UserTarget)
        assert (parsed.target.tenant_id, parsed.target.aad_object_id) == (TENANT, AAD.lower())
        other = Recipient("msteams", tenant_id="other", aad_object_id=AAD.lower())
        assert recipient_token("op1", recipient) != recipient_token("op1", other)
