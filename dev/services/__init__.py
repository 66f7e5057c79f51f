"""Azurite and the Cosmos DB emulator for local development and tests (never deployed).

``python -m dev.services start|stop|status`` (``make services`` / ``make stop``) runs them in
the background; :func:`start_services` runs them for ``dev.run`` and the test suite.

- Azurite (blob, queue and table, so ``func start`` works against it too) keeps its data in
  ``<data-dir>/azurite``.
- The Cosmos DB emulator is ``@vercel/cosmosdb-server``, which holds everything in memory;
  ``cosmos_server.js`` saves its store to ``<data-dir>/cosmos/state.json`` a second after each
  change and at shutdown, and restores it at start. A hard kill (SIGKILL) can lose the last
  second of writes. ``start_services(..., persist=False)`` keeps both in memory instead.
  The emulator's gaps, which the bot must never lean on: per-item ``ttl`` is stored but never
  enforced, queries ignore the ``partition_key`` argument (filter on the partition key in the
  query text too), no change feed, no request charges. A point read of a missing id answers
  404 as in Azure thanks to ``patches/@vercel+cosmosdb-server+1.0.1.patch``.
- Ports come from ``AZURITE_BLOB_PORT``, ``AZURITE_QUEUE_PORT``, ``AZURITE_TABLE_PORT`` and
  ``COSMOS_EMULATOR_PORT``, or are chosen free at each start.
- The connection settings are written to ``.local/services.env`` (KEY=VALUE lines); read them
  with :func:`load_services_env`.
"""

from __future__ import annotations

from dev.services.errors import ServicesError
from dev.services.settings_file import load_services_env
from dev.services.stack import (
    DEFAULT_DATA_DIR,
    DEFAULT_ENV_FILE,
    RunningServices,
    ServicesStatus,
    services_status,
    start_services,
    stop_services,
)

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_ENV_FILE",
    "RunningServices",
    "ServicesError",
    "ServicesStatus",
    "load_services_env",
    "services_status",
    "start_services",
    "stop_services",
]
