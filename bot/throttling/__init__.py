"""The rate governor: send at the channel's ceiling and not one request above it.

- :mod:`bot.throttling.governor`: :class:`RateGovernor` (``rate_governor.get()``, one per
  process): permits per conversation and tenant, 429 answers shared across instances.
- :mod:`bot.throttling.sender`: :class:`GovernedSender`, the proactive service's sender;
  :func:`send_permit` for requests that do not go through a sender.
- :mod:`bot.channel_limits`: the windows per channel (Teams' published limits).
- :mod:`bot.throttling.sliding_log`: the exact sliding-window check.
- :mod:`bot.throttling.store`: the shared throttle records in Cosmos DB.
- :mod:`bot.throttling.budget_leases`, :mod:`bot.throttling.send_logs`: a tenant's and a
  conversation's windows shared by every instance (docs/rate-limits.md).
- :mod:`bot.throttling.config`: the ``THROTTLE_*`` settings.
"""

from bot.channel_limits import (
    NO_LIMITS,
    TEAMS_LIMITS,
    ChannelLimits,
    Window,
    parse_limits,
)
from bot.throttling.config import GovernorConfig, load_governor_config
from bot.throttling.governor import (
    GovernorStats,
    RateGovernor,
    RateLimitedError,
    SendKey,
    rate_governor,
)
from bot.throttling.sender import GovernedSender, LocalThrottleError, send_permit

__all__ = [
    "NO_LIMITS",
    "TEAMS_LIMITS",
    "ChannelLimits",
    "GovernedSender",
    "GovernorConfig",
    "GovernorStats",
    "LocalThrottleError",
    "RateGovernor",
    "RateLimitedError",
    "SendKey",
    "Window",
    "load_governor_config",
    "parse_limits",
    "rate_governor",
    "send_permit",
]
