"""``GET /api/health``: is Cosmos DB reachable, is the proactive queue reachable.

The route is anonymous and the app scales out, so the answer is cached per instance for
:data:`CACHE_SECONDS`: a flood of calls costs at most one Cosmos DB read and one queue call per
instance per interval. Callers that arrive while a check runs wait for that check instead of
starting their own. A cached answer is at most that old, "down" included.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

import azure.functions as func

from bot.http_responses import json_response
from bot.storage import cosmos, queues

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 5.0
CACHE_SECONDS = 5.0
"""How long one dependency check answers every health call of this instance."""

_Report = tuple[dict[str, str], dict[str, str]]
_cached: tuple[asyncio.AbstractEventLoop, float, asyncio.Task[_Report]] | None = None
"""The loop the check ran on (a task cannot be awaited from another), its start, the check."""
_clock = time.monotonic


async def _check_cosmos() -> None:
    await cosmos.database().read()


async def _check_queue() -> None:
    await queues.queue().get_queue_properties()


async def _probe(name: str, check: Coroutine[Any, Any, None]) -> dict[str, str]:
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)
    except Exception as error:  # any failure means "down"; the reason goes to the log
        logger.warning("health: %s is down: %s", name, type(error).__name__)
        return {"status": "down", "error": type(error).__name__}
    return {"status": "up"}


async def _report() -> _Report:
    cosmos_state, queue_state = await asyncio.gather(
        _probe("cosmos", _check_cosmos()),
        _probe("queue", _check_queue()),
    )
    return cosmos_state, queue_state


def _current_check() -> asyncio.Task[_Report]:
    """The check that answers now: the cached one while it is fresh, else a new one."""
    global _cached
    loop = asyncio.get_running_loop()
    now = _clock()
    cached = _cached
    if cached is None or cached[0] is not loop or now - cached[1] >= CACHE_SECONDS:
        cached = (loop, now, loop.create_task(_report()))
        _cached = cached
    return cached[2]


async def health(req: func.HttpRequest) -> func.HttpResponse:
    """200 when Cosmos DB and the queue answer, 503 with the failing part otherwise."""
    del req
    # shield: a caller that goes away must not cancel the check the others wait for.
    cosmos_state, queue_state = await asyncio.shield(_current_check())
    healthy = cosmos_state["status"] == "up" and queue_state["status"] == "up"
    return json_response(
        {
            "status": "healthy" if healthy else "unhealthy",
            "cosmos": cosmos_state,
            "queue": queue_state,
        },
        200 if healthy else 503,
    )
