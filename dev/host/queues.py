"""Queue triggers: poll an Azure Storage queue and hand each message to the function.

The standard Functions behaviour, driven by host.json ``extensions.queues``:

- Up to ``batchSize`` messages are fetched at a time; a new batch is fetched once no more than
  ``newBatchThreshold`` are still running. An empty queue is polled again after 100 ms, then
  twice as long each time, up to ``maxPollingInterval``; a message resets the wait.
- A fetched message stays invisible for the lease (:mod:`dev.host.message_lease`), renewed at
  half its length while the function runs.
- Success deletes the message. Failure makes it visible again after ``visibilityTimeout``,
  or, once it has been dequeued ``maxDequeueCount`` times, copies its original text (still
  encoded) to ``<queue>-poison`` and deletes it.
- The queue, and the poison queue when first needed, are created if missing.

Anything else (moving a message to the poison queue at once, re-enqueueing with a delay) is
the function's own business. Message contents are never logged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.functions.queue import QueueMessage as FunctionQueueMessage

from bot.storage.proxy_settings import use_env_settings
from dev.host.app import QueueFunction
from dev.host.host_json import QueueOptions
from dev.host.invocation import invoke
from dev.host.message_lease import DEFAULT_LEASE_SECONDS, MessageLease
from dev.host.stopping import pause

if TYPE_CHECKING:
    from azure.storage.queue import QueueMessage
    from azure.storage.queue.aio import QueueClient

logger = logging.getLogger(__name__)

MIN_POLLING_INTERVAL = 0.1


class _UndecodableMessage(Exception):
    """The message text is not valid for ``messageEncoding``."""


class QueueListener:
    """Polls one queue for one function.

    Args:
        function: The queue-triggered function.
        options: host.json ``extensions.queues``.
        lease_seconds: How long a fetched message stays invisible, renewed at half of it.
    """

    def __init__(
        self,
        function: QueueFunction,
        options: QueueOptions,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.function = function
        self.options = options
        self.lease_seconds = lease_seconds
        self.poison_name = f"{function.queue_name}-poison"
        self._poison_ready = False

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set, then wait for the messages in progress."""
        # Imported here, like the bot does: only apps with queue functions pay for it.
        from azure.storage.queue.aio import QueueClient

        connection = self.function.connection
        from_env = use_env_settings()
        async with (
            QueueClient.from_connection_string(
                connection, self.function.queue_name, use_env_settings=from_env
            ) as queue,
            QueueClient.from_connection_string(
                connection, self.poison_name, use_env_settings=from_env
            ) as poison,
        ):
            running: set[asyncio.Task[None]] = set()
            delay = MIN_POLLING_INTERVAL
            ready = False
            while not stop.is_set():
                if len(running) > self.options.new_batch_threshold:
                    await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    if not ready:
                        await _create_if_missing(queue)
                        ready = True
                    messages = await self._fetch(queue)
                except AzureError as error:
                    logger.warning(
                        "queue %s: polling failed (%s); retrying",
                        self.function.queue_name,
                        type(error).__name__,
                    )
                    messages = []
                if not messages:
                    if await pause(stop, delay):
                        break
                    delay = min(
                        delay * 2, max(self.options.max_polling_interval, MIN_POLLING_INTERVAL)
                    )
                    continue
                delay = MIN_POLLING_INTERVAL
                for message in messages:
                    task = asyncio.create_task(self._process(queue, poison, message))
                    running.add(task)
                    task.add_done_callback(running.discard)
            if running:
                await asyncio.wait(running)

    async def _fetch(self, queue: QueueClient) -> list[QueueMessage]:
        batch = self.options.batch_size
        pages = queue.receive_messages(
            messages_per_page=batch, max_messages=batch, visibility_timeout=self.lease_seconds
        )
        return [message async for message in pages]

    def _decode(self, message: QueueMessage) -> bytes:
        text = str(message.content or "")
        if self.options.message_encoding == "none":
            return text.encode("utf-8")
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            raise _UndecodableMessage from None

    async def _process(
        self, queue: QueueClient, poison: QueueClient, message: QueueMessage
    ) -> None:
        try:
            try:
                body = self._decode(message)
            except _UndecodableMessage:
                logger.error(
                    "queue %s: message %s is not valid base64 (messageEncoding=base64)",
                    self.function.queue_name,
                    message.id,
                )
                await self._failed(queue, poison, message, message.pop_receipt)
                return
            argument = FunctionQueueMessage(  # type: ignore[no-untyped-call]
                id=message.id,
                body=body,
                pop_receipt=message.pop_receipt,
                dequeue_count=message.dequeue_count,
                insertion_time=message.inserted_on,
                expiration_time=message.expires_on,
                time_next_visible=message.next_visible_on,
            )
            reason = f"New queue message detected on '{self.function.queue_name}'."
            async with MessageLease(queue, message, self.lease_seconds).held() as lease:
                try:
                    await invoke(self.function, argument, reason)
                except Exception:  # logged by invoke; the message takes the failure path
                    failed = True
                else:
                    failed = False
            if failed:
                await self._failed(queue, poison, message, lease.pop_receipt)
                return
            await _delete(queue, message, lease.pop_receipt)
        except AzureError as error:
            logger.warning(
                "queue %s: message %s could not be settled (%s); it becomes visible again",
                self.function.queue_name,
                message.id,
                type(error).__name__,
            )

    async def _failed(
        self,
        queue: QueueClient,
        poison: QueueClient,
        message: QueueMessage,
        pop_receipt: str | None,
    ) -> None:
        if (message.dequeue_count or 0) >= self.options.max_dequeue_count:
            logger.warning(
                "Message has reached MaxDequeueCount of %d. Moving message %s to queue '%s'.",
                self.options.max_dequeue_count,
                message.id,
                self.poison_name,
            )
            if not self._poison_ready:
                await _create_if_missing(poison)
                self._poison_ready = True
            await poison.send_message(message.content)
            await _delete(queue, message, pop_receipt)
            return
        await queue.update_message(
            message.id,
            pop_receipt,
            visibility_timeout=round(self.options.visibility_timeout),
        )


async def _create_if_missing(queue: QueueClient) -> None:
    with contextlib.suppress(ResourceExistsError):
        await queue.create_queue()


async def _delete(queue: QueueClient, message: QueueMessage, pop_receipt: str | None) -> None:
    try:
        await queue.delete_message(message.id, pop_receipt)
    except ResourceNotFoundError:
        # Already gone: the function settled it itself, or its lease ran out and another
        # receiver took it.
        logger.warning("queue %s: message %s was already gone", queue.queue_name, message.id)
