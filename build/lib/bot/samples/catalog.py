"""The sample bots by name, for the composition root to pick one (``BOT_SAMPLE``).

A sample's module is imported only when that sample is asked for: the host imports the one it
runs, and ``echo`` does not pay at cold start for the assistant's skills machinery.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.turn import ActivityHandler

_FACTORIES: dict[str, str] = {
    "echo": "bot.samples.echo:EchoBot",
    "counter": "bot.samples.counter:CounterBot",
    "assistant": "bot.samples.assistant:Assistant",
}
"""Each sample's factory as ``module:attribute``; the names are ``BOT_SAMPLE``'s values."""

_CONFIGURED = frozenset({"assistant"})
"""Samples that read configuration files, so building one at start-up can fail usefully."""


class _LazySamples(Mapping[str, "Callable[[], ActivityHandler]"]):
    """A read-only mapping of name to factory that imports a factory's module on lookup."""

    def __init__(self, factories: Mapping[str, str]) -> None:
        self._factories = dict(factories)

    def __getitem__(self, name: str) -> Callable[[], ActivityHandler]:
        module_name, _, attribute = self._factories[name].partition(":")
        factory: Callable[[], ActivityHandler] = getattr(
            importlib.import_module(module_name), attribute
        )
        return factory

    def __contains__(self, name: object) -> bool:
        # Mapping's own would look the factory up, importing its module.
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)


SAMPLES: Mapping[str, Callable[[], ActivityHandler]] = _LazySamples(_FACTORIES)
"""Each sample's factory, by name; looking one up imports its module."""


def create_sample(name: str) -> ActivityHandler:
    """A new instance of the named sample bot.

    Raises:
        ValueError: No sample has that name (the message lists those that do).
        SkillConfigError: The assistant's skills or event map file is wrong.
    """
    _check_name(name)
    return SAMPLES[name]()


def validate_sample(name: str) -> None:
    """Check the named sample at start-up, so a wrong configuration fails there.

    Call it where the host starts (``function_app.py``), after the settings. A sample that
    reads configuration files (the assistant: its skills and event map) is built once, and a
    wrong file stops the host with the file, the entry and the reason, instead of failing the
    first conversation. The others are only looked up by name: importing them would add to
    the cold start and could not fail.

    Raises:
        ValueError: No sample has that name.
        SkillConfigError: The assistant's skills or event map file is wrong.
        SettingsError: One of the settings is invalid.
    """
    _check_name(name)
    if name in _CONFIGURED:
        create_sample(name)


def _check_name(name: str) -> None:
    if name not in SAMPLES:
        raise ValueError(f"no sample bot {name!r}; choose one of {', '.join(sorted(SAMPLES))}")
