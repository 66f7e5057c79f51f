"""Outbound credentials through real MSAL against local endpoints, and the process-wide wiring.

- a client certificate (``MicrosoftAppCertificatePath``): the token endpoint receives a client
  assertion signed by the certificate's key and naming its SHA-1 thumbprint;
- ``SingleTenant`` with an explicit authority and scope;
- ``UserAssignedMSI`` through the App Service managed-identity protocol (``IDENTITY_ENDPOINT``);
- ``bot.connector.client.connector_client`` and ``bot.auth.inbound.inbound_authenticator``
  built from ``get_settings()``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import test_utils, web
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from bot.auth.inbound import inbound_authenticator
from bot.auth.outbound import OutboundTokenProvider, token_provider
from bot.connector.client import connector_client
from bot.http_session import http_session
from bot.settings import get_settings, load_settings
from dev.channel.keys import SigningKey
from tests.unit.connector.local_endpoints import (
    CLIENT_SECRET,
    MockConnector,
    TokenEndpoint,
)

APP_ID = "00000000-0000-0000-0000-00000000b075"
REQUIRED = {
    "KEY_HASH_SECRET": "k" * 32,
    "COSMOS_ENDPOINT": "https://127.0.0.1:8081",
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
}


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(tmp_path / "absent.json"))
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def write_certificate(path: Path) -> x509.Certificate:
    """A new self-signed certificate and its key, in one PEM file at ``path``."""
    key = SigningKey.generate("bot")
    path.write_bytes(key.certificate_pem() + key.private_pem())
    return key.certificate


async def test_a_certificate_signs_the_client_assertion(
    token_endpoint: TokenEndpoint, tmp_path: Path
) -> None:
    certificate = write_certificate(tmp_path / "bot.pem")
    settings = load_settings(
        MicrosoftAppId=APP_ID,
        MicrosoftAppCertificatePath=str(tmp_path / "bot.pem"),
        BOT_OAUTH_AUTHORITY=token_endpoint.authority,
        **REQUIRED,
    )

    token = await OutboundTokenProvider(settings).get_token()

    assert token == "token-1"
    [form] = token_endpoint.token_requests
    assert "client_secret" not in form
    assert form["client_assertion_type"] == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )
    assertion = form["client_assertion"]
    header = jwt.get_unverified_header(assertion)
    sha1 = certificate.fingerprint(hashes.SHA1())  # noqa: S303
    assert header["alg"] == "RS256"
    # MSAL keeps the base64url padding of x5t; Entra accepts either.
    assert header["x5t"].rstrip("=") == base64.urlsafe_b64encode(sha1).rstrip(b"=").decode()
    claims = jwt.decode(
        assertion,
        certificate.public_key(),  # type: ignore[arg-type]
        algorithms=["RS256"],
        audience=f"{token_endpoint.authority}/oauth2/v2.0/token",
    )
    assert claims["iss"] == claims["sub"] == APP_ID


async def test_single_tenant_uses_the_configured_authority_and_scope(
    token_endpoint: TokenEndpoint,
) -> None:
    authority = token_endpoint.authority.replace("/botframework.com", "/contoso-tenant")
    settings = load_settings(
        MicrosoftAppId=APP_ID,
        MicrosoftAppPassword=CLIENT_SECRET,
        MicrosoftAppType="SingleTenant",
        MicrosoftAppTenantId="contoso-tenant",
        BOT_OAUTH_AUTHORITY=authority,
        BOT_OAUTH_SCOPE="https://api.botframework.us/.default",
        **REQUIRED,
    )

    assert await OutboundTokenProvider(settings).get_token() == "token-1"

    assert token_endpoint.paths == [
        "/contoso-tenant/v2.0/.well-known/openid-configuration",
        "/contoso-tenant/oauth2/v2.0/token",
    ]
    assert token_endpoint.token_requests[0]["scope"] == "https://api.botframework.us/.default"


@pytest.fixture
async def identity_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The App Service managed-identity endpoint (``IDENTITY_ENDPOINT`` protocol)."""
    seen: list[dict[str, Any]] = []

    async def issue(request: web.Request) -> web.Response:
        seen.append(
            {"query": dict(request.query), "header": request.headers.get("X-IDENTITY-HEADER")}
        )
        return web.json_response(
            {
                "access_token": f"mi-token-{len(seen)}",
                "expires_on": str(int(time.time()) + 3600),
                "resource": request.query.get("resource"),
                "token_type": "Bearer",
            }
        )

    app = web.Application()
    app.router.add_get("/msi/token", issue)
    server = test_utils.TestServer(app, host="127.0.0.1")
    await server.start_server()
    monkeypatch.setenv("IDENTITY_ENDPOINT", str(server.make_url("/msi/token")))
    monkeypatch.setenv("IDENTITY_HEADER", "identity-header-value")
    try:
        yield seen
    finally:
        await server.close()


async def test_a_user_assigned_managed_identity_asks_for_the_resource(
    identity_endpoint: list[dict[str, Any]],
) -> None:
    settings = load_settings(
        MicrosoftAppId=APP_ID,
        MicrosoftAppType="UserAssignedMSI",
        MicrosoftAppTenantId="contoso-tenant",
        **REQUIRED,
    )
    tokens = OutboundTokenProvider(settings)

    first = await tokens.get_token()
    cached = await tokens.get_token()
    refreshed = await tokens.get_token(force_refresh=True, rejected_token=first)

    assert (first, cached, refreshed) == ("mi-token-1", "mi-token-1", "mi-token-2")
    assert identity_endpoint[0] == {
        "query": {
            "api-version": "2019-08-01",
            "resource": "https://api.botframework.com",
            "client_id": APP_ID,
        },
        "header": "identity-header-value",
    }


async def test_the_process_wide_client_is_built_from_the_settings(
    token_endpoint: TokenEndpoint,
    connector: MockConnector,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    values = {
        "MicrosoftAppId": APP_ID,
        "MicrosoftAppPassword": CLIENT_SECRET,
        "BOT_OAUTH_AUTHORITY": token_endpoint.authority,
        "BOT_ALLOWED_SERVICE_URLS": f"http://127.0.0.1:{connector.port}",
        **REQUIRED,
    }
    # Through local.settings.json, the way the Functions host and Core Tools read settings.
    file = tmp_path / "local.settings.json"
    file.write_text(json.dumps({"IsEncrypted": False, "Values": values}), encoding="utf-8")
    monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(file))

    try:
        client = connector_client.get()
        assert connector_client.get() is client
        first = await client.send_to_conversation(connector.url(), "a:1", {"type": "message"})
        second = await client.send_to_conversation(connector.url(), "a:2", {"type": "message"})
    finally:
        await connector_client.aclose()
        await http_session.aclose()

    assert (first.id, second.id) == ("activity-1", "activity-2")
    assert len(token_endpoint.token_requests) == 1
    assert token_provider() is token_provider()
    assert inbound_authenticator.get() is inbound_authenticator.get()
