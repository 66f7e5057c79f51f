"""Outbound tokens: caching, coalescing, forced refresh, errors, and the MSAL set-up.

MSAL itself is replaced by a fake here (pure logic); the real MSAL against a local HTTPS token
endpoint is exercised in ``tests/integration/test_connector_auth.py``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.auth.errors import TokenAcquisitionError
from bot.auth.outbound import (
    OutboundTokenProvider,
    is_microsoft_login_host,
    resource_of,
)
from bot.settings import Settings, load_settings

SECRET = "s3cr3t-value-never-logged"


@pytest.fixture
def make_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Settings]:
    monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(tmp_path / "absent.json"))

    def make(**values: str) -> Settings:
        base = {
            "MicrosoftAppId": "app-id",
            "MicrosoftAppPassword": SECRET,
            "KEY_HASH_SECRET": "k" * 32,
            "COSMOS_ENDPOINT": "https://127.0.0.1:8081",
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        }
        return load_settings(**{**base, **values})

    return make


class FakeApp:
    """Stands in for the MSAL application: counts requests, hands out numbered tokens."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.requests = 0
        self.forgotten = 0
        self.expires_in = expires_in
        self.result: dict[str, Any] | None = None
        self.error: Exception | None = None
        self.cached: str | None = None
        self.release = threading.Event()
        self.release.set()

    def acquire(self) -> dict[str, Any]:
        self.release.wait(timeout=10)
        if self.error is not None:
            raise self.error
        if self.result is not None:
            return self.result
        if self.cached is None:
            self.requests += 1
            self.cached = f"token-{self.requests}"
        return {"access_token": self.cached, "expires_in": self.expires_in}

    def forget_tokens(self) -> None:
        self.forgotten += 1
        self.cached = None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def provider(settings: Settings, app: FakeApp, clock: Clock | None = None) -> OutboundTokenProvider:
    built: list[Settings] = []

    def factory(value: Settings) -> FakeApp:
        built.append(value)
        assert len(built) == 1, "one MSAL app per provider"
        return app

    return OutboundTokenProvider(settings, app_factory=factory, clock=clock or Clock())


async def test_no_token_when_authentication_is_disabled(
    make_settings: Callable[..., Settings],
) -> None:
    def factory(settings: Settings) -> FakeApp:
        raise AssertionError("MSAL must not be touched")

    tokens = OutboundTokenProvider(
        make_settings(BOT_AUTH_DISABLED="true", MicrosoftAppId=""), app_factory=factory
    )

    assert await tokens.get_token() is None
    assert await tokens.get_token(force_refresh=True) is None


async def test_the_token_is_reused_until_five_minutes_before_expiry(
    make_settings: Callable[..., Settings],
) -> None:
    app, clock = FakeApp(expires_in=3600), Clock()
    tokens = provider(make_settings(), app, clock)

    first = await tokens.get_token()
    clock.now = 3299
    again = await tokens.get_token()
    app.cached = None  # MSAL's cache would also have let it go by now
    clock.now = 3301
    renewed = await tokens.get_token()

    assert (first, again, renewed) == ("token-1", "token-1", "token-2")
    assert app.requests == 2


async def test_concurrent_first_calls_make_one_request(
    make_settings: Callable[..., Settings],
) -> None:
    app = FakeApp()
    app.release.clear()
    tokens = provider(make_settings(), app)

    pending = [asyncio.create_task(tokens.get_token()) for _ in range(50)]
    await asyncio.sleep(0)
    app.release.set()
    results = await asyncio.gather(*pending)

    assert set(results) == {"token-1"}
    assert app.requests == 1


async def test_a_forced_refresh_bypasses_both_caches(
    make_settings: Callable[..., Settings],
) -> None:
    app = FakeApp()
    tokens = provider(make_settings(), app)
    first = await tokens.get_token()

    second = await tokens.get_token(force_refresh=True, rejected_token=first)

    assert (first, second) == ("token-1", "token-2")
    assert app.forgotten == 1
    assert await tokens.get_token() == "token-2"


async def test_many_401s_for_one_token_make_one_refresh(
    make_settings: Callable[..., Settings],
) -> None:
    app = FakeApp()
    tokens = provider(make_settings(), app)
    rejected = await tokens.get_token()
    app.release.clear()

    pending = [
        asyncio.create_task(tokens.get_token(force_refresh=True, rejected_token=rejected))
        for _ in range(20)
    ]
    await asyncio.sleep(0)
    app.release.set()
    results = await asyncio.gather(*pending)
    late = await tokens.get_token(force_refresh=True, rejected_token=rejected)

    assert set(results) == {"token-2"}
    assert late == "token-2"
    assert app.forgotten == 1
    assert app.requests == 2


