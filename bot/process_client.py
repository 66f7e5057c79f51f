"""One client per process and event loop, created on first use.

Connection pools and token caches only pay off when a client lives across invocations, so the
Cosmos, queue, HTTP and MSAL clients are module-level singletons. Async clients are bound to the
event loop they were created on; when the loop changes (a test with a fresh loop), the client is
created again rather than used on a loop it does not belong to. An object built from the
settings (the serviceUrl policy, the token provider) is built again when the settings are
reloaded. This is the one way the bot holds a process-wide object.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_INSTANCES: weakref.WeakSet[ProcessClient[Any]] = weakref.WeakSet()
_SLOTS: dict[str, ProcessClient[Any]] = {}
_PROVIDED: dict[str, Callable[[], Any]] = {}


class ProcessClient(Generic[T]):
    """A lazily created client shared by every invocation on the running event loop.

    Args:
        factory: Builds the client; called at most once per event loop (and key).
        closer: Releases the client's connections; used by :meth:`aclose`.
        key: Returns what the client is built from (the settings object); when it returns
            another object than last time, the client is built again.
        per_loop: Whether the client belongs to the running event loop (async clients);
            ``False`` for plain objects, which may then be had outside a loop too.
    """

    def __init__(
        self,
        factory: Callable[[], T],
        closer: Callable[[T], Awaitable[None]] | None = None,
        *,
        key: Callable[[], object] | None = None,
        per_loop: bool = True,
    ) -> None:
        self._factory = factory
        self._closer = closer
        self._key = key
        self._per_loop = per_loop
        self._client: T | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._built_from: object = None
        _INSTANCES.add(self)

    @classmethod
    def slot(cls, name: str) -> ProcessClient[T]:
        """A process-wide object that only the composition root knows how to build.

        A package below the root declares the slot, so its own code can reach the process's
        object; the root fills it with :func:`provide_slot` under the same ``name`` (before or
        after the slot's module is imported, so the root need not import it, and a cold start
        that never uses it never loads it). Until then :meth:`get` raises ``RuntimeError``.
        """

        def not_composed() -> T:
            raise RuntimeError(f"{name} is built by the composition root: import bot.app first")

        client = cls(not_composed)
        _SLOTS[name] = client
        factory = _PROVIDED.get(name)
        if factory is not None:
            client.provide(factory)
        return client

    def get(self) -> T:
        """Return the client of the running event loop, creating it on first use."""
        loop = asyncio.get_running_loop() if self._per_loop else None
        built_from = self._key() if self._key is not None else None
        if self._client is None or self._loop is not loop or self._built_from is not built_from:
            self._client = self._factory()
            self._loop = loop
            self._built_from = built_from
        return self._client

    def provide(self, factory: Callable[[], T]) -> None:
        """Build the client with ``factory`` from now on (the composition root fills a slot).

        A package below the root declares the slot, so its own code can reach the process's
        object, and the root, which alone knows how to build it, provides the factory.
        """
        self._factory = factory
        self._client, self._loop, self._built_from = None, None, None

    async def aclose(self) -> None:
        """Close the client if it belongs to the running loop, and forget it."""
        client, loop = self._client, self._loop
        self._client, self._loop, self._built_from = None, None, None
        if client is None or self._closer is None:
            return
        if not self._per_loop or loop is asyncio.get_running_loop():
            await self._closer(client)


def provide_slot(name: str, factory: Callable[[], Any]) -> None:
    """Build the slot ``name`` (:meth:`ProcessClient.slot`) with ``factory`` from now on."""
    _PROVIDED[name] = factory
    client = _SLOTS.get(name)
    if client is not None:
        client.provide(factory)


async def close_process_clients() -> None:
    """Close every process client of the running loop (a host's shutdown).

    Without it, the HTTP sessions and connection pools are only dropped at exit, and aiohttp
    reports each as ``Unclosed client session``. A client that fails to close is skipped: the
    process is ending anyway.
    """
    for client in list(_INSTANCES):
        with contextlib.suppress(Exception):
            await client.aclose()
