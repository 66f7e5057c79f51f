"""Minimal local servers for Connector tests: a Bot Connector and an HTTPS token endpoint.

Both listen on 127.0.0.1 on a free port, record what they receive, and are closed by the test
that started them. The token endpoint serves what MSAL needs for a non-Microsoft authority with
instance discovery off: ``{authority}/v2.0/.well-known/openid-configuration`` and the
``token_endpoint`` it names. (The reusable local channel lives in ``dev/channel/``; these stay
small on purpose.)
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import test_utils, web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

TENANT = "botframework.com"
CLIENT_SECRET = "local-test-secret"
"""The bot's client secret in tests of the token endpoint (tests/integration/conftest.py)."""


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def write_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1; returns (ca, cert, key) paths."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = _key(), _key()
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("test CA"))
        .issuer_name(_name("test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = (
        directory / "ca.pem",
        directory / "server.pem",
        directory / "server.key",
    )
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


@dataclass
class TokenEndpoint:
    """An HTTPS OAuth token endpoint for one tenant, issuing ``token-1``, ``token-2``, ..."""

    server: test_utils.TestServer
    ca_file: Path
    secret: str
    token_requests: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    refuse_with: dict[str, Any] | None = None

    @property
    def authority(self) -> str:
        return str(self.server.make_url(f"/{TENANT}"))

    async def close(self) -> None:
        await self.server.close()


async def start_token_endpoint(directory: Path, secret: str) -> TokenEndpoint:
    """Start the endpoint; trust ``endpoint.ca_file`` through ``REQUESTS_CA_BUNDLE``."""
    ca_path, cert_path, key_path = write_tls_files(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    app = web.Application()
    endpoint = TokenEndpoint(
        server=test_utils.TestServer(app, host="127.0.0.1"), ca_file=ca_path, secret=secret
    )

    async def configuration(request: web.Request) -> web.Response:
        endpoint.paths.append(request.path)
        base = f"{request.scheme}://{request.host}/{request.match_info['tenant']}"
        return web.json_response(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
            }
        )

    async def token(request: web.Request) -> web.Response:
        endpoint.paths.append(request.path)
        form = {key: str(value) for key, value in (await request.post()).items()}
        endpoint.token_requests.append(form)
        if endpoint.refuse_with is not None:
            return web.json_response(endpoint.refuse_with, status=401)
        if "client_assertion" not in form and form.get("client_secret") != endpoint.secret:
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                    "error_codes": [7000215],
                },
                status=401,
            )
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": 3600,
                "ext_expires_in": 3600,
                "access_token": f"token-{len(endpoint.token_requests)}",
            }
        )

    async def anything_else(request: web.Request) -> web.Response:
        endpoint.paths.append(request.path)
        return web.json_response({"error": "not_found"}, status=404)

    @web.middleware
    async def close_connections(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        # MSAL's requests session is never closed; without keep-alive no TLS connection is
        # left half-open when the test's event loop ends.
        response = await handler(request)
        response.force_close()
        return response

    app.middlewares.append(close_connections)
    app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", configuration)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", token)
    app.router.add_route("*", "/{tail:.*}", anything_else)
    await endpoint.server.start_server(ssl=context)
    return endpoint


@dataclass
class RecordedRequest:
    method: str
    raw_path: str
    authorization: str | None
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[web.Request, RecordedRequest], Awaitable[web.StreamResponse | None]]


@dataclass
class MockConnector:
    """A Bot Connector answering like the real one unless ``responder`` answers first."""

    server: test_utils.TestServer
    requests: list[RecordedRequest] = field(default_factory=list)
    responder: Responder | None = None

    def url(self, path: str = "/") -> str:
        return str(self.server.make_url(path))

    @property
    def port(self) -> int:
        port = self.server.port
        assert port is not None
        return port

    async def close(self) -> None:
        await self.server.close()


async def start_connector() -> MockConnector:
    app = web.Application()
    connector = MockConnector(server=test_utils.TestServer(app, host="127.0.0.1"))

    async def handle(request: web.Request) -> web.StreamResponse:
        recorded = RecordedRequest(
            request.method,
            request.raw_path,
            request.headers.get("Authorization"),
            await request.read(),
        )
        connector.requests.append(recorded)
        if connector.responder is not None:
            answer = await connector.responder(request, recorded)
            if answer is not None:
                return answer
        return _default_answer(request, len(connector.requests))

    app.router.add_route("*", "/{tail:.*}", handle)
    await connector.server.start_server()
    return connector


def _default_answer(request: web.Request, number: int) -> web.StreamResponse:
    path = request.raw_path.split("?")[0].rstrip("/")
    if request.method == "POST" and path.endswith("/v3/conversations"):
        return web.json_response({"id": "a:new-conversation", "activityId": "1"}, status=201)
    if request.method == "POST":
        return web.json_response({"id": f"activity-{number}"}, status=201)
    if request.method == "PUT":
        return web.json_response({"id": path.rsplit("/", 1)[-1]})
    if request.method == "DELETE":
        return web.Response(status=200)
    if path.endswith("/pagedmembers"):
        return web.json_response(
            {"continuationToken": "next page", "members": [{"id": "29:1", "name": "Ada"}]}
        )
    if path.endswith("/members"):
        return web.json_response([{"id": "29:1", "name": "Ada", "aadObjectId": "guid"}])
    return web.json_response({"error": {"code": "NotFound", "message": "no route"}}, status=404)
