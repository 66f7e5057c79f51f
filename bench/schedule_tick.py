"""Schedule tick: one tick over 20,000 schedules of which 100 are due.

The point is the due query: a tick reads the due documents only (an indexed range query on
``nextRunAt``), so the documents it reads stay within a small constant of the due count
however many schedules exist. Printed: documents read, pages, occurrences enqueued, the
tick's wall time, and a second tick right after (nothing due: nothing read).

The schedules go into a container of their own (``bench-schedules-<run>``) and the messages
into a queue of their own, both removed at the end, so nothing else sees them. Seeding is
the slow part (the emulator takes ~10 ms a write); it runs with concurrency and its size is a
parameter. The emulator has no indexes (it scans), so its tick time says little about Cosmos
DB; the documents read are what the query returns in either.

Standalone::

    python -m bench.schedule_tick [--schedules 20000] [--due 100] [--seed-concurrency 32]

starts its own emulators (in memory) unless ``COSMOS_ENDPOINT`` is set, prints the figures, and
a JSON line last. ``python -m bench --only schedule_tick`` runs it against the bench session's
emulators.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_SCHEDULES = 20_000
QUICK_SCHEDULES = 2_000
DEFAULT_DUE = 100
SEED_CONCURRENCY = 32
TIMEOUT_SECONDS = 1800.0
EXTRA_READS_ALLOWED = 10
"""Documents a tick may read beyond the due ones before the check fails."""


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.schedule_tick", description=__doc__)
    parser.add_argument("--schedules", type=int, default=DEFAULT_SCHEDULES)
    parser.add_argument("--due", type=int, default=DEFAULT_DUE)
    parser.add_argument("--seed-concurrency", type=int, default=SEED_CONCURRENCY)
    parser.add_argument("--page-size", type=int, default=100)
    arguments = parser.parse_args(argv)
    if not 0 <= arguments.due <= arguments.schedules:
        parser.error("--due must be between 0 and --schedules")
    return arguments


def _body(index: int, due: bool) -> dict[str, Any]:
    return {
        "conversation": {"channelId": "msteams", "conversationId": f"bench-{index}"},
        # Due ones run at 08:00 UTC; the rest at 08:00 in a zone where that is hours away.
        "cron": "0 0 8 * * *",
        "timeZone": "UTC" if due else "Pacific/Kiritimati",
        "activities": [{"type": "message", "text": "Bench {localDate} {localTime}"}],
    }


async def measure(
    schedules: int, due: int, seed_concurrency: int, page_size: int
) -> dict[str, Any]:
    """Seed, tick twice, clean up; the figures."""
    from azure.cosmos import PartitionKey

    from bot.proactive.enqueue import enqueue
    from bot.proactive.message import ProactiveMessage
    from bot.schedules.documents import new_document
    from bot.schedules.service import validate_fields
    from bot.schedules.store import ScheduleStore
    from bot.schedules.tick import ScheduleTicker
    from bot.storage import cosmos, queues

    run = uuid.uuid4().hex[:8]
    container_name = f"bench-schedules-{run}"
    queue_name = f"bench-schedules-{run}"
    created = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    tick_at = datetime(2026, 11, 23, 8, 0, 5, tzinfo=UTC)
    database = cosmos.database()
    await database.create_container(id=container_name, partition_key=PartitionKey(path="/id"))
    queue = queues.queue(queue_name)
    await queue.create_queue()
    try:
        store = ScheduleStore(container=lambda: cosmos.container(container_name))
        fields = {flag: validate_fields(_body(0, flag)) for flag in (True, False)}
        gate = asyncio.Semaphore(seed_concurrency)

        async def seed(index: int) -> None:
            async with gate:
                document = new_document(f"bench-{run}-{index}", fields[index < due], created)
                await store.create(document)

        seed_started = time.perf_counter()
        await asyncio.gather(*(seed(index) for index in range(schedules)))
        seed_seconds = time.perf_counter() - seed_started

        async def to_bench_queue(message: ProactiveMessage) -> None:
            await enqueue(message, queue=queue)

        ticker = ScheduleTicker(
            ScheduleStore(container=lambda: cosmos.container(container_name)),
            to_bench_queue,
            page_size=page_size,
            budget=timedelta(minutes=10),
        )
        started = time.perf_counter()
        report = await ticker.tick(tick_at)
        tick_seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = await ticker.tick(tick_at + timedelta(seconds=1))
        second_seconds = time.perf_counter() - started

        ids: Counter[str] = Counter()
        async for message in queue.receive_messages(messages_per_page=32, visibility_timeout=600):
            ids[json.loads(message.content)["id"]] += 1
    finally:
        await database.delete_container(container_name)
        await queue.delete_queue()
        await queues.queue_service.aclose()
        await cosmos.cosmos_client.aclose()
    return {
        "schedules": schedules,
        "due": due,
        "documents_read": report.documents_read,
        "pages": report.pages,
        "claimed": report.claimed,
        "enqueued": report.enqueued,
        "failures": report.failures,
        "tick_seconds": round(tick_seconds, 3),
        "second_tick_documents_read": second.documents_read,
        "second_tick_seconds": round(second_seconds, 3),
        "messages": sum(ids.values()),
        "duplicate_ids": sum(count - 1 for count in ids.values() if count > 1),
        "seed_seconds": round(seed_seconds, 1),
    }


def describe(figures: dict[str, Any]) -> str:
    """The figures as lines for people."""
    return "\n".join(
        [
            f"schedules {figures['schedules']:,}, due {figures['due']:,} "
            f"(seeded in {figures['seed_seconds']} s)",
            f"tick: read {figures['documents_read']:,} documents in {figures['pages']} pages, "
            f"enqueued {figures['enqueued']:,}, in {figures['tick_seconds']} s",
            f"next tick: read {figures['second_tick_documents_read']:,} documents "
            f"in {figures['second_tick_seconds']} s",
            f"queue: {figures['messages']:,} messages, {figures['duplicate_ids']} duplicate ids",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurement (starting emulators unless settings point at some); 0 on success."""
    import os

    arguments = parse_arguments(argv)
    options = (arguments.schedules, arguments.due, arguments.seed_concurrency, arguments.page_size)
    if os.environ.get("COSMOS_ENDPOINT"):
        figures = asyncio.run(measure(*options))
    else:
        figures = _with_own_services(*options)
    print(describe(figures), file=sys.stderr)
    print(json.dumps(figures))
    return 0 if figures["duplicate_ids"] == 0 and figures["failures"] == 0 else 1


