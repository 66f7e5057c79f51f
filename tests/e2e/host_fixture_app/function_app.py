"""A function app used only by the local host's end-to-end tests.

Each function shows one behaviour of the host; ``GET /api/counters`` reports what the timer
and queue functions saw, so the tests can observe them over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from typing import Any

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

_lock = threading.Lock()
_seen: dict[str, Any] = {"timerRuns": 0, "received": [], "failingAttempts": 0, "slow": []}
_release_slow = asyncio.Event()
SLOW_LIMIT_SECONDS = 120.0
"""A slow invocation ends by itself after this, released or not (never a stuck host)."""


def _json(body: object, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


@app.route(route="hello/{name:alpha}", methods=["GET"])
async def hello(req: func.HttpRequest) -> func.HttpResponse:
    """Greets by route parameter; the greeting comes from local.settings.json."""
    return _json(
        {
            "hello": req.route_params["name"],
            "greeting": os.environ.get("FIXTURE_GREETING"),
            "query": req.params.get("q"),
        }
    )


@app.route(route="echo", methods=["POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    """A plain (thread-run) function that answers with the request body."""
    return func.HttpResponse(
        req.get_body(),
        status_code=201,
        mimetype="application/octet-stream",
        headers={"X-Echo-Length": str(len(req.get_body()))},
    )


@app.route(route="boom", methods=["GET"])
async def boom(req: func.HttpRequest) -> func.HttpResponse:
    """Always raises, with a message that must not reach the client."""
    raise RuntimeError("FIXTURE-INTERNAL-DETAIL should stay in the log")


@app.route(route="counters", methods=["GET"])
async def counters(req: func.HttpRequest) -> func.HttpResponse:
    """What the timer and queue functions have seen so far."""
    with _lock:
        return _json(_seen)


@app.timer_trigger(schedule="%FIXTURE_TIMER%", arg_name="timer")
async def tick(timer: func.TimerRequest) -> None:
    """Counts its runs."""
    with _lock:
        _seen["timerRuns"] += 1


@app.queue_trigger(arg_name="msg", queue_name="%FIXTURE_QUEUE%", connection="AzureWebJobsStorage")
async def work(msg: func.QueueMessage) -> None:
    """Records each message it receives."""
    with _lock:
        _seen["received"].append(
            {
                "id": msg.id,
                "body": msg.get_body().decode("utf-8"),
                "dequeueCount": msg.dequeue_count,
            }
        )


# An empty connection means AzureWebJobsStorage, as in the real host.
@app.queue_trigger(arg_name="msg", queue_name="%FIXTURE_FAILING_QUEUE%", connection="")
def always_fails(msg: func.QueueMessage) -> None:
    """Fails every time, so its messages end in the poison queue."""
    with _lock:
        _seen["failingAttempts"] += 1
    raise ValueError("this message can never succeed")


@app.route(route="slow/release", methods=["POST"])
async def release_slow(req: func.HttpRequest) -> func.HttpResponse:
    """Lets every running (and later) ``slow`` invocation finish."""
    _release_slow.set()
    return _json({"released": True})


@app.queue_trigger(arg_name="msg", queue_name="%FIXTURE_SLOW_QUEUE%", connection="")
async def slow(msg: func.QueueMessage) -> None:
    """Runs until released over HTTP, so it can outlast its message's lease."""
    entry = {"id": msg.id, "dequeueCount": msg.dequeue_count, "finished": False}
    with _lock:
        _seen["slow"].append(entry)
    try:
        await asyncio.wait_for(_release_slow.wait(), SLOW_LIMIT_SECONDS)
    finally:
        with _lock:
            entry["finished"] = True
