"""``services.env``: the connection settings of the running local services, as KEY=VALUE lines.

``make host`` and ``dev.run`` load it so the function host talks to these services.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from bot.storage.queues import DEVELOPMENT_STORAGE
from dev.services.ports import HOST, ServicePorts

AZURITE_ACCOUNT = "devstoreaccount1"

COSMOS_EMULATOR_KEY = (
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
)
"""The Cosmos DB emulator's well-known, public key (the local emulator accepts any key)."""


def _azurite_account_key() -> str:
    # The well-known Azurite key, taken from the one place the product already spells it.
    parts = dict(part.split("=", 1) for part in DEVELOPMENT_STORAGE.split(";") if part)
    return parts["AccountKey"]


def azurite_connection_string(ports: ServicePorts) -> str:
    """A full Azurite connection string with the blob, queue and table endpoints on ``ports``."""
    base = f"http://{HOST}"
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
        f"AccountKey={_azurite_account_key()};"
        f"BlobEndpoint={base}:{ports.blob}/{AZURITE_ACCOUNT};"
        f"QueueEndpoint={base}:{ports.queue}/{AZURITE_ACCOUNT};"
        f"TableEndpoint={base}:{ports.table}/{AZURITE_ACCOUNT};"
    )


def cosmos_endpoint(ports: ServicePorts) -> str:
    """The Cosmos DB emulator's account endpoint."""
    return f"https://{HOST}:{ports.cosmos}/"


def services_settings(ports: ServicePorts, *, database: str, queue_name: str) -> dict[str, str]:
    """The app settings that point the bot at the local services."""
    return {
        "AzureWebJobsStorage": azurite_connection_string(ports),
        "COSMOS_ENDPOINT": cosmos_endpoint(ports),
        "COSMOS_KEY": COSMOS_EMULATOR_KEY,
        "COSMOS_DATABASE": database,
        "COSMOS_VERIFY_TLS": "false",
        "PROACTIVE_QUEUE_NAME": queue_name,
    }


def write_services_env(path: Path, settings: Mapping[str, str]) -> None:
    """Write ``settings`` as KEY=VALUE lines, atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by `python -m dev.services start`; local emulators only."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    temporary.replace(path)


def load_services_env(path: Path) -> dict[str, str]:
    """Read a ``services.env`` file: KEY=VALUE lines; blank lines and ``#`` comments skipped.

    Values are taken verbatim after the first ``=`` (connection strings contain ``=`` and
    ``;``); no quotes or escapes are interpreted.

    Raises:
        FileNotFoundError: ``path`` does not exist (the services were never started).
    """
    settings: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        key, value = stripped.split("=", 1)
        settings[key.strip()] = value.strip()
    return settings
