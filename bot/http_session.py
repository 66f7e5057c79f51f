"""The one pooled aiohttp session of the process, for the Connector and the signing keys.

A session per send costs a TCP and TLS handshake each time (the SDKs do that; see
bench/README.md, "peers"); one shared session keeps connections alive across sends and invocations.
Redirects are never followed by callers (``allow_redirects=False``), cookies are never stored,
and proxy settings from the environment are ignored, so a request goes exactly where the
allow-list said it may.

aiohttp is imported when the session is first made, not when this module is: it is a large
share of the app's import time, and a cold start that never sends should not pay for it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bot.process_client import ProcessClient

if TYPE_CHECKING:
    import aiohttp

CONNECTION_LIMIT = 100
"""Open connections across all hosts; enough for concurrency 50 with headroom."""
KEEPALIVE_SECONDS = 30.0
MAX_METADATA_BYTES = 1024 * 1024
USER_AGENT = "proactive-bot/0.1 (aiohttp)"


class MetadataFetchError(Exception):
    """An OpenID metadata or JWKS document could not be fetched or parsed."""


def _create_session() -> aiohttp.ClientSession:
    import aiohttp

    connector = aiohttp.TCPConnector(
        limit=CONNECTION_LIMIT,
        keepalive_timeout=KEEPALIVE_SECONDS,
        ttl_dns_cache=300,
    )
    return aiohttp.ClientSession(
        connector=connector,
        # No sock_read: ``total`` bounds the read already, and a read timeout is a timer
        # rescheduled on every chunk of every answer.
        timeout=aiohttp.ClientTimeout(total=30.0, connect=5.0, sock_connect=5.0),
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
        raise_for_status=False,
    )


async def _close_session(session: aiohttp.ClientSession) -> None:
    await session.close()


http_session: ProcessClient[aiohttp.ClientSession] = ProcessClient(_create_session, _close_session)
"""The shared session: ``http_session.get()``; ``await http_session.aclose()`` at shutdown."""


async def read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The response body, or ``None`` when it is longer than ``limit`` bytes."""
    length = response.content_length
    if length is not None:
        if length > limit:
            return None
        # The length is declared and within the cap, and aiohttp reads no more than it: one
        # read, without the chunk iterator's per-chunk awaits (every send's answer has one).
        return await response.read()
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def fetch_json(url: str) -> Any:
    """GET a small JSON document (OpenID metadata, JWKS) with the shared session.

    Redirects are refused, the body is capped at ``MAX_METADATA_BYTES``.

    Raises:
        MetadataFetchError: Not a 200, too large, or not JSON.
        aiohttp.ClientError: The connection failed.
        TimeoutError: The server was too slow.
    """
    import aiohttp

    async with http_session.get().get(
        url,
        allow_redirects=False,
        timeout=aiohttp.ClientTimeout(total=10.0, connect=5.0),
        headers={"Accept": "application/json"},
    ) as response:
        if response.status != 200:
            raise MetadataFetchError(f"HTTP {response.status}")
        body = await read_capped(response, MAX_METADATA_BYTES)
        if body is None:
            raise MetadataFetchError("the document is too large")
    try:
        return json.loads(body)
    except ValueError:
        raise MetadataFetchError("the document is not JSON") from None
