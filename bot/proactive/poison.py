"""What goes to ``<queue>-poison``: the original message and why it was given up on.

A poisoned message is read by an operator, fixed, and perhaps put back on the queue, so it
holds the message exactly as it arrived (as JSON when it was JSON, else as text, else as
base64) under ``message``, next to a ``reason``::

    {"reason": {"code": "ConversationInactive",
                "message": "the conversation is inactive (ConversationBlockedByUser); ...",
                "deliveryId": "report-42", "attempts": 1, "activityIds": [null],
                "queue": "proactive-sends", "dequeueCount": 1,
                "poisonedAt": "2026-11-22T09:00:01.000000Z"},
     "message": {"version": 1, "id": "report-42", ...}}

For an invalid message, ``reason.errors`` lists each field and its problem. Re-submitting
``message`` (after fixing the cause) is the operator's retry. The whole document must fit the
queue's 64 KiB; if the wrapped message would not, the message is kept as (truncated) text and
``reason.truncated`` says so.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.proactive.enqueue import MAX_ENCODED_BYTES, encoded_size
from bot.proactive.message import FieldError
from bot.schema.json_document import (
    MAX_JSON_DEPTH,
    JsonDocumentError,
    exceeds_depth,
    parse_json,
)
from bot.storage.timestamps import to_timestamp

if TYPE_CHECKING:
    from azure.storage.queue.aio import QueueClient

POISON_SUFFIX = "-poison"
"""A queue's poison queue is ``<queue>-poison`` (the Functions host's convention)."""


@dataclass(frozen=True)
class PoisonReason:
    """Why a message was given up on.

    Attributes:
        code: A stable code: ``InvalidMessage``, ``Expired``, ``ConversationNotFound``,
            ``ConversationInactive``, ``ServiceUrlNotAllowed``, ``IdempotencyConflict``, or the
            Connector's code of a permanent failure (``BotNotInConversationRoster``...).
        message: A description for operators; never message text or tokens.
        delivery_id: The message's id, when it has a valid one.
        errors: The fields of an invalid message and their problems.
        attempts: How many times the delivery was tried.
        activity_ids: What was sent before it was given up on, by index.
    """

    code: str
    message: str
    delivery_id: str | None = None
    errors: Sequence[FieldError] = ()
    attempts: int | None = None
    activity_ids: Sequence[str | None] = ()

    def to_json(self) -> dict[str, Any]:
        """The reason's JSON (absent parts left out)."""
        document: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.delivery_id is not None:
            document["deliveryId"] = self.delivery_id
        if self.errors:
            document["errors"] = [error.model_dump() for error in self.errors]
        if self.attempts is not None:
            document["attempts"] = self.attempts
        if self.activity_ids:
            document["activityIds"] = list(self.activity_ids)
        return document


def poison_text(
    original: bytes,
    reason: PoisonReason,
    *,
    queue_name: str,
    dequeue_count: int | None,
    now: datetime,
) -> str:
    """The poison message for ``original`` (the decoded body of the queue message).

    Returns:
        Compact JSON text that fits a queue message once base64-encoded.
    """
    reason_json = reason.to_json()
    reason_json.update({"queue": queue_name, "poisonedAt": to_timestamp(now)})
    if dequeue_count is not None:
        reason_json["dequeueCount"] = dequeue_count
    document: dict[str, Any] = {"reason": reason_json}
    document.update(_original(original))
    text = _dump(document)
    if encoded_size(text) <= MAX_ENCODED_BYTES:
        return text
    return _truncated(original, reason_json)


async def put_poison(queue: QueueClient, text: str) -> None:
    """Put a poison message (from :func:`poison_text`) on ``queue``; it waits for an operator."""
    from bot.storage.queues import send_creating_queue

    await send_creating_queue(queue, text)


def _original(original: bytes) -> dict[str, Any]:
    try:
        text = original.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {"messageBase64": base64.b64encode(original).decode("ascii")}
    try:
        document = parse_json(text)
    except JsonDocumentError:
        return {"messageText": text}
    # The wrapper adds a level, and whoever reads the poison queue parses it within the limit.
    if exceeds_depth(document, MAX_JSON_DEPTH - 1):
        return {"messageText": text}
    return {"message": document}


def _truncated(original: bytes, reason_json: dict[str, Any]) -> str:
    reason_json = {**reason_json, "truncated": True}
    text = original.decode("utf-8", errors="replace")
    # JSON escaping can grow text up to six times (\uXXXX); halve until it fits.
    keep = len(text)
    while True:
        candidate = _dump({"reason": reason_json, "messageText": text[:keep]})
        if encoded_size(candidate) <= MAX_ENCODED_BYTES or keep == 0:
            return candidate
        keep //= 2


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
