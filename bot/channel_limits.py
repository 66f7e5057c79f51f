"""The rate limits a channel applies to a bot: sliding windows per conversation and per tenant.

Teams publishes them (docs/rate-limits.md; "Rate limiting for agents"): per bot and
conversation ("thread"), sending or creating, 7 per 1 s, 8 per 2 s, 60 per 30 s and 1,800 per
hour; per app and tenant, 50 requests per second (30 in an older copy of the page: configure
``THROTTLE_LIMITS`` to be stricter). Over a limit Teams answers 429 with ``Retry-After``.

No other channel publishes numbers, and the Bot Framework adds no throttling of its own, so by
default other channels get no proactive windows; their 429 answers are honoured all the same
(:mod:`bot.throttling.governor`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TEAMS_CHANNEL = "msteams"
"""The Teams channel id."""

DEFAULT_CHANNEL = "*"
"""The key of :data:`THROTTLE_LIMITS` entries that apply to every other channel."""


@dataclass(frozen=True)
class Window:
    """At most ``limit`` sends in any ``seconds`` long interval."""

    limit: int
    seconds: float

    def __post_init__(self) -> None:
        if self.limit < 1 or not self.seconds > 0:
            raise ValueError("a window needs limit >= 1 and seconds > 0")


@dataclass(frozen=True)
class ChannelLimits:
    """What one channel allows a bot.

    Attributes:
        conversation: Windows every conversation's sends must fit in.
        tenant: Windows every send of the app in one tenant must fit in (for channels
            without tenants: in the whole channel).
        tenant_block_cap_seconds: The longest a 429 slows a whole tenant down (the answering
            conversation always honours the full ``Retry-After``). A tenant-wide throttle
            clears within the tenant window; a longer ``Retry-After`` comes from a
            conversation's 30 s or 1 h window and must not stall every other conversation.
    """

    conversation: tuple[Window, ...] = ()
    tenant: tuple[Window, ...] = ()
    tenant_block_cap_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.tenant_block_cap_seconds < 0:
            raise ValueError("tenant_block_cap_seconds must not be negative")


TEAMS_LIMITS = ChannelLimits(
    conversation=(Window(7, 1), Window(8, 2), Window(60, 30), Window(1800, 3600)),
    tenant=(Window(50, 1),),
    tenant_block_cap_seconds=1.0,
)
"""Teams: per conversation 7/1 s, 8/2 s, 60/30 s, 1,800/h; per tenant 50/s."""

NO_LIMITS = ChannelLimits()
"""No proactive windows (429 answers are still honoured)."""

DEFAULT_LIMITS: Mapping[str, ChannelLimits] = {
    TEAMS_CHANNEL: TEAMS_LIMITS,
    DEFAULT_CHANNEL: NO_LIMITS,
}
"""Teams' published limits for ``msteams``; none for other channels."""


def parse_limits(text: str) -> dict[str, ChannelLimits]:
    """Limits per channel from the JSON of ``THROTTLE_LIMITS``, over :data:`DEFAULT_LIMITS`.

    The value maps a channel id (or ``*`` for every other channel) to
    ``{"conversation": [[limit, seconds], ...], "tenant": [[limit, seconds], ...],
    "tenantBlockCapSeconds": 1}``; a channel named replaces its default entirely (an empty
    object means no windows)::

        {"msteams": {"conversation": [[7, 1], [8, 2], [60, 30], [1800, 3600]],
                     "tenant": [[30, 1]]},
         "slack": {"conversation": [[1, 1]]}}

    Raises:
        ValueError: Not that shape; the message names the entry.
    """
    try:
        document: Any = json.loads(text)
    except ValueError as error:
        raise ValueError(f"is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ValueError("must be a JSON object of channel id to limits")
    limits = dict(DEFAULT_LIMITS)
    for channel_id, entry in document.items():
        if not isinstance(entry, dict):
            raise ValueError(f"{channel_id}: must be an object")
        unknown = set(entry) - {"conversation", "tenant", "tenantBlockCapSeconds"}
        if unknown:
            raise ValueError(f"{channel_id}: unknown field(s) {', '.join(sorted(unknown))}")
        try:
            limits[channel_id] = ChannelLimits(
                conversation=_windows(entry.get("conversation", [])),
                tenant=_windows(entry.get("tenant", [])),
                tenant_block_cap_seconds=float(entry.get("tenantBlockCapSeconds", 1.0)),
            )
        except (TypeError, ValueError) as error:
            raise ValueError(f"{channel_id}: {error}") from None
    return limits


def _windows(value: Any) -> tuple[Window, ...]:
    if not isinstance(value, list):
        raise ValueError("windows must be a list of [limit, seconds] pairs")
    windows: list[Window] = []
    for pair in value:
        if (
            not isinstance(pair, Sequence)
            or isinstance(pair, str)
            or len(pair) != 2
            or not isinstance(pair[0], int)
            or isinstance(pair[0], bool)
            or not isinstance(pair[1], int | float)
            or isinstance(pair[1], bool)
        ):
            raise ValueError("windows must be a list of [limit, seconds] pairs")
        windows.append(Window(pair[0], float(pair[1])))
    return tuple(windows)
