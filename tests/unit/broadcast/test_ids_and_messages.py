"""Broadcast ids and the recipients' queue messages: derived, valid, never duplicated."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bot.broadcast.edits import edit_message, edit_page_message
from bot.broadcast.fanout import _parse, page_message, recipient_message
from bot.broadcast.ids import (
    Recipient,
    delivery_id,
    is_operation_id,
    new_operation_id,
    parse_delivery_id,
    parse_edit_delivery_id,
    recipient_token,
)
from bot.broadcast.outcomes import is_broadcast_delivery
from bot.broadcast.request import BroadcastRequest
from bot.broadcast.service import check_message
from bot.proactive.message import ConversationTarget, InvalidMessageError, UserTarget, parse_message

pytestmark = pytest.mark.usefixtures("configured")

CONVERSATION = Recipient("msteams", "a:1x", tenant_id="tenant-a")
USER = Recipient("msteams", user_id="29:1ada")
OPERATION = {
    "operationId": "op-1",
    "activities": [{"type": "message", "text": "Hello"}],
    "notBefore": "2026-11-22T09:00:00.000000Z",
    "expiresAt": None,
}


class TestIds:
    def test_the_same_operation_and_recipient_always_give_the_same_id(self) -> None:
        first = delivery_id("op-1", recipient_token("op-1", CONVERSATION))
        again = delivery_id(
            "op-1", recipient_token("op-1", Recipient("msteams", "a:1x", "tenant-a"))
        )

        assert first == again
        assert first.startswith("bc:op-1:")

    def test_other_operations_recipients_and_tenants_give_other_ids(self) -> None:
        tokens = {
            recipient_token("op-1", CONVERSATION),
            recipient_token("op-2", CONVERSATION),
            recipient_token("op-1", Recipient("msteams", "a:1x", tenant_id="tenant-b")),
            recipient_token("op-1", Recipient("msteams", "a:1y", tenant_id="tenant-a")),
            recipient_token("op-1", USER),
        }

        assert len(tokens) == 5

    def test_an_id_holds_no_raw_recipient_id_and_fits_the_contract(self) -> None:
        operation_id = "x" * 64
        value = delivery_id(operation_id, recipient_token(operation_id, USER))

        assert "ada" not in value
        assert len(value) <= 128
        assert parse_delivery_id(value) == (operation_id, value.rsplit(":", 1)[1])

    @pytest.mark.parametrize(
        "value", ["report-42", "bc:op", "bc:op:xyz", "bc::" + "0" * 40, "bc:a:b:" + "0" * 40]
    )
    def test_other_ids_are_not_broadcast_ids(self, value: str) -> None:
        assert parse_delivery_id(value) is None
        assert not is_broadcast_delivery(value)

    def test_operation_ids(self) -> None:
        assert is_operation_id(new_operation_id())
        assert is_operation_id("release_2026-11")
        assert not is_operation_id("has:colon")
        assert not is_operation_id("x" * 65)
        assert not is_operation_id("")


class TestRecipientMessages:
    def test_a_conversation_recipient_gets_a_valid_contract_message(self) -> None:
        message = parse_message(recipient_message(OPERATION, CONVERSATION))

        assert message.id == delivery_id("op-1", recipient_token("op-1", CONVERSATION))
        assert message.target == ConversationTarget(
            channel_id="msteams", conversation_id="a:1x", tenant_id="tenant-a"
        )
        assert [activity.text for activity in message.activity_list] == ["Hello"]
        assert message.not_before is not None
        assert message.expires_at is None

    def test_a_user_recipient_is_resolved_when_sent(self) -> None:
        message = parse_message(recipient_message(OPERATION, USER))

        assert message.target == UserTarget(channel_id="msteams", user_id="29:1ada")

    def test_page_messages_round_trip(self) -> None:
        assert _parse(page_message("op-1", 3).encode()) == ("op-1", 3, None)
        assert _parse(edit_page_message("op-1", 2, 0).encode()) == ("op-1", 0, 2)

    def test_edit_messages_name_the_recipients_delivery(self) -> None:
        token = "a" * 40
        edit = {"number": 2, "operation": "delete", "activities": None}
        message = json.loads(edit_message("op-1", edit, token))
        assert message == {
            "version": 1,
            "id": f"be:op-1:2:{token}",
            "operation": "delete",
            "deliveryId": f"bc:op-1:{token}",
        }
        assert parse_edit_delivery_id(message["id"]) == ("op-1", 2, token)
        assert parse_message(message).is_edit

    @pytest.mark.parametrize(
        "body",
        [
            b"not json",
            b"[]",
            b'{"version": 2, "operationId": "op", "page": 0}',
            b'{"version": 1, "operationId": "a:b", "page": 0}',
            b'{"version": 1, "operationId": "op", "page": -1}',
            b'{"version": 1, "operationId": "op", "page": true}',
        ],
    )
    def test_invalid_page_messages_are_refused(self, body: bytes) -> None:
        with pytest.raises(InvalidMessageError):
            _parse(body)


class TestRequest:
    def request(self, **fields: object) -> BroadcastRequest:
        body: dict[str, object] = {
            "audience": {"channelId": "msteams", "tenantId": "t"},
            "activity": {"type": "message", "text": "hi"},
        }
        body.update(fields)
        return BroadcastRequest.model_validate(body)

    def test_a_tenant_a_channel_or_users(self) -> None:
        assert self.request().audience.tenant_id == "t"
        assert self.request(audience={"tenantId": "t"}).audience.channel_id is None
        users = self.request(audience={"channelId": "msteams", "users": ["29:a", "29:b", "29:a"]})
        assert users.audience.unique_users() == ["29:a", "29:b"]
        assert users.audience.to_wire()["users"] == ["29:a", "29:b"]

    @pytest.mark.parametrize(
        ("fields", "problem"),
        [
            ({"audience": {}}, "name a channelId"),
            ({"audience": {"users": ["29:a"]}}, "channelId"),
            ({"audience": {"channelId": "m", "tenantId": "t", "users": ["29:a"]}}, "tenantId"),
            ({"audience": {"channelId": "m", "users": []}}, "at least 1"),
            ({"activities": [{"type": "message"}]}, "exactly one"),
            ({"activity": None}, "exactly one"),
            ({"operationId": "a:b"}, "pattern"),
            ({"dryrun": True}, "Extra inputs"),
            ({"notBefore": 1700000000}, "ISO 8601"),
            (
                {"notBefore": "2026-11-22T10:00:00Z", "expiresAt": "2026-11-22T09:00:00Z"},
                "expiresAt must be later",
            ),
        ],
    )
    def test_invalid_requests_name_the_problem(
        self, fields: dict[str, object], problem: str
    ) -> None:
        with pytest.raises(ValidationError, match=problem):
            self.request(**fields)

    def test_the_payload_hash_tells_a_repeat_from_another_broadcast(self) -> None:
        assert self.request().payload_hash() == self.request(dryRun=True).payload_hash()
        assert (
            self.request().payload_hash() != self.request(audience={"tenantId": "u"}).payload_hash()
        )

    def test_activities_too_large_for_a_queue_message_are_refused(self) -> None:
        check_message(self.request())
        huge = self.request(activity={"type": "message", "text": "x" * 50_000})

        with pytest.raises(InvalidMessageError, match="too large"):
            check_message(huge)
