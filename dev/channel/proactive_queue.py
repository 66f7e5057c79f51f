"""``/_channel/enqueue``: put a message on the bot's real proactive queue, as a service would.

    GET  /_channel/enqueue    -> {"configured": true, "queueName": "proactive-sends"}
    POST /_channel/enqueue    {"version": 1, "id": "...", "user": {...}, "activities": [...]}
                              -> 202 {"id", "queueName", "queueMessageId"}

The body is the queue message of docs/queue-message.md, put on the queue as it is: UTF-8 JSON,
base64-encoded (what the Functions queue trigger expects). It is deliberately not validated
here, so the page behaves like any external producer: a message the bot cannot use goes to the
poison queue, and its delivery receipt tells the story.

The connection is the bot's own ``AzureWebJobsStorage`` (``UseDevelopmentStorage=true`` means
Azurite) and the queue is ``PROACTIVE_QUEUE_NAME``; ``dev.stack`` hands both to the channel
process. Without a connection the route answers 503 ``QueueNotConfigured``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from dev.channel.page_guard import refusal
from dev.channel.responses import error_response, json_response

if TYPE_CHECKING:
    from azure.storage.queue.aio import QueueClient

NEVER_EXPIRES = -1
REQUEST_TIMEOUT_SECONDS = 10


class ProactiveQueue:
    """The proactive queue, reached with a storage connection string.

    Args:
        connection: The storage connection string; ``None`` or empty when not configured.
        name: The queue's name.
    """

    def __init__(self, connection: str | None, name: str) -> None:
        self._connection = connection or ""
        self.name = name
        self._client: QueueClient | None = None

    @property
    def configured(self) -> bool:
        """Whether there is a connection to send with."""
        return bool(self._connection.strip())

    def _queue(self) -> QueueClient:
        if self._client is None:
            # Imported here: the channel starts fast when nobody enqueues anything.
            from azure.storage.queue import TextBase64EncodePolicy
            from azure.storage.queue.aio import QueueClient

            from bot.storage.queues import expand_connection_string

            self._client = QueueClient.from_connection_string(
                expand_connection_string(self._connection),
                self.name,
                message_encode_policy=TextBase64EncodePolicy(),
            )
        return self._client

    async def send(self, text: str) -> str:
        """Put ``text`` on the queue (base64-encoded); returns the queue's message id.

        Raises:
            azure.core.exceptions.AzureError: The queue could not be written.
        """
        sent = await self._queue().send_message(
            text, time_to_live=NEVER_EXPIRES, timeout=REQUEST_TIMEOUT_SECONDS
        )
        return str(sent.id)

    async def aclose(self) -> None:
        """Close the queue client, if one was made."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()


PROACTIVE_QUEUE_KEY: web.AppKey[ProactiveQueue] = web.AppKey("proactive_queue", ProactiveQueue)


async def queue_status(request: web.Request) -> web.Response:
    """``GET /_channel/enqueue``: whether the page can enqueue, and to which queue."""
    refused = refusal(request)
    if refused is not None:
        return refused
    queue = request.app[PROACTIVE_QUEUE_KEY]
    return json_response({"configured": queue.configured, "queueName": queue.name})


async def enqueue(request: web.Request) -> web.Response:
    """``POST /_channel/enqueue``: put the JSON body on the proactive queue."""
    refused = refusal(request)
    if refused is not None:
        return refused
    queue = request.app[PROACTIVE_QUEUE_KEY]
    if not queue.configured:
        return error_response(
            503,
            "QueueNotConfigured",
            "the channel has no AzureWebJobsStorage connection; start it through dev.stack "
            "(make run) or set AzureWebJobsStorage in its environment",
        )
    try:
        body = json.loads(await request.read())
    except ValueError:
        return error_response(400, "BadArgument", "the body is not JSON")
    if not isinstance(body, dict):
        return error_response(400, "BadArgument", "the body must be a JSON object")
    from bot.proactive.enqueue import MAX_ENCODED_BYTES, encoded_size

    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    if encoded_size(text) > MAX_ENCODED_BYTES:
        return error_response(
            413, "MessageTooLarge", f"the message is over {MAX_ENCODED_BYTES} bytes once encoded"
        )
    from azure.core.exceptions import AzureError

    try:
        message_id = await queue.send(text)
    except AzureError as error:
        return error_response(
            502, "QueueUnavailable", f"the queue {queue.name} refused: {type(error).__name__}"
        )
    return json_response(
        {"id": body.get("id"), "queueName": queue.name, "queueMessageId": message_id}, 202
    )


async def _close_queue(app: web.Application) -> None:
    await app[PROACTIVE_QUEUE_KEY].aclose()


def add_queue_routes(app: web.Application, queue: ProactiveQueue) -> None:
    """Serve ``/_channel/enqueue`` with ``queue``; its client is closed with the server."""
    app[PROACTIVE_QUEUE_KEY] = queue
    app.router.add_get("/_channel/enqueue", queue_status)
    app.router.add_post("/_channel/enqueue", enqueue)
    app.on_cleanup.append(_close_queue)
