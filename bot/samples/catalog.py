"""The sample bots by name, for the composition root to pick one (``BOT_SAMPLE``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from bot.samples.assistant import Assistant
from bot.samples.counter import CounterBot
from bot.samples.echo import EchoBot
from bot.turn import ActivityHandler

SAMPLES: Mapping[str, Callable[[], ActivityHandler]] = MappingProxyType(
    {"echo": EchoBot, "counter": CounterBot, "assistant": Assistant}
)
"""Each sample's factory, by name."""


def create_sample(name: str) -> ActivityHandler:
    """A new instance of the named sample bot.

    Raises:
        ValueError: No sample has that name (the message lists those that do).
        SkillConfigError: The assistant's skills or event map file is wrong.
    """
    factory = SAMPLES.get(name)
    if factory is None:
        raise ValueError(f"no sample bot {name!r}; choose one of {', '.join(sorted(SAMPLES))}")
    return factory()


def validate_sample(name: str) -> None:
    """Build the named sample once, so a wrong configuration fails at start-up.

    Call it where the host starts (``function_app.py``), after the settings: the assistant
    loads and checks its skills and event map files, and a wrong one stops the host with the
    file, the entry and the reason, instead of failing the first conversation.

    Raises:
        ValueError: No sample has that name.
        SkillConfigError: The assistant's skills or event map file is wrong.
        SettingsError: One of the assistant's settings is invalid.
    """
    create_sample(name)
