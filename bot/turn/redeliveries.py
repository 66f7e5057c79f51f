"""Inbound activities run their turn once: a channel's redelivery is answered, not re-run.

Channels redeliver an activity when the bot's answer is late or a 5xx, and a captured request
can be replayed while its token is valid. Before its turn, an activity with an ``id`` claims a
document in the ``inbound`` container with ``create_item``: Cosmos DB lets exactly one create
of an id succeed, on every instance, so a 409 means the activity was taken already and its
turn is skipped. The document id is the HMAC storage id of channel, conversation and activity
id (:mod:`bot.storage.keys`); the document holds nothing else but its expiry.

The claim lives at least as long as the request's token could be replayed (its ``exp`` plus
the validation's clock skew), and never less than :data:`MIN_TTL_SECONDS`. A turn that fails
with a 5xx answer gives its claim back, so the channel's retry runs; a process that dies mid-turn
keeps it, and the retry is then dropped (at most once, as for any crash mid-turn). Activities
without an id are never deduplicated. If Cosmos DB cannot be reached the turn runs anyway:
a possible duplicate is better than a lost activity.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from bot.process_client import ProcessClient
from bot.schema import Activity
from bot.storage.containers import INBOUND
from bot.storage.keys import storage_id

if TYPE_CHECKING:
    from azure.cosmos.aio import ContainerProxy

logger = logging.getLogger(__name__)

KEY_KIND = "inbound-activity"
CLOCK_SKEW_SECONDS = 5 * 60
"""As in the inbound token validation (:mod:`bot.auth.inbound`)."""
MIN_TTL_SECONDS = 3600 + CLOCK_SKEW_SECONDS
"""An hour (a channel token's usual lifetime) and the skew: tokens without ``exp`` get this."""
MAX_TTL_SECONDS = 7 * 24 * 3600
"""A bound on a claim, whatever a token's ``exp`` says."""


def activity_key(activity: Activity) -> str | None:
    """The storage id of an activity's claim; ``None`` for an activity without an id."""
    if not activity.id:
        return None
    conversation = activity.conversation.id if activity.conversation else None
    return storage_id(KEY_KIND, activity.channel_id or "", conversation or "", activity.id)


def claim_ttl(claims: Mapping[str, Any], now: float) -> int:
    """How long a claim must live: until the token can no longer be replayed."""
    expires = claims.get("exp")
    if isinstance(expires, int | float) and not isinstance(expires, bool):
        remaining = int(expires - now) + CLOCK_SKEW_SECONDS
        return max(MIN_TTL_SECONDS, min(MAX_TTL_SECONDS, remaining))
    return MIN_TTL_SECONDS


def _default_container() -> ContainerProxy:
    from bot.storage.cosmos import container

    return container(INBOUND.name)


class RedeliveryGuard:
    """Claims inbound activities so that each runs its turn once.

    Args:
        container: Returns the ``inbound`` container.
        clock: Seconds since the epoch.
    """

    def __init__(
        self,
        container: Callable[[], ContainerProxy] = _default_container,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._container = container
        self._clock = clock

    async def claim(self, activity: Activity, claims: Mapping[str, Any]) -> bool:
        """Take the activity's turn; ``False`` when another request took it already.

        Args:
            activity: The authenticated activity.
            claims: Its token's claims (for the claim's lifetime).
        """
        key = activity_key(activity)
        if key is None:
            return True
        from azure.core.exceptions import AzureError
        from azure.cosmos.exceptions import CosmosResourceExistsError

        document = {"id": key, "ttl": claim_ttl(claims, self._clock())}
        try:
            await self._container().create_item(document)
        except CosmosResourceExistsError:
            logger.info("inbound: activity already taken; its turn is not run again")
            return False
        except AzureError as error:
            logger.warning(
                "inbound: could not claim the activity (%s); running it", type(error).__name__
            )
        return True

    async def release(self, activity: Activity) -> None:
        """Give a claim back (its turn failed), so a redelivery runs."""
        key = activity_key(activity)
        if key is None:
            return
        from azure.core.exceptions import AzureError

        try:
            await self._container().delete_item(key, partition_key=key)
        except AzureError as error:
            logger.warning("inbound: could not release a claim: %s", type(error).__name__)


redelivery_guard: ProcessClient[RedeliveryGuard] = ProcessClient(RedeliveryGuard)
"""The process-wide guard of ``POST /api/messages``."""
