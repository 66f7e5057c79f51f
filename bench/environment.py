"""The environment benchmark child processes run with: valid settings, nothing inherited.

Settings are read from ``local.settings.json`` and the environment (the environment wins), so
a developer's shell or ``local.settings.json`` could change what a benchmark measures. Child
processes therefore get this process's environment without any setting name, plus exactly
the settings the benchmark chooses. Ports are never pinned, so nothing collides with a
``make run`` on the standard ports.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from bot.settings import LOCAL_SETTINGS_PATH_VARIABLE, Settings
from dev.channel.config import PORT_VARIABLES as CHANNEL_PORT_VARIABLES
from dev.services.ports import PORT_VARIABLES as SERVICE_PORT_VARIABLES

BENCH_APP_ID = "00000000-0000-4000-8000-0000000be7c4"
"""The bot's app id in benchmarks that need no real channel."""

NO_LOCAL_SETTINGS = "/nonexistent/local.settings.json"
"""``LOCAL_SETTINGS_PATH`` value that makes the settings ignore any ``local.settings.json``."""

OFFLINE_SETTINGS: Mapping[str, str] = {
    "MicrosoftAppId": BENCH_APP_ID,
    "MicrosoftAppPassword": "bench-not-a-secret",
    "KEY_HASH_SECRET": "bench-hmac-key-of-at-least-thirty-two-bytes",
    # Valid but never contacted: importing the app and validating settings needs no network.
    "COSMOS_ENDPOINT": "https://127.0.0.1:8081/",
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
}
"""Settings that validate with authentication on, for benchmarks that contact nothing."""


PINNED_PORT_VARIABLES = frozenset(
    {*CHANNEL_PORT_VARIABLES.values(), *SERVICE_PORT_VARIABLES.values()}
)
"""Variables that pin the emulators' and the channel's ports; benchmarks use free ports, so
they never collide with a ``make run`` on the standard ports."""


def setting_names() -> frozenset[str]:
    """Every app-setting name the bot reads, plus ``LOCAL_SETTINGS_PATH``."""
    names = {field.alias or name for name, field in Settings.model_fields.items()}
    return frozenset({*names, LOCAL_SETTINGS_PATH_VARIABLE})


def clean_environment() -> dict[str, str]:
    """This process's environment without bot settings or pinned ports (PATH, HOME stay)."""
    names = setting_names() | PINNED_PORT_VARIABLES
    return {key: value for key, value in os.environ.items() if key not in names}


def unpin_ports() -> None:
    """Drop the port-pinning variables from this process's environment.

    The stack helpers read them from ``os.environ``; without them every server binds a free
    port.
    """
    for variable in PINNED_PORT_VARIABLES:
        os.environ.pop(variable, None)


def child_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """A clean environment with ``settings``; ``local.settings.json`` is not read."""
    return {**clean_environment(), LOCAL_SETTINGS_PATH_VARIABLE: NO_LOCAL_SETTINGS, **settings}


def write_local_settings(path: Path, values: Mapping[str, str]) -> Path:
    """Write a ``local.settings.json`` with ``values`` (as Core Tools reads it); returns it."""
    document = {"IsEncrypted": False, "Values": dict(values)}
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path
