"""The proactive queue message: every field, exactly one target, the id, the committed schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.proactive.message import (
    MAX_ACTIVITIES,
    ConversationTarget,
    InvalidMessageError,
    ProactiveMessage,
    UserTarget,
    message_id_of,
    message_json_schema,
    parse_message,
    payload_hash,
)
from bot.schema import Activity, ConversationReference

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "schemas" / "proactive-message.schema.json"
REFERENCE = {
    "channelId": "msteams",
    "serviceUrl": "https://smba.trafficmanager.net/teams/",
    "conversation": {"id": "a:1x2y3z", "tenantId": "tenant-1"},
    "bot": {"id": "28:bot"},
    "user": {"id": "29:1abc"},
}


def message(**fields: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "version": 1,
        "id": "report-2026-11-22-ada",
        "conversation": {"channelId": "msteams", "conversationId": "a:1x2y3z"},
        "activities": [{"type": "message", "text": "Your report is ready"}],
    }
    document.update(fields)
    return {name: value for name, value in document.items() if value is not ...}


def problems(document: Any) -> dict[str, str]:
    with pytest.raises(InvalidMessageError) as caught:
        parse_message(json.dumps(document))
    return {error.field: error.message for error in caught.value.errors}


class TestValid:
    def test_the_contract_example(self) -> None:
        parsed = parse_message(
            json.dumps(message(notBefore="2026-11-22T09:00:00Z", expiresAt="2026-11-22T18:00:00Z"))
        )
        assert parsed.target == ConversationTarget(channel_id="msteams", conversation_id="a:1x2y3z")
        assert parsed.not_before == datetime(2026, 11, 22, 9, tzinfo=UTC)
        assert parsed.expires_at == datetime(2026, 11, 22, 18, tzinfo=UTC)
        assert parsed.activity_list[0].text == "Your report is ready"

    def test_user_and_reference_targets(self) -> None:
        by_user = parse_message(
            message(conversation=..., user={"channelId": "msteams", "userId": "29:1abc"})
        )
        by_reference = parse_message(
            message(conversation=..., reference=REFERENCE, claims={"aud": "x", "ver": "2.0"})
        )
        assert by_user.target == UserTarget(channel_id="msteams", user_id="29:1abc")
        assert isinstance(by_reference.target, ConversationReference)
        assert by_reference.target.service_url == REFERENCE["serviceUrl"]

    def test_times_in_other_zones_are_made_utc(self) -> None:
        parsed = parse_message(message(notBefore="2026-11-22T10:00:00+01:00"))
        assert parsed.not_before == datetime(2026, 11, 22, 9, tzinfo=UTC)
        assert parsed.to_wire()["notBefore"] == "2026-11-22T09:00:00Z"

    def test_round_trip_keeps_unknown_activity_fields(self) -> None:
        activity = {"type": "message", "text": "hi", "channelData": {"x": None}, "custom": 1}
        parsed = parse_message(message(activities=[activity]))
        again = parse_message(parsed.to_json())
        assert again == parsed
        assert json.loads(parsed.to_json())["activities"] == [activity]

    def test_a_byte_order_mark_is_accepted(self) -> None:
        assert parse_message(b"\xef\xbb\xbf" + json.dumps(message()).encode()).id


class TestInvalid:
    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"version": 2}, "version"),
            ({"version": "1"}, "version"),
            ({"version": ...}, "version"),
            ({"id": ...}, "id"),
            ({"id": ""}, "id"),
            ({"id": "has space"}, "id"),
            ({"id": "a/b"}, "id"),
            ({"id": "x" * 129}, "id"),
            ({"activities": []}, "activities"),
            ({"activities": ...}, ""),
            ({"activities": [{"text": "no type"}]}, "activities.0.type"),
            ({"activities": [{"type": ""}]}, "activities.0"),
            ({"activities": [{"type": "message"}] * (MAX_ACTIVITIES + 1)}, "activities"),
            ({"notBefore": "2026-11-22T09:00:00"}, "notBefore"),
            ({"notBefore": 1790000000}, "notBefore"),
            ({"expiresAt": "tomorrow"}, "expiresAt"),
            ({"conversation": {"channelId": "msteams"}}, "conversation.conversationId"),
            ({"conversation": {"conversationId": ""}}, "conversation.conversationId"),
            ({"conversation": {"conversationId": "a", "extra": 1}}, "conversation.extra"),
            ({"notbefore": "2026-11-22T09:00:00Z"}, "notbefore"),
        ],
    )
    def test_each_field_is_checked(self, fields: dict[str, Any], field: str) -> None:
        assert field in problems(message(**fields))

    @pytest.mark.parametrize(
        "targets",
        [
            {"conversation": ...},
            {"user": {"channelId": "msteams", "userId": "29:1"}},
            {"reference": REFERENCE},
            {"conversation": ..., "user": None, "reference": None},
        ],
    )
    def test_exactly_one_target(self, targets: dict[str, Any]) -> None:
        [text] = problems(message(**targets)).values()
        assert "exactly one of conversation, user, teamsChannel, reference" in text

    def test_claims_only_with_reference(self) -> None:
        [text] = problems(message(claims={"aud": "x"})).values()
        assert text == "claims are only allowed with reference"

    @pytest.mark.parametrize("missing", ["channelId", "serviceUrl", "conversation"])
    def test_a_reference_must_be_addressable(self, missing: str) -> None:
        reference = {name: value for name, value in REFERENCE.items() if name != missing}
        found = problems(message(conversation=..., reference=reference))
        assert "a conversation reference needs" in found["reference"]

    def test_expiry_after_not_before(self) -> None:
        found = problems(
            message(notBefore="2026-11-22T09:00:00Z", expiresAt="2026-11-22T09:00:00Z")
        )
        assert list(found.values()) == ["expiresAt must be later than notBefore"]

    @pytest.mark.parametrize(
        "raw", [b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"version": NaN}', b"42"]
    )
    def test_not_a_json_object(self, raw: bytes) -> None:
        with pytest.raises(InvalidMessageError) as caught:
            parse_message(raw)
        assert caught.value.message_id is None

    def test_the_id_of_an_invalid_message_is_kept_when_valid(self) -> None:
        with pytest.raises(InvalidMessageError) as caught:
            parse_message(message(activities=[]))
        assert caught.value.message_id == "report-2026-11-22-ada"

    def test_errors_never_echo_values(self) -> None:
        secret_text = "the text of a private message"
        with pytest.raises(InvalidMessageError) as caught:
            parse_message(message(activities=[{"text": secret_text}], version=secret_text))
        assert secret_text not in str(caught.value)


@given(st.text(max_size=140))
def test_message_id_of_follows_the_pattern(value: str) -> None:
    valid = 1 <= len(value) <= 128 and all(
        c.isascii() and (c.isalnum() or c in "._:-") for c in value
    )
    assert (message_id_of({"id": value}) == value) is valid


def test_the_same_send_hashes_alike_from_the_queue_and_the_api() -> None:
    activities = [Activity(type="message", text="hi")]
    queued = parse_message(message(activities=[{"type": "message", "text": "hi"}]))
    api = ConversationTarget(channel_id="msteams", conversation_id="a:1x2y3z")
    assert queued.payload_hash() == payload_hash(api, activities)
    other = ConversationTarget(channel_id="msteams", conversation_id="a:other")
    assert payload_hash(other, activities) != payload_hash(api, activities)


def test_the_committed_schema_is_what_the_model_generates() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == message_json_schema(), (
        "regenerate: python -m bot.proactive --print-schema > schemas/proactive-message.schema.json"
    )


def test_the_schema_requires_exactly_one_target() -> None:
    schema = message_json_schema()
    assert schema["required"] == ["version", "id"]
    sends = schema["allOf"][1]["else"]["allOf"][0]
    assert [branch["required"] for branch in sends["oneOf"]] == [
        ["conversation"],
        ["user"],
        ["teamsChannel"],
        ["reference"],
    ]
    assert schema["properties"]["id"]["pattern"] == "^[A-Za-z0-9._:-]{1,128}$"
    assert schema["additionalProperties"] is False


def test_models_are_frozen() -> None:
    parsed = parse_message(message())
    with pytest.raises(ValueError, match="frozen"):
        parsed.id = "other"  # type: ignore[misc]
    assert isinstance(parsed, ProactiveMessage)


class TestEdits:
    def edit(self, **fields: Any) -> dict[str, Any]:
        document: dict[str, Any] = {"version": 1, "id": "fix-1", "deliveryId": "report-42"}
        document.update(fields)
        return {name: value for name, value in document.items() if value is not ...}

    def test_an_update_names_the_delivery_and_the_new_activities(self) -> None:
        parsed = parse_message(
            json.dumps(self.edit(operation="update", activities=[{"type": "message"}]))
        )
        assert (parsed.is_edit, parsed.delivery_id, len(parsed.activity_list)) == (
            True,
            "report-42",
            1,
        )

    def test_a_delete_takes_no_activities(self) -> None:
        assert parse_message(json.dumps(self.edit(operation="delete"))).is_edit
        found = problems(self.edit(operation="delete", activities=[{"type": "message"}]))
        assert "takes no activities" in found[""]

    @pytest.mark.parametrize(
        ("fields", "says"),
        [
            ({"operation": "update"}, "needs the new activities"),
            ({"operation": "delete", "deliveryId": ...}, "deliveryId is required"),
            (
                {"operation": "delete", "conversation": {"conversationId": "a:1"}},
                "names no target",
            ),
            ({"operation": "send", "activities": [{"type": "message"}]}, "only allowed with"),
            ({"activities": [{"type": "message"}]}, "only allowed with"),
        ],
    )
    def test_wrong_combinations_are_refused(self, fields: dict[str, Any], says: str) -> None:
        assert says in problems(self.edit(**fields))[""]

    def test_an_unknown_operation_is_refused(self) -> None:
        assert "operation" in problems(self.edit(operation="replace"))

    def test_the_schema_requires_a_delivery_id_for_edits_and_a_target_for_sends(self) -> None:
        [claims_rule, operation_rule] = message_json_schema()["allOf"]
        assert claims_rule["then"]["required"] == ["reference"]
        assert operation_rule["if"]["properties"]["operation"]["enum"] == ["update", "delete"]
        assert operation_rule["then"]["required"] == ["deliveryId"]
        [targets, contents] = operation_rule["else"]["allOf"]
        assert len(targets["oneOf"]) == 4  # conversation, user, teamsChannel, reference
        assert contents["oneOf"] == [{"required": ["activities"]}, {"required": ["event"]}]
