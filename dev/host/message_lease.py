"""A fetched queue message's lease: how long it stays invisible, renewed while its function runs.

The Functions host fetches a queue message with a 10-minute visibility timeout and, while the
function still runs, makes it invisible for another 10 minutes every half of that (the WebJobs
queue listener's visibility-update timer). So a long invocation never sees its message handed
to a second receiver, and a host that dies leaves its messages invisible for at most one lease
after its last renewal, never longer: that is how long a crash delays them (docs/delivery.md).

The local host does the same with a lease of ``--queue-lease-seconds``, else
``DEV_HOST_QUEUE_LEASE_SECONDS``, else 600 s; tests of crash recovery shorten it. Each renewal
changes the message's pop receipt, so settling the message (delete, or the failure path) uses
the receipt this lease holds, not the one it was fetched with.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError, ResourceNotFoundError

from dev.host.errors import HostError
from dev.host.stopping import pause

if TYPE_CHECKING:
    from azure.storage.queue import QueueMessage
    from azure.storage.queue.aio import QueueClient

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 600
"""The Functions host's lease of a message in progress (10 minutes)."""
MAX_LEASE_SECONDS = 7 * 24 * 60 * 60
"""The longest visibility timeout Azure Storage queues accept."""
LEASE_VARIABLE = "DEV_HOST_QUEUE_LEASE_SECONDS"
RETRY_FAILED_RENEWAL_SECONDS = 1.0
"""A renewal that failed (storage unreachable) is tried again this soon, within the lease."""


def parse_lease_seconds(raw: str, source: str) -> int:
    """A lease in whole seconds, 1 to seven days.

    Args:
        raw: The text given.
        source: Where it came from, for the error (``--queue-lease-seconds``, the variable).

    Raises:
        HostError: Not a whole number of seconds in range.
    """
    text = raw.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_LEASE_SECONDS:
        raise HostError(
            f"{source}={raw!r} is not a queue message lease in whole seconds "
            f"(1-{MAX_LEASE_SECONDS})"
        )
    return int(text)


def lease_from_environment() -> int:
    """``DEV_HOST_QUEUE_LEASE_SECONDS``, else :data:`DEFAULT_LEASE_SECONDS`.

    Raises:
        HostError: The variable is set to something that is not a lease.
    """
    raw = os.environ.get(LEASE_VARIABLE, "")
    return parse_lease_seconds(raw, LEASE_VARIABLE) if raw.strip() else DEFAULT_LEASE_SECONDS


class MessageLease:
    """One fetched message's invisibility, renewed at half its length until released.

    Args:
        queue: The queue the message came from.
        message: The message as fetched (with the lease as its visibility timeout).
        seconds: The lease.
    """

    def __init__(self, queue: QueueClient, message: QueueMessage, seconds: int) -> None:
        self._queue = queue
        self._message = message
        self._seconds = seconds
        self.pop_receipt: str | None = message.pop_receipt
        """The receipt that settles the message now (each renewal replaces it)."""

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[MessageLease]:
        """Renew the lease in the background for the duration of the ``async with``.

        On exit the renewal stops between two renewals, never in the middle of one, so the
        pop receipt is always the one the queue holds.
        """
        released = asyncio.Event()
        renewing = asyncio.create_task(self._renew(released))
        try:
            yield self
        finally:
            released.set()
            await renewing

    async def _renew(self, released: asyncio.Event) -> None:
        wait = self._seconds / 2
        while not await pause(released, wait):
            try:
                updated = await self._queue.update_message(
                    self._message.id, self.pop_receipt, visibility_timeout=self._seconds
                )
            except ResourceNotFoundError:
                # Deleted, or its lease ran out before this renewal and another receiver has it.
                logger.warning(
                    "queue %s: message %s lost its lease while its function ran",
                    self._queue.queue_name,
                    self._message.id,
                )
                return
            except AzureError as error:
                logger.warning(
                    "queue %s: renewing the lease of message %s failed (%s); retrying",
                    self._queue.queue_name,
                    self._message.id,
                    type(error).__name__,
                )
                wait = min(RETRY_FAILED_RENEWAL_SECONDS, self._seconds / 2)
                continue
            self.pop_receipt = updated.pop_receipt
            wait = self._seconds / 2
