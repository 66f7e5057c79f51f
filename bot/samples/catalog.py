"""The sample bots by name, for the composition root to pick one (``BOT_SAMPLE``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from bot.samples.counter import CounterBot
from bot.samples.echo import EchoBot
from bot.turn import ActivityHandler

SAMPLES: Mapping[str, Callable[[], ActivityHandler]] = MappingProxyType(
    {"echo": EchoBot, "counter": CounterBot}
)
"""Each sample's factory, by name."""


def create_sample(name: str) -> ActivityHandler:
    """A new instance of the named sample bot.

    Raises:
        ValueError: No sample has that name (the message lists those that do).
    """
    factory = SAMPLES.get(name)
    if factory is None:
        raise ValueError(f"no sample bot {name!r}; choose one of {', '.join(sorted(SAMPLES))}")
    return factory()
