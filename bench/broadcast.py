"""Broadcast at the channel's ceiling: seed an audience, broadcast to it, time the arrivals.

``python -m bench.broadcast seed --tenant T --count N --service-url URL --app-id ID`` stores
``N`` personal conversations of tenant ``T`` (as inbound turns store them, through
:meth:`ReferenceStore.capture`), pointing at the local channel's serviceUrl. It runs with the
host's settings (Cosmos endpoint, ``KEY_HASH_SECRET``) in its own process, so those settings
never mix with the caller's, and prints one JSON line: ``{"stored": N, "seconds": S}``. The
end-to-end broadcast test seeds its audience with it.

:func:`run` (``python -m bench`` once registered as ``broadcast``) does the whole thing on the
shared stack, with the channel enforcing the Teams limits: seeds 1,000 conversations, starts a
broadcast to their tenant, and reports the time from the first to the last arrival at the
connector against ``1,000 / 50 RPS`` (target: at most 15% over), and the 429s (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.report import Row
    from bench.session import BenchSession

CHANNEL_ISSUER = "https://api.botframework.com"
TENANT_RPS = 50
AUDIENCE = 1000
TOLERANCE = 0.15
SCALED_HOSTS = 3
"""The issue's bound: the arrivals take at most 15% longer than ``AUDIENCE / TENANT_RPS``."""


def conversation_id(prefix: str, index: int) -> str:
    """The id of seeded conversation ``index``."""
    return f"a:1{prefix}-{index:06d}"


def user_id(prefix: str, index: int) -> str:
    """The id of seeded user ``index``."""
    return f"29:1{prefix}-{index:06d}"


async def seed(
    *,
    tenant_id: str,
    count: int,
    service_url: str,
    app_id: str,
    prefix: str,
    concurrency: int = 32,
) -> float:
    """Capture ``count`` personal conversations of a tenant; returns the seconds it took."""
    from bot.references.store import ReferenceStore
    from bot.schema import ConversationReference
    from bot.storage.cosmos import cosmos_client

    store = ReferenceStore()
    claims = {"aud": app_id, "iss": CHANNEL_ISSUER, "serviceurl": service_url, "tid": tenant_id}
    gate = asyncio.Semaphore(concurrency)

    async def capture(index: int) -> None:
        reference = ConversationReference.model_validate(
            {
                "user": {"id": user_id(prefix, index), "name": f"User {index}"},
                "bot": {"id": f"28:{app_id}", "name": "Bot"},
                "conversation": {
                    "id": conversation_id(prefix, index),
                    "conversationType": "personal",
                    "tenantId": tenant_id,
                },
                "channelId": "msteams",
                "serviceUrl": service_url,
            }
        )
        async with gate:
            await store.capture(reference, claims, now=datetime.now(UTC))

    started = time.perf_counter()
    try:
        await asyncio.gather(*(capture(index) for index in range(count)))
    finally:
        await cosmos_client.aclose()
    return time.perf_counter() - started


def arrival_span(records: Sequence[dict[str, Any]]) -> float:
    """Seconds from the first to the last accepted arrival among the records."""
    moments = [
        datetime.fromisoformat(record["receivedAt"])
        for record in records
        if 200 <= int(record["status"]) < 300
    ]
    return (max(moments) - min(moments)).total_seconds() if moments else 0.0


