"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dev.services import RunningServices, start_services


@pytest.fixture(scope="session")
def local_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServices]:
    """Fresh Azurite and Cosmos DB emulator on free ports, provisioned, for the whole session.

    ``local_services.env`` holds the app settings that point at them. Every process is stopped
    at the end of the session.
    """
    services = start_services(tmp_path_factory.mktemp("services"), fresh=True, environ={})
    try:
        yield services
    finally:
        services.stop()