def _with_own_services(
    schedules: int, due: int, seed_concurrency: int, page_size: int
) -> dict[str, Any]:
    import os

    from bot.settings import get_settings
    from dev.services import start_services

    with tempfile.TemporaryDirectory(prefix="bench-schedule-tick-") as directory:
        services = start_services(Path(directory), fresh=True, environ={}, persist=False)
        try:
            os.environ.update(
                {
                    **services.env,
                    "LOCAL_SETTINGS_PATH": "/nonexistent/local.settings.json",
                    "BOT_AUTH_DISABLED": "true",
                }
            )
            get_settings.cache_clear()
            return asyncio.run(measure(schedules, due, seed_concurrency, page_size))
        finally:
            services.stop()


def run(session: Any) -> list[Any]:
    """The benchmark of ``python -m bench``: a child process against the session's emulators."""
    from bench.child_process import run_json_child
    from bench.environment import OFFLINE_SETTINGS, child_environment
    from bench.report import Check, Row, Target

    schedules = QUICK_SCHEDULES if session.options.quick else DEFAULT_SCHEDULES
    services = session.stack().services
    environment = child_environment({**OFFLINE_SETTINGS, **services.env})
    figures = run_json_child(
        [sys.executable, "-m", "bench.schedule_tick", "--schedules", str(schedules)],
        environment,
        timeout=TIMEOUT_SECONDS,
    )
    extra_reads = figures["documents_read"] - figures["due"]
    return [
        Row(
            "schedule_tick",
            f"{figures['documents_read']:,} of {figures['schedules']:,} documents read for "
            f"{figures['due']} due; tick {figures['tick_seconds']} s",
            figures=figures,
            targets=(
                Target(
                    "documents_read",
                    figures["due"] + EXTRA_READS_ALLOWED,
                    "documents",
                    False,
                    "documents read",
                ),
            ),
            checks=(
                Check("duplicate message ids", figures["duplicate_ids"]),
                Check("occurrences not enqueued", figures["due"] - figures["enqueued"]),
                Check("documents read beyond the due ones", max(0, extra_reads)),
            ),
            notes=[
                "schedule_tick: the emulator scans instead of using indexes; documents read "
                "is the figure that carries over to Cosmos DB"
            ],
        )
    ]


if __name__ == "__main__":
    sys.exit(main())
