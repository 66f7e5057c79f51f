"""Queue drain: 10,000 proactive messages on Azurite, drained by the local host.

The real path end to end: messages in the docs/queue-message.md format (base64 JSON, each
naming one of 2,000 stored conversations by ``conversation``) go on the proactive queue of
Azurite; the local host runs ``function_app.py``, whose queue trigger resolves each
conversation on the Cosmos emulator, claims it in the idempotency ledger and sends it to the
local channel's connector with the bot's token.

1. The conversations are stored first (``bench.reference_seeder``, as inbound turns store
   them), and the host is stopped while the first messages are enqueued, so the drain starts
   from a full queue.
2. The host starts; the clock runs from its start until every message is enqueued and the
   queue (which counts leased messages too) is empty. A feeder tops the queue up to
   :data:`QUEUE_DEPTH` waiting messages as the host drains it: Azurite's delete and receive
   get slower with the number of messages in the queue (about 45 ms per delete at 10,000, and
   Azurite serves one request at a time), so a queue of 10,000 would measure Azurite, while
   Azure Storage serves 2,000 messages/s per queue whatever its length.
3. The connector's records are counted: every message must have been sent exactly once
   (duplicates 0, losses 0) and none may be in the poison queue.

``--queue-messages N`` (or ``--quick``) makes it smaller.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

from bench.activities import conversation_id
from bench.child_process import run_json_child
from bench.report import Check, Row
from bench.session import BenchSession
from dev.channel import ChannelControl
from dev.stack import LocalStack

if TYPE_CHECKING:
    from azure.storage.queue.aio import QueueClient

NAME = "queue_drain"
POLL_SECONDS = 0.25
QUEUE_DEPTH = 500
"""Messages kept waiting in the queue while it drains (see the module docstring)."""
FEED_SECONDS = 0.1
PROGRESS_SECONDS = 15.0
ENQUEUE_CONCURRENCY = 32
POISON_SUFFIX = "-poison"


def queue_message(run_id: str, index: int, conversation: int) -> str:
    """Message ``index`` of a run, for benchmark conversation ``conversation`` (JSON text)."""
    return json.dumps(
        {
            "version": 1,
            "id": f"{run_id}-{index}",
            "conversation": {
                "channelId": "msteams",
                "conversationId": conversation_id(conversation),
            },
            "activities": [{"type": "message", "text": f"{run_id} message {index}"}],
        }
    )


def has_queue_trigger(stack: LocalStack, queue_name: str) -> bool:
    """Whether the host lists a queue trigger on ``queue_name`` (it prints its functions)."""
    return f"queueTrigger ({queue_name})" in stack.host.tail(lines=10_000)


async def _depth(connection: str, queue_name: str) -> int:
    from azure.storage.queue.aio import QueueClient

    async with QueueClient.from_connection_string(connection, queue_name) as queue:
        properties = await queue.get_queue_properties()
        return int(properties.approximate_message_count or 0)


def _queue_client(connection: str, queue_name: str) -> QueueClient:
    from azure.storage.queue import TextBase64EncodePolicy
    from azure.storage.queue.aio import QueueClient

    return QueueClient.from_connection_string(
        connection, queue_name, message_encode_policy=TextBase64EncodePolicy()
    )


async def _send_all(queue: QueueClient, messages: list[str]) -> None:
    gate = asyncio.Semaphore(ENQUEUE_CONCURRENCY)

    async def send(text: str) -> None:
        async with gate:
            await queue.send_message(text, time_to_live=-1)

    await asyncio.gather(*(send(text) for text in messages))


async def _enqueue(connection: str, queue_name: str, messages: list[str]) -> None:
    async with _queue_client(connection, queue_name) as queue:
        await _send_all(queue, messages)


async def _feed(connection: str, queue_name: str, messages: list[str], deadline: float) -> bool:
    """Enqueue ``messages`` as the queue drains, keeping about :data:`QUEUE_DEPTH` waiting.

    Returns False when the deadline (``time.monotonic()``) passed first.
    """
    next_report = time.monotonic() + PROGRESS_SECONDS
    async with _queue_client(connection, queue_name) as queue:
        position = 0
        while position < len(messages):
            now = time.monotonic()
            if now > deadline:
                return False
            if now > next_report:
                print(
                    f"[bench] {NAME}: {QUEUE_DEPTH + position:,} enqueued",
                    file=sys.stderr,
                    flush=True,
                )
                next_report = now + PROGRESS_SECONDS
            properties = await queue.get_queue_properties()
            room = QUEUE_DEPTH - int(properties.approximate_message_count or 0)
            if room > 0:
                batch = messages[position : position + room]
                await _send_all(queue, batch)
                position += len(batch)
            else:
                await asyncio.sleep(FEED_SECONDS)
    return True


async def _drain(
    connection: str, queue_name: str, rest: list[str], total: int, limit: float
) -> bool:
    """Feed the rest of the messages, then wait for the queue to empty, within ``limit`` s."""
    deadline = time.monotonic() + limit
    if not await _feed(connection, queue_name, rest, deadline):
        return False
    return await _wait_until_empty(connection, queue_name, total, deadline - time.monotonic())


async def _wait_until_empty(connection: str, queue_name: str, total: int, limit: float) -> bool:
    deadline = time.monotonic() + limit
    next_report = time.monotonic() + PROGRESS_SECONDS
    while True:
        left = await _depth(connection, queue_name)
        if left == 0:
            return True
        now = time.monotonic()
        if now > deadline:
            return False
        if now > next_report:
            print(f"[bench] {NAME}: {left:,} of {total:,} left", file=sys.stderr, flush=True)
            next_report = now + PROGRESS_SECONDS
        await asyncio.sleep(POLL_SECONDS)


async def _sent_texts(connector_url: str, run_id: str) -> tuple[Counter[str], int]:
    async with ChannelControl(connector_url) as control:
        records = await control.requests()
    texts: Counter[str] = Counter()
    refused = 0
    for record in records:
        text = str((record.get("activity") or {}).get("text") or "")
        if not text.startswith(run_id):
            continue
        if 200 <= record["status"] < 300:
            texts[text] += 1
        else:
            refused += 1
    return texts, refused


async def _clear_connector(connector_url: str) -> None:
    async with ChannelControl(connector_url) as control:
        await control.clear()


def _seed(stack: LocalStack, conversations: int) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.reference_seeder",
        "--conversations",
        str(conversations),
        "--service-url",
        str(stack.channel.state["serviceUrl"]),
        "--app-id",
        stack.channel.bot_settings["MicrosoftAppId"],
    ]
    return run_json_child(command, stack.host_environment, timeout=120 + conversations / 5)


def run(session: BenchSession) -> list[Row]:
    """Enqueue, drain through the local host, count what the connector received."""
    stack = session.stack()
    sizes = session.sizes
    queue_name = stack.host_environment.get("PROACTIVE_QUEUE_NAME", "proactive-sends")
    if not has_queue_trigger(stack, queue_name):
        return [Row.skipped(NAME, f"function_app.py has no queue trigger on {queue_name!r} yet")]
    count = sizes.queue_messages
    return [drain_row(NAME, stack, count, min(sizes.queue_conversations, count))]


def drain_row(name: str, stack: LocalStack, count: int, conversations: int) -> Row:
    """Seed ``conversations``, queue ``count`` messages spread over them, drain, count."""
    environment = stack.host_environment
    queue_name = environment.get("PROACTIVE_QUEUE_NAME", "proactive-sends")
    connection = environment["AzureWebJobsStorage"]
    run_id = f"bench-drain-{uuid.uuid4().hex[:8]}"
    stride = max(1, conversations // count)
    messages = [
        queue_message(run_id, index, (index * stride) % conversations) for index in range(count)
    ]

    stack.host.stop()  # nothing drains while the queue fills
    seeded = _seed(stack, conversations)
    first, rest = messages[:QUEUE_DEPTH], messages[QUEUE_DEPTH:]
    asyncio.run(_enqueue(connection, queue_name, first))
    queued = asyncio.run(_depth(connection, queue_name))
    asyncio.run(_clear_connector(stack.channel.connector_url))

    started = time.perf_counter()
    stack.restart_host()
    host_ready = time.perf_counter() - started
    emptied = asyncio.run(_drain(connection, queue_name, rest, count, 120 + count / 10))
    drain_seconds = time.perf_counter() - started
    texts, refused = asyncio.run(_sent_texts(stack.channel.connector_url, run_id))
    poisoned = asyncio.run(_depth(connection, queue_name + POISON_SUFFIX))

    sends = sum(texts.values())
    duplicates = sum(times - 1 for times in texts.values() if times > 1)
    losses = count - len(texts)
    rate = count / drain_seconds
    figures: dict[str, float | int | str | None] = {
        "messages": count,
        "conversations": conversations,
        "seconds": round(drain_seconds, 2),
        "messages_per_s": round(rate, 1),
        "host_start_seconds": round(host_ready, 2),
        "sends": sends,
        "duplicates": duplicates,
        "losses": losses,
        "poisoned": poisoned,
        "refused_by_connector": refused,
        "queue_depth": QUEUE_DEPTH,
        "seed_seconds": seeded.get("seconds"),
    }
    notes = [
        f"{count:,} messages over {conversations:,} conversations; {queued:,} queued before "
        f"the host started, then topped up to {QUEUE_DEPTH} waiting; host start to empty "
        f"queue {drain_seconds:.1f} s (host ready after {host_ready:.1f} s); storing the "
        f"conversations took {seeded.get('seconds')} s",
    ]
    if not emptied:
        notes.append("the queue was not empty at the deadline: the figures are partial")
    return Row(
        name,
        f"{count:,} msgs in {drain_seconds:.1f} s ({rate:,.0f} msg/s), {sends:,} sends, "
        f"{duplicates} dup, {losses} lost",
        figures,
        checks=(
            Check("duplicates", duplicates),
            Check("losses", losses),
            Check("poisoned", poisoned),
            Check("messages left in the queue", 0 if emptied else 1),
        ),
        notes=notes,
    )
