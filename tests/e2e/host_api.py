"""The function host's HTTP API as end-to-end tests drive it, and the conversations they
send to.

``Api`` calls the running host (and the producer's command line) and polls, with a deadline,
for what finishes later: a delivery's receipt, a broadcast's progress, the drained queue.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp

from dev.channel import ChannelControl
from dev.stack import LocalStack
from tests.e2e.producer import enqueue_with_command

DEADLINE_SECONDS = 30.0
BROADCAST_DEADLINE_SECONDS = 180.0
"""A broadcast to hundreds of users at the Teams limits takes tens of seconds."""


class Api:
    """The host's HTTP API, and the producer's command line.

    Args:
        stack: The running stack whose (first) host is called.
        session: The HTTP session to call it with (the caller closes it).
    """

    def __init__(self, stack: LocalStack, session: aiohttp.ClientSession) -> None:
        self.stack = stack
        self.session = session

    async def call(
        self, method: str, path: str, body: Any = None
    ) -> tuple[int, dict[str, str], Any]:
        """One request: the status, the headers and the JSON body (None when empty)."""
        async with self.session.request(
            method, self.stack.host.url + path, json=body, timeout=aiohttp.ClientTimeout(60)
        ) as response:
            text = await response.text()
            return response.status, dict(response.headers), json.loads(text) if text else None

    async def send(
        self, conversation_id: str, *activities: dict[str, Any]
    ) -> tuple[str, list[Any]]:
        """Send ``activities`` through ``POST /api/sendactivity`` with a fresh idempotency key.

        Returns:
            The key (the delivery's id) and the activity ids the host answered.
        """
        key = f"e2e-send-{uuid.uuid4().hex}"
        status, _, body = await self.call(
            "POST",
            "/api/sendactivity",
            {
                "conversationId": conversation_id,
                "channelId": "msteams",
                "activities": list(activities),
                "idempotencyKey": key,
            },
        )
        assert status == 200, body
        return key, list(body["activityIds"])

    async def receipt(self, delivery_id: str) -> dict[str, Any] | None:
        """The delivery's receipt; None while there is none."""
        status, _, body = await self.call("GET", f"/api/deliveries/{delivery_id}")
        if status == 404:
            return None
        assert status == 200, body
        assert isinstance(body, dict)
        return body

    async def final_receipt(self, delivery_id: str) -> dict[str, Any]:
        """The delivery's receipt once it is no longer sending or retrying."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            receipt = await self.receipt(delivery_id)
            if receipt is not None and receipt["status"] not in ("Sending", "Retrying"):
                return receipt
            await asyncio.sleep(0.2)
        raise AssertionError(f"delivery {delivery_id} did not finish in time")

    async def delivered(self, message: dict[str, Any]) -> list[Any]:
        """Enqueue ``message`` and wait until it is delivered; its activity ids."""
        await self.enqueue(message)
        receipt = await self.final_receipt(message["id"])
        assert receipt["status"] == "Delivered", receipt
        return list(receipt["activityIds"])

    async def broadcast_until(
        self, operation_id: str, done: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """The broadcast's progress once ``done`` holds for it."""
        deadline = time.monotonic() + BROADCAST_DEADLINE_SECONDS
        progress: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status, _, progress = await self.call("GET", f"/api/broadcasts/{operation_id}")
            assert status == 200, progress
            if done(progress):
                return progress
            await asyncio.sleep(1)  # each look counts the outcomes: not too often
        raise AssertionError(f"broadcast {operation_id}: not there in time: {progress}")

    async def finished_broadcast(self, operation_id: str) -> dict[str, Any]:
        """The broadcast's progress once it is ``Completed``."""
        return await self.broadcast_until(operation_id, lambda p: p["status"] == "Completed")

    async def reference(self, conversation_id: str) -> dict[str, Any]:
        """The stored conversation reference of a Teams conversation."""
        status, _, body = await self.call(
            "GET", f"/api/references?channelId=msteams&conversationId={conversation_id}"
        )
        assert status == 200, body
        assert isinstance(body, dict)
        return body

    async def enqueue(self, *messages: dict[str, Any]) -> None:
        """Run the producer's command line (another process) with the messages on stdin."""
        # The running host's queue: a test may have restarted it on a queue of its own.
        await enqueue_with_command(self.stack.host.environment, *messages)

    async def queue_drained(self) -> None:
        """Wait until the proactive queue holds no message, visible or not."""
        from azure.storage.queue.aio import QueueClient

        from bot.storage.queues import expand_connection_string

        environment = self.stack.host.environment
        async with QueueClient.from_connection_string(
            expand_connection_string(environment["AzureWebJobsStorage"]),
            environment["PROACTIVE_QUEUE_NAME"],
        ) as queue:
            deadline = time.monotonic() + DEADLINE_SECONDS
            while time.monotonic() < deadline:
                properties = await queue.get_queue_properties()
                if properties.approximate_message_count == 0:
                    return
                await asyncio.sleep(0.2)
        raise AssertionError("the proactive queue did not drain in time")


async def started(channel: ChannelControl) -> tuple[str, str]:
    """A conversation a user started (the bot welcomed them): its id and the user's id."""
    begun = await channel.start_conversation(user_name="Ada Lovelace")
    assert begun["started"]["status"] == 200
    await channel.wait_for_activities(begun["conversationId"], 1)
    return begun["conversationId"], begun["userId"]


def message(conversation_id: str, text: str, **fields: Any) -> dict[str, Any]:
    """A proactive queue message of one text to a Teams conversation (``fields`` over it)."""
    return {
        "version": 1,
        "id": f"e2e-{uuid.uuid4().hex}",
        "conversation": {"channelId": "msteams", "conversationId": conversation_id},
        "activities": [{"type": "message", "text": text}],
        **fields,
    }