async def test_a_forced_refresh_during_a_normal_one_still_forces(
    make_settings: Callable[..., Settings],
) -> None:
    app, clock = FakeApp(), Clock()
    tokens = provider(make_settings(), app, clock)
    rejected = await tokens.get_token()
    app.release.clear()
    clock.now = 10_000  # the token is due, so a normal acquisition goes to MSAL, whose
    # cache still holds the token the Connector is about to refuse

    normal = asyncio.create_task(tokens.get_token())
    await asyncio.sleep(0)
    forced = asyncio.create_task(tokens.get_token(force_refresh=True, rejected_token=rejected))
    await asyncio.sleep(0)
    app.release.set()

    assert await normal == rejected
    assert await forced == "token-2"


async def test_an_oauth_error_is_typed_and_carries_no_secret(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    app = FakeApp()
    app.result = {
        "error": "invalid_client",
        "error_description": f"AADSTS7000215: Invalid client secret provided: {SECRET}",
        "error_codes": [7000215],
    }
    tokens = provider(make_settings(), app)

    with pytest.raises(TokenAcquisitionError) as caught:
        await tokens.get_token()

    assert caught.value.code == "invalid_client"
    assert "AADSTS7000215" in caught.value.message
    assert not caught.value.transient
    assert SECRET not in str(caught.value)
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ("error", "code", "transient"),
    [
        (ConnectionError("token endpoint down"), "TokenEndpointUnreachable", True),
        (json.JSONDecodeError("Expecting value", "<html>", 0), "InvalidTokenResponse", True),
        (
            ValueError(f"Unable to get authority configuration for {SECRET}"),
            "InvalidConfiguration",
            False,
        ),
    ],
)
async def test_an_msal_exception_is_typed(
    make_settings: Callable[..., Settings], error: Exception, code: str, transient: bool
) -> None:
    app = FakeApp()
    app.error = error
    tokens = provider(make_settings(), app)

    with pytest.raises(TokenAcquisitionError) as caught:
        await tokens.get_token()

    assert (caught.value.code, caught.value.transient) == (code, transient)
    assert SECRET not in str(caught.value)


async def test_temporarily_unavailable_is_transient(make_settings: Callable[..., Settings]) -> None:
    app = FakeApp()
    app.result = {"error": "temporarily_unavailable"}
    tokens = provider(make_settings(), app)

    with pytest.raises(TokenAcquisitionError) as caught:
        await tokens.get_token()

    assert caught.value.transient


async def test_a_failed_app_build_is_retried_on_the_next_call(
    make_settings: Callable[..., Settings],
) -> None:
    attempts = 0
    app = FakeApp()

    def factory(settings: Settings) -> FakeApp:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise OSError("metadata endpoint down")
        return app

    tokens = OutboundTokenProvider(make_settings(), app_factory=factory)

    with pytest.raises(TokenAcquisitionError) as caught:
        await tokens.get_token()
    assert caught.value.transient

    assert await tokens.get_token() == "token-1"


def test_the_managed_identity_resource_drops_default() -> None:
    assert resource_of("https://api.botframework.com/.default") == "https://api.botframework.com"
    assert resource_of("https://api.botframework.com") == "https://api.botframework.com"


@pytest.mark.parametrize(
    ("authority", "known"),
    [
        ("https://login.microsoftonline.com/botframework.com", True),
        ("https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us", True),
        ("https://LOGIN.microsoftonline.com/tenant", True),
        ("https://127.0.0.1:3980/botframework.com", False),
        ("https://login.microsoftonline.com.evil.test/tenant", False),
    ],
)
def test_microsoft_login_hosts_are_recognised(authority: str, known: bool) -> None:
    assert is_microsoft_login_host(authority) is known


def test_the_authority_defaults_follow_the_app_type(make_settings: Callable[..., Settings]) -> None:
    assert make_settings().oauth_authority == "https://login.microsoftonline.com/botframework.com"
    single = make_settings(MicrosoftAppType="SingleTenant", MicrosoftAppTenantId="tenant-1")
    assert single.oauth_authority == "https://login.microsoftonline.com/tenant-1"
