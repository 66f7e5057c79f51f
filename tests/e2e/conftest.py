"""The end-to-end stack: emulators, local channel and the function host running the real
``function_app.py`` with inbound and outbound auth ON.

One stack per test session (starting it costs seconds); tests isolate themselves by using
fresh conversation ids, and reset the channel's faults and recordings they touch.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import aiohttp
import pytest

from dev.channel import ChannelControl
from dev.stack import LocalStack, start_stack
from tests.e2e.host_api import Api

E2E_SETTINGS = {
    # Never read a developer's local.settings.json into the test host.
    "LOCAL_SETTINGS_PATH": "/nonexistent/local.settings.json",
    "BOT_AUTH_DISABLED": "false",
    "KEY_HASH_SECRET": "e2e-hmac-key-of-at-least-thirty-two-bytes",
    "BOT_TOKEN_ISSUER": "https://api.botframework.com",
    # Fast schedules: the tick runs every second and schedules may fire every second.
    "SCHEDULE_TIMER": "* * * * * *",
    "SCHEDULE_MIN_INTERVAL_SECONDS": "1",
}


@contextlib.contextmanager
def running_stack(
    work_dir: Path, *, hosts: int = 1, settings: Mapping[str, str] | None = None
) -> Iterator[LocalStack]:
    """A fresh stack with the end-to-end settings (and ``settings`` over them) and ``hosts``
    function hosts, stopped after."""
    stack = start_stack(
        work_dir,
        fresh=True,
        persist=False,
        settings={**E2E_SETTINGS, **(settings or {})},
        hosts=hosts,
    )
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def e2e_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The running stack for the whole session, stopped at the end."""
    with running_stack(tmp_path_factory.mktemp("e2e-stack")) as stack:
        yield stack


@pytest.fixture
async def channel(e2e_stack: LocalStack) -> AsyncIterator[ChannelControl]:
    """Control of the local channel: play users, read what the bot sent, inject faults."""
    async with ChannelControl(e2e_stack.channel.connector_url) as control:
        await control.clear_faults()
        yield control
        await control.clear_faults()


@pytest.fixture
def host_log(e2e_stack: LocalStack) -> Path:
    """The function host's log file (what the real host would print)."""
    return e2e_stack.host.log_file


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session for the test, closed after it."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def api(e2e_stack: LocalStack) -> AsyncIterator[Api]:
    """The host's HTTP API (and the producer's command line) on the session's stack."""
    async with aiohttp.ClientSession() as client:
        yield Api(e2e_stack, client)
