"""One client per process and event loop, created on first use.

Connection pools and token caches only pay off when a client lives across invocations, so the
Cosmos, queue, HTTP and MSAL clients are module-level singletons. Async clients are bound to the
event loop they were created on; when the loop changes (a test with a fresh loop), the client is
created again rather than used on a loop it does not belong to.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_INSTANCES: weakref.WeakSet[ProcessClient[Any]] = weakref.WeakSet()


class ProcessClient(Generic[T]):
    """A lazily created client shared by every invocation on the running event loop.

    Args:
        factory: Builds the client; called at most once per event loop.
        closer: Releases the client's connections; used by :meth:`aclose`.
    """

    def __init__(
        self,
        factory: Callable[[], T],
        closer: Callable[[T], Awaitable[None]] | None = None,
    ) -> None:
        self._factory = factory
        self._closer = closer
        self._client: T | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        _INSTANCES.add(self)

    def get(self) -> T:
        """Return the client of the running event loop, creating it on first use."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = self._factory()
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the client if it belongs to the running loop, and forget it."""
        client, loop = self._client, self._loop
        self._client, self._loop = None, None
        if client is not None and self._closer is not None and loop is asyncio.get_running_loop():
            await self._closer(client)


async def close_process_clients() -> None:
    """Close every process client of the running loop (a host's shutdown).

    Without it, the HTTP sessions and connection pools are only dropped at exit, and aiohttp
    reports each as ``Unclosed client session``. A client that fails to close is skipped: the
    process is ending anyway.
    """
    for client in list(_INSTANCES):
        with contextlib.suppress(Exception):
            await client.aclose()
