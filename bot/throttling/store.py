"""Shared throttle records (Cosmos DB container ``throttles``): a 429 slows every instance.

Each instance governs its own sends, but the channel counts the app's sends in a tenant
together. When one instance is answered 429, it writes the tenant's record ("throttled until
T"); every instance reads the record before sending and waits until ``T``.

Reading it must cost nothing per send: the record is cached in process for
``record_cache_seconds`` (one point read per tenant per second at most, and concurrent sends
share the one read in flight), and a record this instance wrote is known at once. Records are
advisory: if Cosmos DB cannot be read or written, sends go on (the channel's own 429 answers
still slow them down) and the failure is logged.

A document::

    {"id": "v1-<hmac of channel and tenant>", "kind": "throttle",
     "channelId": "msteams", "tenantId": "...", "until": "2026-...Z",
     "retryAfterSeconds": 1.0, "updatedAt": "2026-...Z", "ttl": 3600}
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.storage.containers import THROTTLES
from bot.storage.cosmos import container as named_container
from bot.storage.keys import storage_id
from bot.storage.timestamps import from_timestamp, to_timestamp

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy

logger = logging.getLogger(__name__)

THROTTLE_KIND = "throttle"
RECORD_TTL_SECONDS = 3600
"""A record is kept this long after its ``until`` (Cosmos DB deletes it then)."""
MAX_WRITE_ROUNDS = 4

Scope = tuple[str, str]
"""``(channel id, tenant id)``; the tenant is ``""`` for channels without tenants."""


def throttle_document_id(channel_id: str, tenant_id: str) -> str:
    """The id of a tenant's throttle record."""
    return storage_id(THROTTLE_KIND, channel_id, tenant_id)


@dataclass
class _Cached:
    until: datetime | None
    read_at: float


class ThrottleRecords:
    """Reads and writes the shared throttle records, with an in-process cache.

    Args:
        container: Returns the ``throttles`` container; the process-wide one when omitted.
        cache_seconds: How long a read record is trusted.
        clock: Monotonic seconds (for the cache).
        wall_clock: The current UTC time (records hold wall-clock times).
    """

    def __init__(
        self,
        *,
        container: Callable[[], ContainerProxy] | None = None,
        cache_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._container = container or _throttles_container
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._wall_clock = wall_clock
        self._cache: dict[Scope, _Cached] = {}
        self._reads: dict[Scope, asyncio.Future[datetime | None]] = {}
        self.reads = 0
        """Point reads made (instrumentation for tests and benchmarks)."""

    async def until(self, channel_id: str, tenant_id: str) -> datetime | None:
        """Until when the tenant is throttled, or ``None`` (cached; never raises)."""
        scope = (channel_id, tenant_id)
        cached = self._cache.get(scope)
        if cached is not None and self._clock() - cached.read_at < self._cache_seconds:
            return cached.until
        pending = self._reads.get(scope)
        if pending is not None:
            # Another send is reading this record right now: share its answer.
            return await asyncio.shield(pending)
        future: asyncio.Future[datetime | None] = asyncio.get_running_loop().create_future()
        self._reads[scope] = future
        try:
            until = await self._read(scope)
            self._remember(scope, until)
            future.set_result(until)
        finally:
            del self._reads[scope]
            if not future.done():
                future.set_result(None)
        return until

    async def record(self, channel_id: str, tenant_id: str, until: datetime) -> None:
        """Note that the tenant is throttled until ``until`` (never shortens a later record).

        Best effort: a failure to write is logged, not raised.
        """
        scope = (channel_id, tenant_id)
        cached = self._cache.get(scope)
        if cached is None or cached.until is None or cached.until < until:
            self._remember(scope, until)
        try:
            await self._write(scope, until)
        except Exception as error:
            logger.warning(
                "throttle record: could not write the %s record (%s)",
                channel_id,
                type(error).__name__,
            )

    def _remember(self, scope: Scope, until: datetime | None) -> None:
        self._cache[scope] = _Cached(until, self._clock())
        if len(self._cache) > 4096:
            now = self._clock()
            for key in [
                k for k, v in self._cache.items() if now - v.read_at >= self._cache_seconds
            ]:
                del self._cache[key]

    async def _read(self, scope: Scope) -> datetime | None:
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        document_id = throttle_document_id(*scope)
        self.reads += 1
        try:
            document = await self._container().read_item(document_id, partition_key=document_id)
        except CosmosResourceNotFoundError:
            return None
        except Exception as error:
            # Advisory: a throttle record that cannot be read must not stop the sends.
            logger.warning(
                "throttle record: could not read the %s record (%s)",
                scope[0],
                type(error).__name__,
            )
            return None
        return _until_of(document, self._wall_clock())

    async def _write(self, scope: Scope, until: datetime) -> None:
        from azure.core import MatchConditions
        from azure.cosmos.exceptions import (
            CosmosAccessConditionFailedError,
            CosmosResourceExistsError,
            CosmosResourceNotFoundError,
        )

        container = self._container()
        document_id = throttle_document_id(*scope)
        now = self._wall_clock()
        for _ in range(MAX_WRITE_ROUNDS):
            try:
                existing: dict[str, Any] | None = dict(
                    await container.read_item(document_id, partition_key=document_id)
                )
            except CosmosResourceNotFoundError:
                existing = None
            if existing is not None:
                stored = _until_of(existing, now)
                if stored is not None and stored >= until:
                    return
            body = {
                "id": document_id,
                "kind": THROTTLE_KIND,
                "channelId": scope[0],
                "tenantId": scope[1],
                "until": to_timestamp(until),
                "retryAfterSeconds": round(max(0.0, (until - now).total_seconds()), 3),
                "updatedAt": to_timestamp(now),
                "ttl": math.ceil(max(0.0, (until - now).total_seconds())) + RECORD_TTL_SECONDS,
            }
            try:
                if existing is None:
                    await container.create_item(body)
                else:
                    await container.replace_item(
                        document_id,
                        body,
                        etag=existing["_etag"],
                        match_condition=MatchConditions.IfNotModified,
                    )
                return
            except (
                CosmosResourceExistsError,
                CosmosAccessConditionFailedError,
                CosmosResourceNotFoundError,
            ):
                continue  # another instance wrote it meanwhile: decide again
        logger.warning("throttle record: gave up after %d conflicts", MAX_WRITE_ROUNDS)


def _until_of(document: Any, now: datetime) -> datetime | None:
    value = document.get("until") if isinstance(document, dict) else None
    if not isinstance(value, str):
        return None
    try:
        until = from_timestamp(value)
    except ValueError:
        return None
    # A record far in the future is a mistake (or a clock gone wrong): cap what it can do.
    return min(until, now + timedelta(hours=1)) if until > now else None


def _throttles_container() -> ContainerProxy:
    return named_container(THROTTLES.name)
