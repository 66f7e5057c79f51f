"""Inbound through the local host: ``POST /api/messages`` with auth on and reference capture.

The whole stack runs as ``make run`` starts it (``dev.stack.start_stack``, in-memory
emulators): the function host serving the real ``function_app.py``, the local channel (whose
issuer signs the channel tokens and whose connector receives the echo replies), Azurite and
the Cosmos DB emulator. A client in this process posts Teams messages with a channel token
from the channel's issuer, ``concurrency`` at a time, and times each answer.

Each request is a full turn: token validation (keys fetched once), parsing, the activity's
redelivery claim (one Cosmos create, :mod:`bot.turn.redeliveries`), reference capture
on the Cosmos emulator (the first message of a conversation writes its reference and user
index; later ones are remembered by the process and cost nothing), and the echo reply POSTed
to the connector with the bot's token, before the host answers 200. The requests are spread
over ``http_conversations`` conversations.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp

from bench.activities import CONTENT_TYPE, teams_message
from bench.latency import LatencySummary
from bench.report import Check, Row
from bench.session import BenchSession, Sizes
from dev.channel import ChannelControl

NAME = "inbound_http"
WARMUP = 20
TIMEOUT = aiohttp.ClientTimeout(total=60)


async def _post(
    session: aiohttp.ClientSession, url: str, body: bytes, token: str
) -> tuple[int, float]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": CONTENT_TYPE}
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        await response.read()
        return response.status, time.perf_counter() - started


async def _measure(
    messages_url: str, connector_url: str, app_id: str, service_url: str, sizes: Sizes
) -> dict[str, Any]:
    count = sizes.http_requests
    concurrency = sizes.http_concurrency
    conversations = sizes.http_conversations
    run_id = f"bench-http-{uuid.uuid4().hex[:8]}"
    async with ChannelControl(connector_url) as control:
        token = await control.channel_token(service_url)
        await control.clear()
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
            # Warm-up on separate conversations: the first turn fetches the signing keys,
            # the bot token and opens the Cosmos client.
            for index in range(WARMUP):
                body = teams_message(
                    index,
                    conversation=10_000_000 + index,
                    service_url=service_url,
                    app_id=app_id,
                    run_id=run_id + "-warmup",
                )
                await _post(session, messages_url, body, token)
            bodies = [
                teams_message(
                    index,
                    conversation=index % conversations,
                    service_url=service_url,
                    app_id=app_id,
                    run_id=run_id,
                )
                for index in range(count)
            ]
            first_latencies: list[float] = []
            repeat_latencies: list[float] = []
            statuses: dict[int, int] = {}
            failures: dict[str, int] = {}
            next_index = 0

            async def client() -> None:
                nonlocal next_index
                while next_index < count:
                    index = next_index
                    body = bodies[index]
                    next_index += 1
                    try:
                        status, seconds = await _post(session, messages_url, body, token)
                    except (aiohttp.ClientError, TimeoutError) as error:
                        name = type(error).__name__
                        failures[name] = failures.get(name, 0) + 1
                        continue
                    statuses[status] = statuses.get(status, 0) + 1
                    # The first message of a conversation is the one that writes its reference.
                    (first_latencies if index < conversations else repeat_latencies).append(seconds)

            started = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        replies = await control.activities()
    echoes = sum(
        1
        for record in replies
        if str((record.get("activity") or {}).get("text", "")).startswith("You said:")
    )
    return {
        "seconds": elapsed,
        "first_latencies": first_latencies,
        "repeat_latencies": repeat_latencies,
        "statuses": statuses,
        "failures": failures,
        "echoes": echoes,
        "expected_echoes": count + WARMUP,
    }


def _summary(samples: list[float]) -> LatencySummary | None:
    return LatencySummary.of_seconds(samples) if samples else None


def run(session: BenchSession) -> list[Row]:
    """Measure requests/s and latency of ``/api/messages`` on the local host."""
    stack = session.stack()
    sizes = session.sizes
    app_id = stack.channel.bot_settings["MicrosoftAppId"]
    service_url = str(stack.channel.state["serviceUrl"])
    measured = asyncio.run(
        _measure(stack.messages_url, stack.channel.connector_url, app_id, service_url, sizes)
    )
    everything = measured["first_latencies"] + measured["repeat_latencies"]
    latency = LatencySummary.of_seconds(everything) if everything else None
    first = _summary(measured["first_latencies"])
    repeat = _summary(measured["repeat_latencies"])
    count = sizes.http_requests
    rate = count / measured["seconds"]
    ok = measured["statuses"].get(200, 0)
    figures: dict[str, float | int | str | None] = {
        "requests": count,
        "concurrency": sizes.http_concurrency,
        "conversations": sizes.http_conversations,
        "requests_per_s": round(rate, 1),
        "p50_ms": round(latency.p50_ms, 2) if latency else None,
        "p99_ms": round(latency.p99_ms, 2) if latency else None,
        "max_ms": round(latency.max_ms, 2) if latency else None,
        "first_message_p50_ms": round(first.p50_ms, 2) if first else None,
        "first_message_p99_ms": round(first.p99_ms, 2) if first else None,
        "repeat_message_p50_ms": round(repeat.p50_ms, 2) if repeat else None,
        "repeat_message_p99_ms": round(repeat.p99_ms, 2) if repeat else None,
        "echo_replies": measured["echoes"],
    }
    summary = f"{rate:,.0f} req/s, " + (latency.describe() if latency else "no answers")
    return [
        Row(
            NAME,
            f"{summary} ({count:,} req, c={sizes.http_concurrency})",
            figures,
            checks=(
                Check("non-200 answers", count - ok),
                Check(
                    "missing echo replies", max(0, measured["expected_echoes"] - measured["echoes"])
                ),
            ),
            notes=[
                f"auth on, reference capture on the Cosmos emulator, {sizes.http_conversations} "
                "conversations; each answer waits for the echo reply to reach the connector",
                f"first message of a conversation (reference written): "
                f"{first.describe() if first else '-'}; later messages: "
                f"{repeat.describe() if repeat else '-'}",
                *(
                    [f"statuses {measured['statuses']}, client errors {measured['failures']}"]
                    if ok != count
                    else []
                ),
            ],
            details={"statuses": measured["statuses"], "clientErrors": measured["failures"]},
        )
    ]
