"""Many messages to one conversation at the pace Teams' per-conversation windows allow.

The messages go as ``POST /api/sendactivity`` calls of 50 activities, each with an idempotency
key, from a client that honours ``Retry-After``: within a call the governor waits in process
for the 1 s and 2 s windows; where the 30 s window is full it answers 429 with ``Retry-After``
(nothing is slept on for that long), and the client repeats the same call, which goes on from
where it stopped. The channel enforces the Teams limits and answers 429 above them.

The figure: the first to last arrival at the connector against the fastest schedule the
windows allow (7/1 s, 8/2 s, 60/30 s: 200 messages need 94 s, the 61st going 30 s after the
first). Target: at most 15% over it, with no 429 and every message in order.
``tests/e2e/test_rate_limits.py`` runs the same sends (fewer of them) for the behaviour.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from bench.broadcast import arrival_span

if TYPE_CHECKING:
    import aiohttp

    from bench.report import Row
    from bench.session import BenchSession

NAME = "conversation_pace"
MESSAGES = 200
PER_CALL = 50
TOLERANCE = 0.15
DEADLINE_SECONDS = 300.0


def fastest_schedule(count: int) -> float:
    """Seconds from the first to the last of ``count`` sends the Teams windows allow."""
    from bot.channel_limits import TEAMS_LIMITS
    from bot.throttling.sliding_log import WindowLimiter

    limiter = WindowLimiter(TEAMS_LIMITS.conversation)
    now = 0.0
    for _ in range(count):
        ready = limiter.earliest("conversation", now)
        if ready is None:
            raise ValueError("the Teams windows admit no send")
        limiter.begin("conversation")
        limiter.end("conversation", ready)
        now = ready
    return now


async def send_in_order(
    http: aiohttp.ClientSession, host_url: str, conversation_id: str, texts: list[str]
) -> list[int]:
    """Send ``texts`` in calls of 50, repeating a call after its ``Retry-After``.

    Returns:
        The status of every call made, repeats included.

    Raises:
        AssertionError: A call answered other than 200, 409 (in progress) or 429, or the
            sends took longer than the deadline.
    """
    import aiohttp

    statuses: list[int] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    for first in range(0, len(texts), PER_CALL):
        body = {
            "conversationId": conversation_id,
            "channelId": "msteams",
            "activities": [
                {"type": "message", "text": text} for text in texts[first : first + PER_CALL]
            ],
            "idempotencyKey": f"ordered-{uuid.uuid4().hex}",
        }
        while True:
            assert time.monotonic() < deadline, "the sends did not finish in time"
            async with http.post(
                host_url + "/api/sendactivity", json=body, timeout=aiohttp.ClientTimeout(120)
            ) as response:
                statuses.append(response.status)
                answer: dict[str, Any] = json.loads(await response.text())
                if response.status == 200:
                    break
                assert response.status in (409, 429), answer
                await asyncio.sleep(int(response.headers["Retry-After"]))
    return statuses


def run(session: BenchSession) -> list[Row]:
    """Send 200 messages to one conversation with the Teams limits enforced."""
    from bench.report import Check, Row, Target

    stack = session.stack()
    figures = asyncio.run(_send_once(stack, MESSAGES))
    bound = figures["bound_seconds"]
    span = figures["span_seconds"]
    return [
        Row(
            name=NAME,
            summary=(
                f"{MESSAGES} messages: first to last arrival {span:.1f} s "
                f"(the windows allow {bound:.0f} s, +{(span / bound - 1) * 100:.0f}%), "
                f"{figures['throttled']:.0f} x 429"
            ),
            figures=dict(figures),
            targets=(
                Target(
                    "span_seconds",
                    round(bound * (1 + TOLERANCE), 1),
                    "s",
                    higher_is_better=False,
                    label="first to last arrival",
                ),
            ),
            checks=(
                Check("429 answers", int(figures["throttled"])),
                Check("messages missing or out of order", int(figures["wrong"])),
            ),
        )
    ]


async def _send_once(stack: Any, count: int) -> dict[str, float]:
    import aiohttp

    from dev.channel import ChannelControl

    texts = [f"message {index:03d} {uuid.uuid4().hex[:6]}" for index in range(count)]
    async with ChannelControl(stack.channel.connector_url) as channel:
        started = await channel.start_conversation(user_name="Bench Pace")
        conversation_id = str(started["conversationId"])
        await channel.set_rate_limits(True, reset=True)  # the welcome message is not counted
        try:
            async with aiohttp.ClientSession() as http:
                await send_in_order(http, stack.host.url, conversation_id, texts)
            requests = await channel.requests(conversation_id)
        finally:
            await channel.set_rate_limits(False, reset=True)
    wanted = set(texts)
    ours = [
        record
        for record in requests
        if record["activity"] is not None and record["activity"].get("text") in wanted
    ]
    arrived = [record["activity"]["text"] for record in ours if record["status"] == 201]
    wrong = sum(1 for sent, got in zip(texts, arrived, strict=False) if sent != got)
    return {
        "span_seconds": round(arrival_span(ours), 2),
        "bound_seconds": round(fastest_schedule(count), 2),
        "throttled": float(sum(1 for record in requests if record["status"] == 429)),
        "wrong": float(wrong + abs(len(arrived) - count)),
    }
