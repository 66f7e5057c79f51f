"""``python -m bench.send_worker``: the sending process of the proactive-send benchmark.

It runs in its own process, as the peers' clients did, so its peak RSS is the sender's alone
and the connector's CPU is not counted in it. Each send starts from a stored conversation
reference as a JSON dict (as read from Cosmos DB), validates it, and runs a proactive turn
through :meth:`BotAdapter.continue_conversation` with :class:`ConnectorSender`: the allow-list,
the bot token (MSAL against the configured authority, then cached) and one POST on the shared
aiohttp session. One text message per conversation, 20 warm-up sends first, then all sends
with at most ``--concurrency`` in flight.

The settings come from the environment (the benchmark sets them). The result is one JSON
line on stdout: seconds, messages/s, errors, RSS before the run and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.connector.sender import ConnectorSender
from bot.garbage_collection import tune_for_sending
from bot.http_session import http_session
from bot.schema import ConversationReference
from bot.settings import get_settings
from bot.turn import BotAdapter, ClaimsIdentity, TurnContext

REMINDER_TEXT = "Reminder: your report is due"


def stored_reference(index: int, service_url: str, app_id: str) -> dict[str, Any]:
    """A conversation reference as stored (wire format), one per conversation."""
    return {
        "activityId": None,
        "user": {"id": f"29:user-{index}", "name": f"User {index}", "aadObjectId": f"aad-{index}"},
        "bot": {"id": f"28:{app_id}", "name": "proactive-bot"},
        "conversation": {
            "id": f"a:bench-conversation-{index:06d}",
            "conversationType": "personal",
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        },
        "channelId": "msteams",
        "locale": "en-US",
        "serviceUrl": service_url,
    }


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def send_all(service_url: str, count: int, concurrency: int, warmup: int) -> dict[str, Any]:
    """Send one message to each of ``count`` conversations; returns the figures."""
    settings = get_settings()
    adapter = BotAdapter(ConnectorSender())
    identity = ClaimsIdentity.for_bot(settings.app_id)
    documents = [
        stored_reference(index, service_url, settings.app_id) for index in range(warmup + count)
    ]
    errors: Counter[str] = Counter()

    async def logic(context: TurnContext) -> None:
        await context.send_activity(REMINDER_TEXT)

    async def send_one(document: dict[str, Any]) -> None:
        reference = ConversationReference.model_validate(document)
        await adapter.continue_conversation(reference, identity, logic)

    for document in documents[:warmup]:
        await send_one(document)
    rss_before = _rss_mb()
    gate = asyncio.Semaphore(concurrency)

    async def guarded(document: dict[str, Any]) -> None:
        async with gate:
            try:
                await send_one(document)
            except Exception as error:  # counted and reported; a run goes on
                errors[type(error).__name__] += 1

    started = time.perf_counter()
    cpu_started = time.process_time()
    await asyncio.gather(*(guarded(document) for document in documents[warmup:]))
    seconds = time.perf_counter() - started
    # CPU per message is the figure a loaded machine disturbs least (the rate also counts
    # the mock's CPU and everyone else's).
    cpu_us = (time.process_time() - cpu_started) / count * 1e6
    await http_session.aclose()
    return {
        "sends": count,
        "warmup": warmup,
        "concurrency": concurrency,
        "seconds": round(seconds, 3),
        "messages_per_s": round(count / seconds, 1),
        "cpu_us_per_message": round(cpu_us, 1),
        "errors": sum(errors.values()),
        "error_types": dict(errors),
        "rss_before_mb": round(rss_before, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "auth_disabled": settings.auth_disabled,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: send, print the figures as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.send_worker")
    parser.add_argument("--service-url", required=True, help="the connector's serviceUrl")
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=20)
    arguments = parser.parse_args(argv)
    tune_for_sending()  # as function_app.py does at the end of start-up
    figures = asyncio.run(
        send_all(arguments.service_url, arguments.sends, arguments.concurrency, arguments.warmup)
    )
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
