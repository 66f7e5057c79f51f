"""Fixtures for in-process integration tests: the bot's settings pointed at the local services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.settings import Settings, get_settings
from bot.storage.cosmos import cosmos_client
from dev.channel import ChannelKeys
from dev.services import RunningServices
from tests.unit.connector.local_endpoints import (
    CLIENT_SECRET,
    MockConnector,
    TokenEndpoint,
    start_connector,
    start_token_endpoint,
)

if TYPE_CHECKING:
    # Not at run time: that module reads TEST_SETTINGS from here.
    from tests.integration.test_proactive_support import Proactive

TEST_SETTINGS = {
    "MicrosoftAppId": "00000000-0000-0000-0000-0000000000b0",
    "MicrosoftAppPassword": "integration-test-password",
    "KEY_HASH_SECRET": "integration-test-key-hash-secret",
    # One process is one instance here, but each test runs on a new event loop and so gets a
    # new process-wide governor: with budget leases, every test would look like a new
    # instance, and the shares earlier tests left leased in the shared emulator would stall a
    # tenant the tests have in common. The leases are tested with their own governors
    # (test_throttling_leases.py) and across processes in tests/e2e/test_scale_out.py.
    "THROTTLE_LEASE_SECONDS": "0",
}
"""Settings the bot requires that the local services do not provide, and one they must not
take from the environment."""


@pytest.fixture
async def bot_settings(
    local_services: RunningServices,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Settings]:
    """The bot's settings (``get_settings()``) pointing at the local Cosmos DB and Azurite.

    The environment holds the services' settings and :data:`TEST_SETTINGS`; a developer's own
    ``local.settings.json`` is not read. The process-wide Cosmos client is closed afterwards.
    """
    missing = tmp_path_factory.mktemp("settings") / "local.settings.json"
    monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(missing))
    for name, value in {**local_services.env, **TEST_SETTINGS}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        yield get_settings()
    finally:
        await cosmos_client.aclose()
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def channel_keys() -> ChannelKeys:
    """The local channel's RSA keys, generated once per module (generating them is slow)."""
    return ChannelKeys.generate()


@pytest.fixture
async def proactive(
    bot_settings: Settings, channel_keys: ChannelKeys, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Proactive]:
    """A local channel and a proactive service wired to it and to the local services."""
    from tests.integration.test_proactive_support import running_proactive

    del bot_settings
    async with running_proactive(channel_keys, monkeypatch) as running:
        yield running


@pytest.fixture
async def token_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[TokenEndpoint]:
    """A local HTTPS token endpoint accepting :data:`CLIENT_SECRET`, its CA trusted through
    ``REQUESTS_CA_BUNDLE``."""
    endpoint = await start_token_endpoint(tmp_path, CLIENT_SECRET)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(endpoint.ca_file))
    try:
        yield endpoint
    finally:
        await endpoint.close()


@pytest.fixture
async def connector() -> AsyncIterator[MockConnector]:
    """A minimal local Bot Connector that records what it receives."""
    server = await start_connector()
    try:
        yield server
    finally:
        await server.close()
