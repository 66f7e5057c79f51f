"""Messages to one conversation through the real host, the channel enforcing Teams limits.

The sends are those of ``bench.conversation_pace``: calls of 50 activities to
``POST /api/sendactivity``, each with an idempotency key, from a client that honours
``Retry-After``; the governor waits in process for the 1 s and 2 s windows and answers 429 with
``Retry-After`` where the 30 s window is full, and the repeated call goes on from where it
stopped. The test asserts the behaviour: the messages arrive in order, each once, and the
connector answers no 429. It prints the first to last arrival against what the windows allow;
the bound on that time (at most 15% over, for 200 messages) is a target of
``python -m bench --only conversation_pace``, since tests never assert on timing.

70 messages by default (the 61st must wait for the 30 s window: about 32 s);
``E2E_RATE_LIMIT_MESSAGES`` sets another count (200: about 95 s).
"""

from __future__ import annotations

import os
import uuid

import aiohttp
import pytest

from bench.broadcast import arrival_span
from bench.conversation_pace import fastest_schedule, send_in_order
from dev.channel import ChannelControl
from dev.stack import LocalStack

pytestmark = pytest.mark.e2e

MESSAGES = int(os.environ.get("E2E_RATE_LIMIT_MESSAGES", "70"))


async def test_messages_to_one_conversation_arrive_in_order_without_a_429(
    e2e_stack: LocalStack, channel: ChannelControl
) -> None:
    started = await channel.start_conversation(user_name="Grace Hopper")
    conversation_id = str(started["conversationId"])
    texts = [f"message {index:03d} {uuid.uuid4().hex[:6]}" for index in range(MESSAGES)]

    await channel.set_rate_limits(True, reset=True)  # the welcome message is not counted
    try:
        async with aiohttp.ClientSession() as http:
            statuses = await send_in_order(http, e2e_stack.host.url, conversation_id, texts)
        requests = await channel.requests(conversation_id)
    finally:
        await channel.set_rate_limits(False, reset=True)

    ours = [
        record
        for record in requests
        if record["activity"] is not None and record["activity"].get("text") in set(texts)
    ]
    throttled = [record for record in requests if record["status"] == 429]
    span = arrival_span(ours)
    bound = fastest_schedule(MESSAGES)
    print(
        f"\n{MESSAGES} messages to one conversation: first to last arrival {span:.2f} s "
        f"(the windows allow {bound:.0f} s, {span / bound:.1%}); {len(throttled)} x 429; "
        f"API answers {statuses}"
    )
    assert throttled == []
    assert [record["status"] for record in ours] == [201] * MESSAGES
    assert [record["activity"]["text"] for record in ours] == texts
