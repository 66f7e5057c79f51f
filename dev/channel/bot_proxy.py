"""``/_channel/bot/...``: the bot's service routes, reached through the channel.

The playground page is served by the channel, and the bot's ``/api/...`` routes are on
another origin; calling them from the page directly would need CORS on the bot. The channel
knows the bot's URL, so it forwards instead:

    GET /_channel/bot/references?channelId=msteams&conversationId=a:1xyz
        -> GET http://127.0.0.1:7071/api/references?channelId=msteams&conversationId=a:1xyz

Only the service routes a page needs are forwarded (:data:`PROXIED_ROUTES`), never
``/api/messages``: users talk to the bot through ``/_channel/say``, signed as the channel. The
answer comes back as the bot gave it (status, body, content type); a bot that does not answer is
502 ``BotUnreachable``. Function keys are not sent: the local host does not check them.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web
from yarl import URL

from dev.channel.page_guard import refusal
from dev.channel.responses import error_response

PREFIX = "/_channel/bot/"
PROXIED_ROUTES = frozenset(
    {"health", "references", "schedules", "deliveries", "sendactivity", "sendtoreference"}
)
"""First path segments under ``/api/`` that are forwarded."""
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
TIMEOUT_SECONDS = 30.0
MAX_BODY_BYTES = 256 * 1024


def bot_api_base(bot_url: str) -> str:
    """The bot's ``/api/`` base from its messaging endpoint (``.../api/messages``)."""
    return bot_url[: bot_url.rfind("/") + 1]


class BotProxy:
    """Forwards page requests to the bot's service routes.

    Args:
        session: The HTTP session to forward with (the caller closes it).
        bot_url: The bot's ``/api/messages``; the other routes are its siblings.
    """

    def __init__(self, session: aiohttp.ClientSession, bot_url: str) -> None:
        self._session = session
        self.api_base = bot_api_base(bot_url)
        self._timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)

    async def handle(self, request: web.Request) -> web.Response:
        """Forward one request and answer what the bot answered."""
        refused = refusal(request)
        if refused is not None:
            return refused
        # The raw (still percent-encoded) tail: an id holding "/" or "%" stays one segment.
        raw_tail = request.raw_path.split("?", 1)[0][len(PREFIX) :]
        route = raw_tail.split("/", 1)[0]
        if route not in PROXIED_ROUTES:
            names = ", ".join(sorted(PROXIED_ROUTES))
            return error_response(404, "NotProxied", f"the channel forwards only {names}")
        body = await request.read()
        if len(body) > MAX_BODY_BYTES:
            return error_response(413, "PayloadTooLarge", "the body is too large to forward")
        target = URL(self.api_base + raw_tail, encoded=True).with_query(request.query)
        headers = {"Accept": "application/json"}
        if body:
            headers["Content-Type"] = request.headers.get("Content-Type", "application/json")
        try:
            async with self._session.request(
                request.method,
                target,
                data=body or None,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as answer:
                content = await answer.read()
                content_type = answer.headers.get("Content-Type")
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as error:
            return error_response(
                502, "BotUnreachable", f"the bot at {self.api_base} did not answer: {error!r}"
            )
        response = web.Response(status=status, body=content)
        if content_type:
            response.headers["Content-Type"] = content_type
        response.headers["Cache-Control"] = "no-store"
        return response


def add_bot_proxy_routes(app: web.Application, proxy: BotProxy) -> None:
    """Serve ``/_channel/bot/{route}...`` through ``proxy``."""
    for method in METHODS:
        app.router.add_route(method, PREFIX + "{tail:.*}", proxy.handle)
