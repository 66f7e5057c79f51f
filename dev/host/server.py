"""The host's life: bind HTTP, start the timers and queue listeners, stop cleanly on a signal."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from bot.process_client import close_process_clients
from dev.host.app import HttpFunction, LoadedApp
from dev.host.errors import HostError
from dev.host.http_server import build_route_table, build_web_app, describe_routes
from dev.host.message_lease import DEFAULT_LEASE_SECONDS
from dev.host.queues import QueueListener
from dev.host.routes import RouteError, RouteTable
from dev.host.timers import run_timer

logger = logging.getLogger("Host.Startup")

HOST = "127.0.0.1"
DEFAULT_PORT = 7071
PORT_VARIABLE = "FUNCTIONS_HTTP_PORT"
TIME_ZONE_VARIABLE = "WEBSITE_TIME_ZONE"
SHUTDOWN_SECONDS = 30.0
"""How long in-flight invocations may take to finish once the host is asked to stop."""


def port_from_environment() -> int:
    """``FUNCTIONS_HTTP_PORT``, or 7071.

    Raises:
        HostError: The variable is not a port number.
    """
    raw = os.environ.get(PORT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise HostError(f"{PORT_VARIABLE}={raw!r} is not a port number (1-65535)")
    return int(raw)


def _timer_zone() -> ZoneInfo | None:
    name = os.environ.get(TIME_ZONE_VARIABLE, "").strip()
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HostError(f"{TIME_ZONE_VARIABLE}={name!r} is not an IANA time zone") from None


async def serve(
    app: LoadedApp, port: int, *, queue_lease_seconds: int = DEFAULT_LEASE_SECONDS
) -> int:
    """Host ``app`` on ``127.0.0.1:port`` until SIGINT or SIGTERM.

    Args:
        app: The loaded function app.
        port: The HTTP port.
        queue_lease_seconds: How long a fetched queue message stays invisible while its
            function runs (renewed at half of it).

    Returns:
        The exit status: 0 after a clean stop.

    Raises:
        HostError: The port is taken, a route is not supported, or a setting is invalid.
    """
    try:
        table = build_route_table(app.http, app.config.route_prefix)
    except RouteError as error:
        raise HostError(str(error)) from None
    zone = _timer_zone()
    stop = asyncio.Event()
    started = False
    runner = web.AppRunner(
        build_web_app(
            table,
            lambda: "Stopping" if stop.is_set() else "Running" if started else "Initialized",
        ),
        access_log=None,  # request lines may carry keys and ids; invocations are logged instead
        shutdown_timeout=SHUTDOWN_SECONDS,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, HOST, port).start()
    except OSError as error:
        await runner.cleanup()
        if error.errno == errno.EADDRINUSE:
            raise HostError(
                f"port {port} on {HOST} is already in use; stop what uses it or set "
                f"{PORT_VARIABLE} (or --port) to a free port"
            ) from None
        raise HostError(f"cannot listen on {HOST}:{port}: {error}") from None

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    listeners = [asyncio.create_task(run_timer(timer, stop, zone)) for timer in app.timers]
    listeners += [
        asyncio.create_task(
            QueueListener(function, app.config.queues, queue_lease_seconds).run(stop)
        )
        for function in app.queues
    ]
    for listener in listeners:
        listener.add_done_callback(_log_failure)
    _print_functions(app, table, f"http://{HOST}:{port}")
    started = True
    logger.info("Host started (%d functions)", len(app.http) + len(app.timers) + len(app.queues))

    await stop.wait()
    logger.info("Stopping the host: no new work; waiting for running invocations")
    await asyncio.gather(_finish(listeners), runner.cleanup())
    # The app's clients (HTTP sessions, storage pools) are closed, not dropped at exit.
    await close_process_clients()
    logger.info("Host stopped")
    return 0


async def _finish(listeners: list[asyncio.Task[None]]) -> None:
    if not listeners:
        return
    _, late = await asyncio.wait(listeners, timeout=SHUTDOWN_SECONDS)
    for task in late:
        task.cancel()
    if late:
        logger.warning(
            "%d listeners did not finish in %.0f s; cancelled", len(late), SHUTDOWN_SECONDS
        )
        await asyncio.wait(late)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("a timer or queue listener stopped on an error", exc_info=task.exception())


def _print_functions(app: LoadedApp, table: RouteTable[HttpFunction], base_url: str) -> None:
    lines = ["", "Functions:", ""]
    lines += [f"\t{line}" for line in describe_routes(table, base_url)]
    lines += [f"\t{timer.name}: timerTrigger" for timer in app.timers]
    lines += [f"\t{queue.name}: queueTrigger ({queue.queue_name})" for queue in app.queues]
    print("\n".join([*lines, ""]), flush=True)
