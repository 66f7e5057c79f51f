"""The governor's settings: the ``THROTTLE_*`` fields of :class:`bot.settings.Settings`.

============================================  =================================================
setting                                       meaning (default)
============================================  =================================================
``THROTTLE_ENABLED``                          ``false`` turns the governor off (``true``)
``THROTTLE_MAX_WAIT_SECONDS``                 longest in-process wait for one send; a send
                                              that would wait longer is deferred: the queue
                                              re-enqueues it, HTTP answers 429 (``3``;
                                              ``inf``: never defer)
``THROTTLE_MARGIN_SECONDS``                   added to every window, against clocks that
                                              disagree (``0.02``)
``THROTTLE_RECORD_CACHE_SECONDS``             how long a tenant's shared throttle record is
                                              trusted before it is read again (``1``)
``THROTTLE_LEASE_SECONDS``                    how long an instance leases a share of a tenant's
                                              budget (``10``; ``0``: no leases nor send logs,
                                              windows per process only, for a single instance)
``THROTTLE_TENANT_SHARES``                    into how many shares a tenant's budget is cut
                                              (``10``)
``THROTTLE_LIMITS``                           JSON limits per channel over the defaults (see
                                              :func:`bot.channel_limits.parse_limits`)
============================================  =================================================

The settings validate them when they load, so a bad value stops the host at start-up with the
setting named; :func:`load_governor_config` only turns them into a :class:`GovernorConfig`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.channel_limits import DEFAULT_CHANNEL, DEFAULT_LIMITS, ChannelLimits, parse_limits
from bot.settings import Settings, get_settings


@dataclass(frozen=True)
class GovernorConfig:
    """How the rate governor behaves.

    Attributes:
        enabled: Whether sends are governed at all.
        max_wait_seconds: The longest one send waits in process before it is deferred.
        margin_seconds: Safety margin added to every window.
        record_cache_seconds: How long a shared throttle record read from Cosmos DB is
            trusted.
        limits: Limits per channel id; ``*`` is every other channel.
        lease_seconds: How long an instance leases a share of a budget (0: no leases).
        tenant_shares: Into how many shares a tenant's budget is cut.
    """

    enabled: bool = True
    max_wait_seconds: float = 3.0
    margin_seconds: float = 0.02
    record_cache_seconds: float = 1.0
    limits: Mapping[str, ChannelLimits] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    lease_seconds: float = 10.0
    tenant_shares: int = 10

    def __post_init__(self) -> None:
        if math.isnan(self.max_wait_seconds) or self.max_wait_seconds < 0:
            raise ValueError("max_wait_seconds must be >= 0 (inf: never defer)")
        for name in ("margin_seconds", "record_cache_seconds"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0")

    def limits_for(self, channel_id: str) -> ChannelLimits:
        """The limits of a channel (the ``*`` entry for channels not named)."""
        found = self.limits.get(channel_id) or self.limits.get(DEFAULT_CHANNEL)
        return found if found is not None else ChannelLimits()


def load_governor_config(settings: Settings | None = None) -> GovernorConfig:
    """The governor's configuration from the ``THROTTLE_*`` settings.

    Args:
        settings: The settings; the process-wide :func:`bot.settings.get_settings` when
            omitted.

    Raises:
        SettingsError: A setting is missing or invalid (only when ``settings`` is omitted and
            they are read now); the message names the setting.
    """
    if settings is None:
        settings = get_settings()
    # Validated with the settings already, so parsing cannot fail here.
    limits = parse_limits(settings.throttle_limits) if settings.throttle_limits else DEFAULT_LIMITS
    return GovernorConfig(
        enabled=settings.throttle_enabled,
        max_wait_seconds=settings.throttle_max_wait_seconds,
        margin_seconds=settings.throttle_margin_seconds,
        record_cache_seconds=settings.throttle_record_cache_seconds,
        limits=dict(limits),
        lease_seconds=settings.throttle_lease_seconds,
        tenant_shares=settings.throttle_tenant_shares,
    )
