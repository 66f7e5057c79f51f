"""``python -m bench.reference_seeder``: store conversation references for the queue drain.

Runs with the host's settings (Cosmos endpoint, ``KEY_HASH_SECRET``), in its own process so
those settings never mix with the benchmark runner's. Each conversation is captured exactly as
an inbound turn captures it (:meth:`ReferenceStore.capture`), with the claims of a channel
token, so a queued message naming the conversation resolves as in production. Prints one
JSON line: how many were stored and how long it took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from bench.activities import TENANT_ID, conversation_id
from bot.references.store import ReferenceStore
from bot.schema import ConversationReference
from bot.storage.cosmos import cosmos_client

CHANNEL_ISSUER = "https://api.botframework.com"


def reference(index: int, service_url: str, app_id: str) -> ConversationReference:
    """The reference of benchmark conversation ``index`` (a Teams personal chat)."""
    return ConversationReference.model_validate(
        {
            "user": {
                "id": f"29:1user-{index:06d}-bench-aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "name": "Ada Lovelace",
            },
            "bot": {"id": f"28:{app_id}", "name": "Bench Bot"},
            "conversation": {
                "id": conversation_id(index),
                "conversationType": "personal",
                "tenantId": TENANT_ID,
            },
            "channelId": "msteams",
            "serviceUrl": service_url,
            "locale": "en-GB",
        }
    )


async def seed(count: int, service_url: str, app_id: str, concurrency: int) -> float:
    """Capture ``count`` references; returns the seconds it took."""
    store = ReferenceStore()
    claims = {"aud": app_id, "iss": CHANNEL_ISSUER, "serviceurl": service_url}
    gate = asyncio.Semaphore(concurrency)

    async def capture(index: int) -> None:
        async with gate:
            await store.capture(
                reference(index, service_url, app_id), claims, now=datetime.now(UTC)
            )

    started = time.perf_counter()
    try:
        await asyncio.gather(*(capture(index) for index in range(count)))
    finally:
        await cosmos_client.aclose()
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: seed, print ``{"stored": N, "seconds": S}``."""
    parser = argparse.ArgumentParser(prog="python -m bench.reference_seeder")
    parser.add_argument("--conversations", type=int, required=True)
    parser.add_argument("--service-url", required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    arguments = parser.parse_args(argv)
    seconds = asyncio.run(
        seed(
            arguments.conversations, arguments.service_url, arguments.app_id, arguments.concurrency
        )
    )
    print(json.dumps({"stored": arguments.conversations, "seconds": round(seconds, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