def seed_audience(
    host_environment: Mapping[str, str],
    tenant: str,
    count: int,
    service_url: str,
    app_id: str,
    *,
    timeout: float = 600,
) -> dict[str, Any]:
    """Store ``count`` conversations of ``tenant`` with the host's settings, in a child process.

    Returns:
        The child's JSON line: ``stored``, ``seconds`` and the conversation id ``prefix``
        (:func:`conversation_id`).

    Raises:
        bench.child_process.ChildFailed: The seeding failed or overran ``timeout``.
    """
    from bench.child_process import run_json_child

    command = [sys.executable, "-m", "bench.broadcast", "seed", "--tenant", tenant]
    command += ["--count", str(count), "--service-url", service_url, "--app-id", app_id]
    return run_json_child(command, host_environment, timeout=timeout)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.broadcast seed ...``: print ``{"stored": N, "seconds": S}``."""
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast")
    commands = parser.add_subparsers(dest="command", required=True)
    seeding = commands.add_parser("seed", help="store conversations of a tenant")
    seeding.add_argument("--tenant", required=True)
    seeding.add_argument("--count", type=int, required=True)
    seeding.add_argument("--service-url", required=True)
    seeding.add_argument("--app-id", required=True)
    seeding.add_argument("--prefix", default="")
    seeding.add_argument("--concurrency", type=int, default=32)
    arguments = parser.parse_args(argv)
    prefix = arguments.prefix or uuid.uuid4().hex[:12]
    seconds = asyncio.run(
        seed(
            tenant_id=arguments.tenant,
            count=arguments.count,
            service_url=arguments.service_url,
            app_id=arguments.app_id,
            prefix=prefix,
            concurrency=arguments.concurrency,
        )
    )
    print(json.dumps({"stored": arguments.count, "prefix": prefix, "seconds": round(seconds, 2)}))
    return 0


def run(session: BenchSession) -> list[Row]:
    """Broadcast to 1,000 conversations of one tenant with the Teams limits enforced, on one
    host and on three."""
    stack = session.stack()
    rows = [_row("broadcast", asyncio.run(_broadcast_once(stack, AUDIENCE)), "")]
    # The same on three hosts (scaled-out instances): the budget leases keep the tenant at
    # its ceiling across them (docs/rate-limits.md).
    added = [stack.add_host() for _ in range(SCALED_HOSTS - 1)]
    try:
        figures = asyncio.run(_broadcast_once(stack, AUDIENCE))
    finally:
        for host in added:
            host.stop()
            stack.more_hosts.remove(host)
    single = rows[0].figures["span_seconds"]
    rows.append(_row("broadcast_3_hosts", figures, f", 1 host {single:.1f} s"))
    return rows


def _row(name: str, figures: dict[str, float], note: str) -> Row:
    from bench.report import Check, Row, Target

    ideal = AUDIENCE / TENANT_RPS
    span = figures["span_seconds"]
    return Row(
        name=name,
        summary=(
            f"{AUDIENCE:,} recipients: first to last arrival {span:.1f} s{note} "
            f"(ceiling {ideal:.0f} s, +{(span / ideal - 1) * 100:.0f}%), "
            f"{figures['throttled']} x 429, seeding {figures['seed_seconds']:.1f} s"
        ),
        figures=dict(figures),
        targets=(
            Target(
                "span_seconds",
                round(ideal * (1 + TOLERANCE), 1),
                "s",
                higher_is_better=False,
                label="first to last arrival",
            ),
        ),
        checks=(
            Check("429 answers", int(figures["throttled"])),
            Check("missing or duplicate messages", int(figures["wrong"])),
        ),
    )


async def _broadcast_once(stack: Any, audience: int) -> dict[str, float]:
    import aiohttp

    from dev.channel import ChannelControl

    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    async with ChannelControl(stack.channel.connector_url) as channel:
        info = await channel.info()
        seeded = seed_audience(
            stack.host_environment, tenant, audience, str(info["serviceUrl"]), str(info["appId"])
        )
        prefix = str(seeded["prefix"])
        await channel.set_rate_limits(True, reset=True)
        try:
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    stack.host.url + "/api/broadcasts",
                    json={
                        "audience": {"channelId": "msteams", "tenantId": tenant},
                        "activity": {"type": "message", "text": "bench broadcast"},
                    },
                ) as response:
                    assert response.status == 202, await response.text()
                ids = {conversation_id(prefix, index) for index in range(audience)}
                deadline = time.monotonic() + 600
                while time.monotonic() < deadline:
                    records = [
                        record
                        for record in await channel.requests()
                        if record["conversationId"] in ids
                    ]
                    if sum(1 for r in records if r["status"] == 201) >= audience:
                        break
                    await asyncio.sleep(1)
        finally:
            await channel.set_rate_limits(False, reset=True)
    delivered = [r for r in records if r["status"] == 201]
    per_conversation = {r["conversationId"] for r in delivered}
    return {
        "span_seconds": round(arrival_span(delivered), 2),
        "throttled": float(sum(1 for r in records if r["status"] == 429)),
        "wrong": float(abs(len(delivered) - audience) + (audience - len(per_conversation))),
        "seed_seconds": float(seeded["seconds"]),
    }


if __name__ == "__main__":
    sys.exit(main())
