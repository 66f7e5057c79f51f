"""Parse → serialize gives back exactly what the channel sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
    ConversationResourceResponse,
    ConversationsResult,
    ErrorResponse,
    ExpectedReplies,
    InvokeResponse,
    PagedMembersResult,
    ResourceResponse,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "activities"
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_fixture_is_there() -> None:
    names = {path.stem for path in FIXTURE_FILES}
    assert names >= {
        "teams_personal_message",
        "teams_channel_message",
        "teams_group_chat_message",
        "teams_installation_update",
        "teams_members_added",
        "teams_invoke_adaptive_card_action",
        "webchat_message",
        "directline_message",
        "slack_message",
        "emulator_conversation_update",
    }


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
class TestFixtureRoundTrip:
    def test_to_wire_gives_the_same_json(self, path: Path) -> None:
        original = _load(path)
        assert Activity.from_wire(original).to_wire() == original

    def test_model_dump_by_alias_exclude_none_gives_the_same_json(self, path: Path) -> None:
        original = _load(path)
        activity = Activity.model_validate(original)
        dumped = activity.model_dump(mode="json", by_alias=True, exclude_none=True)
        assert dumped == original

    def test_json_text_gives_the_same_json(self, path: Path) -> None:
        original = _load(path)
        assert json.loads(Activity.from_wire(original).to_wire_json()) == original

    def test_a_second_round_trip_changes_nothing(self, path: Path) -> None:
        once = Activity.from_wire(_load(path)).to_wire()
        assert Activity.from_wire(once).to_wire() == once


class TestFixtureContent:
    def test_teams_channel_message_fields_are_typed(self) -> None:
        activity = Activity.from_wire(_load(FIXTURES / "teams_channel_message.json"))
        assert activity.type == ActivityTypes.MESSAGE
        assert activity.conversation is not None
        assert activity.conversation.conversation_type == "channel"
        assert activity.conversation.tenant_id == "72f988bf-86f1-41af-91ab-2d7cd011db47"
        assert activity.from_ is not None
        assert activity.from_.aad_object_id == "97b1ec61-45bf-453c-9059-6e8984e0cef4"
        assert activity.channel_data["team"]["name"] == "Contoso Marketing"
        assert activity.channel_data["channel"]["name"] == "Announcements"
        assert activity.entities is not None
        mention = activity.entities[0]
        assert mention.type == "mention"
        assert (mention.model_extra or {})["text"] == "<at>Proactive Bot</at>"

    def test_teams_timestamp_keeps_seven_fractional_digits(self) -> None:
        activity = Activity.from_wire(_load(FIXTURES / "teams_personal_message.json"))
        assert activity.timestamp == "2024-05-14T09:21:37.2185713Z"
        assert activity.local_timestamp == "2024-05-14T11:21:37.2185713+02:00"
        assert activity.to_wire()["timestamp"] == "2024-05-14T09:21:37.2185713Z"

    def test_nulls_inside_channel_data_and_value_are_kept(self) -> None:
        slack = _load(FIXTURES / "slack_message.json")
        wire = Activity.from_wire(slack).to_wire()
        assert wire["channelData"]["SlackMessage"]["event"]["thread_ts"] is None
        invoke = _load(FIXTURES / "teams_invoke_adaptive_card_action.json")
        assert Activity.from_wire(invoke).to_wire()["value"]["action"]["data"]["comment"] is None

    def test_empty_strings_are_kept(self) -> None:
        webchat = _load(FIXTURES / "webchat_message.json")
        assert Activity.from_wire(webchat).to_wire()["from"]["name"] == ""


class TestUnknownFields:
    def test_unknown_top_level_and_nested_fields_are_kept_under_their_wire_names(self) -> None:
        data = {
            "type": "message",
            "newProtocolField": {"a": 1},
            "from": {"id": "u1", "userPrincipalName": "megan@contoso.com"},
            "conversation": {"id": "c1", "someFlag": True},
            "attachments": [{"contentType": "x", "layoutHint": "wide"}],
        }
        activity = Activity.from_wire(data)
        assert (activity.model_extra or {})["newProtocolField"] == {"a": 1}
        assert activity.to_wire() == data

    def test_unknown_field_with_explicit_null_is_written_back(self) -> None:
        data = {"type": "message", "futureField": None, "from": {"id": "u1", "tag": None}}
        assert Activity.from_wire(data).to_wire() == data

    def test_declared_field_set_to_none_is_left_out(self) -> None:
        activity = Activity(type="message", text=None, locale="en-US")
        assert activity.to_wire() == {"type": "message", "locale": "en-US"}

    def test_unknown_activity_type_is_accepted_and_kept(self) -> None:
        data = {"type": "somethingNew", "id": "1"}
        activity = Activity.from_wire(data)
        assert activity.type == "somethingNew"
        assert activity.to_wire() == data


class TestNames:
    def test_from_is_from_underscore_in_python(self) -> None:
        activity = Activity(type="message", from_=ChannelAccount(id="u1"))
        assert activity.to_wire() == {"type": "message", "from": {"id": "u1"}}
        assert Activity.from_wire({"type": "message", "from": {"id": "u2"}}).from_ == (
            ChannelAccount(id="u2")
        )

    def test_snake_case_names_are_accepted_and_written_camel_case(self) -> None:
        activity = Activity.model_validate(
            {"type": "message", "service_url": "https://x", "reply_to_id": "9"}
        )
        assert activity.to_wire() == {
            "type": "message",
            "serviceUrl": "https://x",
            "replyToId": "9",
        }

    def test_enum_members_serialize_as_their_wire_strings(self) -> None:
        activity = Activity(type=ActivityTypes.CONVERSATION_UPDATE)
        assert activity.to_wire() == {"type": "conversationUpdate"}
        assert json.loads(activity.to_wire_json()) == {"type": "conversationUpdate"}

    def test_reference_uses_bot_as_the_wire_name(self) -> None:
        reference = ConversationReference(bot=ChannelAccount(id="b"), channel_id="msteams")
        assert reference.to_wire() == {"bot": {"id": "b"}, "channelId": "msteams"}

    def test_response_models_round_trip(self) -> None:
        replies = ExpectedReplies(activities=[Activity(type="message", text="hi")])
        assert replies.to_wire() == {"activities": [{"type": "message", "text": "hi"}]}
        assert ExpectedReplies.from_wire(replies.to_wire()) == replies
        assert InvokeResponse(status=200, body={"ok": True}).to_wire() == {
            "status": 200,
            "body": {"ok": True},
        }


_json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_unknown_names = st.text(alphabet="abcdefghijXYZ", min_size=1, max_size=8).filter(
    lambda name: (
        name not in Activity.model_fields
        and name not in {field.alias for field in Activity.model_fields.values()}
    )
)


@settings(max_examples=60, deadline=None)
@given(extra=st.dictionaries(_unknown_names, _json_values, max_size=4), channel_data=_json_values)
def test_any_unknown_fields_and_channel_data_round_trip(
    extra: dict[str, Any], channel_data: Any
) -> None:
    data: dict[str, Any] = {"type": "message", **extra}
    if channel_data is not None:
        data["channelData"] = channel_data
    assert Activity.from_wire(data).to_wire() == data


class TestConnectorBodies:
    def test_error_response(self) -> None:
        data = {
            "error": {
                "code": "ConversationBlockedByUser",
                "message": "User blocked the conversation with the bot.",
                "innerHttpError": {"statusCode": 403, "body": {"detail": None}},
            }
        }
        response = ErrorResponse.from_wire(data)
        assert response.error is not None
        assert response.error.code == "ConversationBlockedByUser"
        assert response.error.inner_http_error is not None
        assert response.error.inner_http_error.status_code == 403
        assert response.to_wire() == data

    def test_create_conversation_round_trip(self) -> None:
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id="28:bot"),
            members=[ChannelAccount(id="29:user")],
            tenant_id="tenant-1",
            activity=Activity(type="message", text="hello"),
            channel_data={"tenant": {"id": "tenant-1"}},
        )
        assert parameters.to_wire() == {
            "isGroup": False,
            "bot": {"id": "28:bot"},
            "members": [{"id": "29:user"}],
            "tenantId": "tenant-1",
            "activity": {"type": "message", "text": "hello"},
            "channelData": {"tenant": {"id": "tenant-1"}},
        }
        answer = {"id": "a:new", "activityId": "1:1", "serviceUrl": "https://x/"}
        assert ConversationResourceResponse.from_wire(answer).to_wire() == answer

    def test_teams_members_keep_their_extra_fields(self) -> None:
        data = {
            "continuationToken": "token-2",
            "members": [
                {
                    "id": "29:user",
                    "name": "Megan Bowen",
                    "aadObjectId": "aad-1",
                    "givenName": "Megan",
                    "surname": "Bowen",
                    "email": "megan@contoso.com",
                    "userPrincipalName": "megan@contoso.com",
                    "tenantId": "tenant-1",
                    "userRole": "user",
                }
            ],
        }
        page = PagedMembersResult.from_wire(data)
        assert page.members is not None
        assert page.members[0].aad_object_id == "aad-1"
        assert page.to_wire() == data
        listing = {"conversations": [{"id": "a:1", "members": [{"id": "29:user"}]}]}
        assert ConversationsResult.from_wire(listing).to_wire() == listing

    def test_resource_response_may_lack_an_id(self) -> None:
        assert ResourceResponse.from_wire({}).id is None
        assert ResourceResponse(id="1:abc").to_wire() == {"id": "1:abc"}
