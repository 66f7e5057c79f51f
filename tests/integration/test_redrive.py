"""``python -m bot.proactive redrive`` against Azurite: unwrap, put back, delete only after.

Each test has its own queue and poison queue on the session's Azurite. The poison messages
are what the bot and the host really put there: the bot's wrapper made by
:func:`~bot.proactive.poison.poison_text`, and a raw message as the host moves it.
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.storage.queue.aio import QueueClient

from bot.proactive.poison import PoisonReason, poison_text
from bot.proactive.queue_access import QueueAccess, QueueOpener
from bot.proactive.redrive import parse_condition, redrive
from dev.services import RunningServices
from dev.stack import REPOSITORY_ROOT

pytestmark = pytest.mark.services


def proactive_message(label: str) -> dict[str, Any]:
    return {
        "version": 1,
        "id": f"redrive-{label}-{uuid.uuid4().hex[:8]}",
        "conversation": {"channelId": "msteams", "conversationId": f"a:{label}"},
        "activities": [{"type": "message", "text": f"hello {label}"}],
    }


def wrapped(message: dict[str, Any], code: str) -> str:
    """The poison message the bot writes for ``message``."""
    return poison_text(
        json.dumps(message).encode(),
        PoisonReason(code, "given up", delivery_id=message["id"]),
        queue_name="q",
        dequeue_count=1,
        now=datetime(2026, 12, 1, tzinfo=UTC),
    )


class Queues:
    """A fresh queue and its poison queue."""

    def __init__(self, opener: QueueOpener, name: str) -> None:
        self.name = name
        self.poison_name = f"{name}-poison"
        self.queue = opener.queue(name)
        self.poison = opener.queue(self.poison_name)

    async def put_poison(self, *texts: str) -> None:
        for text in texts:
            await self.poison.send_message(text)

    async def texts(self, queue: QueueClient) -> list[str]:
        """Every message's decoded text (peeked: nothing is taken)."""
        return sorted(m.content.decode() for m in await queue.peek_messages(max_messages=32))


@pytest.fixture
async def access(local_services: RunningServices) -> QueueAccess:
    return QueueAccess(connection_string=local_services.env["AzureWebJobsStorage"])


@pytest.fixture
async def queues(access: QueueAccess) -> AsyncIterator[Queues]:
    async with access.queues() as opener:
        made = Queues(opener, f"redrive-{uuid.uuid4().hex[:12]}")
        await made.queue.create_queue()
        await made.poison.create_queue()
        try:
            yield made
        finally:
            await made.queue.delete_queue()
            await made.poison.delete_queue()


async def test_a_wrapper_goes_back_unwrapped_and_a_raw_message_as_it_was(queues: Queues) -> None:
    first, second = proactive_message("wrapped"), proactive_message("raw")
    raw = json.dumps(second)
    await queues.put_poison(wrapped(first, "ConversationNotFound"), raw)
    out = io.StringIO()

    report = await redrive(queues.poison, queues.queue, out=out)

    assert (report.moved, report.left, report.failed) == (2, 0, "")
    back = [json.loads(text) for text in await queues.texts(queues.queue)]
    assert sorted(back, key=lambda m: m["id"]) == sorted([first, second], key=lambda m: m["id"])
    assert await queues.texts(queues.poison) == []
    printed = out.getvalue()
    assert f"({first['id']}, ConversationNotFound)" in printed
    assert f"({second['id']}, MaxDequeueCount)" in printed
    assert "hello" not in printed  # never the message text


async def test_a_filter_moves_only_what_matches_and_leaves_the_rest_visible(
    queues: Queues,
) -> None:
    expired, missing = proactive_message("expired"), proactive_message("missing")
    await queues.put_poison(wrapped(expired, "Expired"), wrapped(missing, "ConversationNotFound"))
    await queues.put_poison(json.dumps(proactive_message("host")))

    report = await redrive(
        queues.poison, queues.queue, conditions=[parse_condition("reason.code=Expired")]
    )

    assert (report.moved, report.left) == (1, 2)
    assert [json.loads(t)["id"] for t in await queues.texts(queues.queue)] == [expired["id"]]
    # The two left are visible again at once, not hidden for the run's lease.
    assert len(await queues.texts(queues.poison)) == 2


async def test_dry_run_and_limit_move_nothing_more_than_asked(queues: Queues) -> None:
    messages = [proactive_message(f"n{i}") for i in range(3)]
    await queues.put_poison(*(wrapped(m, "Expired") for m in messages))

    dry = await redrive(queues.poison, queues.queue, dry_run=True)
    assert (dry.moved, await queues.texts(queues.queue)) == (3, [])
    assert len(await queues.texts(queues.poison)) == 3

    limited = await redrive(queues.poison, queues.queue, limit=2)
    assert limited.moved == 2
    assert len(await queues.texts(queues.queue)) == 2
    assert len(await queues.texts(queues.poison)) == 1


async def test_when_the_put_fails_nothing_is_deleted(queues: Queues, access: QueueAccess) -> None:
    message = proactive_message("fault")
    await queues.put_poison(wrapped(message, "Expired"))
    async with access.queues() as opener:
        # Azurite itself refuses the put: a queue name may not hold upper-case letters.
        refusing = opener.queue("Not-A-Valid-Queue-Name")

        report = await redrive(queues.poison, refusing)

    assert report.moved == 0
    assert report.failed.startswith("HttpResponseError: The specified resource name")
    assert [json.loads(t)["message"]["id"] for t in await queues.texts(queues.poison)] == [
        message["id"]
    ]


async def test_a_truncated_wrapper_is_left_where_it_is(queues: Queues) -> None:
    truncated = json.dumps(
        {"reason": {"code": "InvalidMessage", "truncated": True}, "messageText": '{"ver'}
    )
    await queues.put_poison(truncated)

    report = await redrive(queues.poison, queues.queue)

    assert (report.moved, report.not_redrivable) == (0, 1)
    assert await queues.texts(queues.poison) == [truncated]


async def test_the_command_line_redrives_the_fanout_poison_queue(
    local_services: RunningServices, access: QueueAccess
) -> None:
    name = f"redrive-{uuid.uuid4().hex[:8]}-fanout"
    page = {"version": 1, "operationId": "op-1", "page": 3}
    async with access.queues() as opener:
        poison = opener.queue(f"{name}-poison")
        await poison.create_queue()
        await poison.send_message(
            json.dumps({"reason": {"code": "InvalidMessage", "message": "x"}, "message": page})
        )
        command = [
            sys.executable,
            "-m",
            "bot.proactive",
            "redrive",
            "--queue",
            f"{name}-poison",
            "--connection-string",
            local_services.env["AzureWebJobsStorage"],
        ]
        done = await asyncio.to_thread(
            subprocess.run,
            command,
            cwd=REPOSITORY_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        target = opener.queue(name)
        back = [m.content for m in await target.peek_messages()]
        await target.delete_queue()
        await poison.delete_queue()

    assert done.returncode == 0, done.stderr
    assert f"(op-1, InvalidMessage) to {name}" in done.stdout
    assert "moved 1, left 0" in done.stdout
    assert [json.loads(body) for body in back] == [page]
