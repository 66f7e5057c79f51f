"""The playground: a web page, served by the local channel, to chat with the bot.

``http://127.0.0.1:<connector port>/playground/`` (``/`` redirects there) plays users in
conversations with the bot, sends device events as the current user (``/_channel/event``:
``DeviceStart`` from a car, or any name with a JSON value), shows the bot's answers and its
proactive messages as they arrive (``/_channel/events``), shows which sample the bot runs
(``botSample`` of ``/_channel/info``, as the stack started it), and shows the bot's side of a
conversation through the bot's own routes (``/_channel/bot/...``): the stored reference, the
schedules, the delivery receipts of messages the page put on the real proactive queue
(``/_channel/enqueue``).

The page is plain HTML, CSS and JavaScript in ``dev/channel/playground/``, served file by
file from a fixed list (no directory listing, no path from the request reaches the disk). The
files are read on each request, so an edit shows on reload. Adaptive Cards are rendered by
Microsoft's ``adaptivecards`` package (:data:`VENDOR_FILES`); an ``Action.Execute`` button
sends the ``adaptiveCard/action`` invoke Teams sends (``/_channel/invoke``) and shows the card
the bot answers; the bot's updates and deletes change or strike the message in place.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiohttp import web

from dev.channel.bot_proxy import BotProxy, add_bot_proxy_routes
from dev.channel.events import add_event_routes
from dev.channel.feed import ConversationFeed
from dev.channel.page_guard import refusal
from dev.channel.proactive_queue import ProactiveQueue, add_queue_routes

PLAYGROUND_DIR = Path(__file__).resolve().parent / "playground"
PLAYGROUND_PATH = "/playground/"

FILES = {
    "index.html": "text/html",
    "playground.css": "text/css",
    "playground.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}
"""The files served, and their content types."""

VENDOR_DIR = Path(__file__).resolve().parents[2] / "node_modules" / "adaptivecards" / "dist"
VENDOR_FILES = {
    "adaptivecards.js": ("adaptivecards.min.js", "text/javascript"),
    "adaptivecards.css": ("adaptivecards.css", "text/css"),
}
"""Microsoft's Adaptive Cards renderer (the ``adaptivecards`` npm package, installed by
``make setup``), served from ``node_modules``: cards render in the page as Teams renders them.
Without it the page falls back to its own plain rendering."""

SECURITY_HEADERS = {
    # Only the page's own scripts and styles run; images of cards may come from anywhere.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: http: https:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def _redirect_home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(PLAYGROUND_PATH)


async def _serve_file(request: web.Request) -> web.StreamResponse:
    refused = refusal(request)
    if refused is not None:
        return refused
    name = request.match_info.get("name") or "index.html"
    content_type = FILES.get(name)
    path = PLAYGROUND_DIR / name
    if name in VENDOR_FILES:
        file_name, content_type = VENDOR_FILES[name]
        path = VENDOR_DIR / file_name
    if content_type is None or not path.is_file():
        raise web.HTTPNotFound(text="no such playground file")
    return web.Response(
        body=path.read_bytes(),
        content_type=content_type,
        charset="utf-8" if content_type.startswith("text/") else None,
        headers=SECURITY_HEADERS,
    )


def add_playground_routes(
    app: web.Application,
    *,
    feed: ConversationFeed,
    queue: ProactiveQueue,
    session: aiohttp.ClientSession,
    bot_url: str,
) -> None:
    """Serve the page, the event stream, the enqueue route and the bot proxy.

    Args:
        app: The connector's application.
        feed: The conversation feed the event stream serves.
        queue: The proactive queue ``/_channel/enqueue`` writes to.
        session: The HTTP session the bot proxy forwards with (the caller closes it).
        bot_url: The bot's ``/api/messages``.
    """
    app.router.add_get("/", _redirect_home)
    app.router.add_get(PLAYGROUND_PATH.rstrip("/"), _redirect_home)
    app.router.add_get(PLAYGROUND_PATH, _serve_file)
    app.router.add_get(PLAYGROUND_PATH + "{name}", _serve_file)
    add_event_routes(app, feed)
    add_queue_routes(app, queue)
    add_bot_proxy_routes(app, BotProxy(session, bot_url))
