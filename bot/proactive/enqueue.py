"""Putting proactive messages on the queue: validated first, encoded as the trigger expects.

    from bot.proactive.enqueue import enqueue
    await enqueue({"version": 1, "id": "report-42", "user": {...}, "activities": [...]})

From another service, signed in with its managed identity (Entra ID: the deployed storage
account takes no keys; the identity needs Storage Queue Data Message Sender on the queue)::

    from bot.proactive.queue_access import QueueAccess

    access = QueueAccess(account_url="https://<account>.queue.core.windows.net")
    async with access.queues() as queues:  # DefaultAzureCredential, closed after
        await enqueue(message, queue=queues.queue("proactive-sends"))

The message is validated (:func:`~bot.proactive.message.parse_message`) before anything is
sent, so an invalid one fails here with the field named rather than in the poison queue. The
text is base64-encoded UTF-8 JSON (the queue clients of :mod:`bot.storage.queues` do that), as
the Functions queue trigger expects. A message with ``notBefore`` in the future is enqueued
invisible until then (or for the queue's maximum of seven days; the sender re-enqueues it until
it is due). Messages never expire in the queue (``time_to_live=-1``): ``expiresAt`` is the
message's own expiry, and a queue-side expiry would lose messages silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.proactive.backoff import visibility_seconds
from bot.proactive.message import ProactiveMessage, parse_message

if TYPE_CHECKING:
    from azure.storage.queue.aio import QueueClient

MAX_ENCODED_BYTES = 64 * 1024
"""Azure Storage queue messages are at most 64 KiB, after base64 (about 48 KiB of JSON)."""
NEVER_EXPIRES = -1
"""``time_to_live`` of a queue message that stays until it is processed."""


class MessageTooLargeError(ValueError):
    """The encoded message is over the queue's 64 KiB."""


@dataclass(frozen=True)
class EnqueuedMessage:
    """A message put on the queue.

    Attributes:
        id: The proactive message's idempotency id.
        queue_message_id: The storage queue's id of the message.
        visible_at: When the trigger can first see it (the queue service's clock).
        visibility_seconds: The visibility delay asked for (0: at once).
    """

    id: str
    queue_message_id: str
    visible_at: datetime
    visibility_seconds: int = 0


def encoded_size(text: str) -> int:
    """Bytes of ``text`` once UTF-8 and base64 encoded (what the queue counts)."""
    return (len(text.encode("utf-8")) + 2) // 3 * 4


async def enqueue(
    message: ProactiveMessage | Mapping[str, Any] | str | bytes,
    *,
    queue: QueueClient | None = None,
    now: datetime | None = None,
) -> EnqueuedMessage:
    """Validate a proactive message and put it on the proactive queue.

    Args:
        message: The message, as a model, a decoded JSON object, or JSON text.
        queue: The queue; the process-wide ``PROACTIVE_QUEUE_NAME`` queue by default. It must
            encode messages as base64 (as :func:`bot.storage.queues.queue` and
            :class:`~bot.proactive.queue_access.QueueAccess` do).
        now: The current time (for ``notBefore``).

    Returns:
        Where the message went and when it becomes visible.

    Raises:
        InvalidMessageError: The message is not valid; the error names each field.
        MessageTooLargeError: It is over 64 KiB once encoded.
        azure.core.exceptions.AzureError: The queue could not be written.
    """
    parsed = parse_message(message)
    text = parsed.to_json()
    return await send_text(
        text, queue=queue, not_before=parsed.not_before, message_id=parsed.id, now=now
    )


async def send_text(
    text: str,
    *,
    queue: QueueClient | None = None,
    not_before: datetime | None = None,
    message_id: str = "",
    now: datetime | None = None,
) -> EnqueuedMessage:
    """Put message text on the queue, invisible until ``not_before`` (at most 7 days).

    For text that is already known to be a valid message (a re-enqueue of one received).

    Raises:
        MessageTooLargeError: It is over 64 KiB once encoded.
        azure.core.exceptions.AzureError: The queue could not be written.
    """
    if encoded_size(text) > MAX_ENCODED_BYTES:
        raise MessageTooLargeError(
            f"the message is {encoded_size(text)} bytes once encoded; the queue takes "
            f"{MAX_ENCODED_BYTES}"
        )
    moment = now or datetime.now(UTC)
    visibility = 0
    if not_before is not None and not_before > moment:
        visibility = visibility_seconds(not_before, moment)
    client = queue if queue is not None else _proactive_queue()
    sent = await client.send_message(
        text, visibility_timeout=visibility or None, time_to_live=NEVER_EXPIRES
    )
    visible_at = sent.next_visible_on or moment
    return EnqueuedMessage(message_id, str(sent.id), visible_at, visibility)


def _proactive_queue() -> QueueClient:
    from bot.storage.queues import queue

    return queue()
