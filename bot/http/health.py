"""``GET /api/health``: is Cosmos DB reachable, is the proactive queue reachable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import azure.functions as func

from bot.http.responses import json_response
from bot.storage import cosmos, queues

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 5.0


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


async def health(req: func.HttpRequest) -> func.HttpResponse:
    """200 when Cosmos DB and the queue answer, 503 with the failing part otherwise."""
    del req
    cosmos_state, queue_state = await asyncio.gather(
        _probe("cosmos", _check_cosmos()),
        _probe("queue", _check_queue()),
    )
    healthy = cosmos_state["status"] == "up" and queue_state["status"] == "up"
    return json_response(
        {
            "status": "healthy" if healthy else "unhealthy",
            "cosmos": cosmos_state,
            "queue": queue_state,
        },
        200 if healthy else 503,
    )
