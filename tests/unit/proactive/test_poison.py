"""What a poisoned message looks like: the original, as it came, and the reason."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from bot.proactive.enqueue import MAX_ENCODED_BYTES, encoded_size
from bot.proactive.message import FieldError
from bot.proactive.poison import PoisonReason, poison_text

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


def poison(original: bytes, reason: PoisonReason | None = None) -> dict[str, object]:
    text = poison_text(
        original,
        reason or PoisonReason("Expired", "expiresAt passed", delivery_id="r-1", attempts=1),
        queue_name="proactive-sends",
        dequeue_count=1,
        now=NOW,
    )
    assert encoded_size(text) <= MAX_ENCODED_BYTES
    document = json.loads(text)
    assert isinstance(document, dict)
    return document


def test_a_json_message_is_kept_as_json_with_the_reason() -> None:
    original = {"version": 1, "id": "r-1", "activities": [{"type": "message"}]}
    document = poison(json.dumps(original).encode())
    assert document["message"] == original
    assert document["reason"] == {
        "code": "Expired",
        "message": "expiresAt passed",
        "deliveryId": "r-1",
        "attempts": 1,
        "queue": "proactive-sends",
        "poisonedAt": "2026-11-22T09:00:00.000000Z",
        "dequeueCount": 1,
    }


def test_invalid_json_is_kept_as_text_and_the_fields_are_named() -> None:
    reason = PoisonReason(
        "InvalidMessage",
        "the message is not valid JSON",
        errors=[FieldError(field="", message="not JSON")],
    )
    document = poison(b'{"version": 1, "id": ', reason)
    assert document["messageText"] == '{"version": 1, "id": '
    assert document["reason"]["errors"] == [{"field": "", "message": "not JSON"}]  # type: ignore[index]


def test_bytes_that_are_not_text_are_kept_as_base64() -> None:
    document = poison(b"\xff\xfe\x00binary")
    assert base64.b64decode(str(document["messageBase64"])) == b"\xff\xfe\x00binary"


def test_a_message_too_large_to_wrap_is_truncated_and_says_so() -> None:
    original = json.dumps({"text": "\u0001" * 47_000}).encode()
    document = poison(original)
    assert document["reason"]["truncated"] is True  # type: ignore[index]
    assert original.decode().startswith(str(document["messageText"]))
