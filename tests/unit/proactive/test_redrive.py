"""Reading a poison message back: the bot's wrapper unwrapped, anything else as it was."""

from __future__ import annotations

import base64
import json

import pytest

from bot.proactive.redrive import (
    NotRedrivableError,
    matches,
    parse_condition,
    read_poisoned,
    target_queue_name,
)

MESSAGE = {"version": 1, "id": "m-1", "user": {"channelId": "msteams", "userId": "29:1"}}


def body(document: object) -> bytes:
    return json.dumps(document).encode()


def test_each_form_of_the_wrapper_gives_back_the_original_text() -> None:
    reason = {"code": "InvalidMessage", "message": "bad", "deliveryId": "m-1"}
    original = json.dumps(MESSAGE)
    forms = [
        {"reason": reason, "message": MESSAGE},
        {"reason": reason, "messageText": original},
        {"reason": reason, "messageBase64": base64.b64encode(original.encode()).decode()},
    ]
    for form in forms:
        poisoned = read_poisoned(body(form))
        assert poisoned.wrapped
        assert json.loads(poisoned.text) == MESSAGE
        assert (poisoned.delivery_id, poisoned.reason_code) == ("m-1", "InvalidMessage")


def test_a_message_the_host_moved_goes_back_byte_for_byte() -> None:
    # Even one with a "reason" field of its own: only the exact wrapper shape is unwrapped.
    raw = '{"version": 1, "id": "m-2", "reason": {"code": "x"}, "message": 1, "extra": true}'
    poisoned = read_poisoned(raw.encode())
    assert not poisoned.wrapped
    assert poisoned.text == raw
    assert (poisoned.delivery_id, poisoned.reason_code) == ("m-2", "MaxDequeueCount")
    assert read_poisoned(b"not json").text == "not json"


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe not utf-8",
        body({"reason": {"code": "InvalidMessage", "truncated": True}, "messageText": "{"}),
        body({"reason": {"code": "InvalidMessage"}, "messageBase64": "/w=="}),
    ],
    ids=["not-utf8", "truncated", "base64-not-utf8"],
)
def test_what_could_never_succeed_is_not_redrivable(data: bytes) -> None:
    with pytest.raises(NotRedrivableError):
        read_poisoned(data)


def test_conditions_match_paths_into_reason_and_message() -> None:
    document = {"reason": {"code": "Expired", "attempts": 3}, "message": MESSAGE}
    assert matches(document, [parse_condition("reason.code=Expired")])
    assert matches(
        document, [parse_condition("reason.attempts=3"), parse_condition("message.id=m-1")]
    )
    assert not matches(document, [parse_condition("reason.code=ConversationNotFound")])
    assert not matches(document, [parse_condition("reason.missing=")])


def test_only_a_poison_queue_has_a_queue_to_go_back_to() -> None:
    assert target_queue_name("proactive-sends-poison") == "proactive-sends"
    assert target_queue_name("proactive-sends-fanout-poison") == "proactive-sends-fanout"
    with pytest.raises(ValueError, match="not a poison queue"):
        target_queue_name("proactive-sends")
