"""The signing-key cache: JWKS parsing, TTL, and fetching over HTTP from a local server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import test_utils, web

from bot.auth.errors import AuthenticationError
from bot.auth.signing_keys import SigningKeyStore, parse_jwks
from bot.http_session import MetadataFetchError, fetch_json, http_session
from tests.unit.auth.jwt_minting import MintingKey, jwks

KEY = MintingKey("channel", "kid-1")
OTHER = MintingKey("rotated", "kid-2")


class TestParseJwks:
    def test_rsa_signing_keys_are_kept_with_their_endorsements(self) -> None:
        keys = parse_jwks(jwks(KEY, OTHER))

        assert set(keys) == {"kid-1", "kid-2"}
        assert keys["kid-1"].endorsements == {"msteams", "webchat"}

    def test_unusable_keys_are_skipped(self) -> None:
        document = jwks(KEY)
        document["keys"] += [
            {"kid": "ec", "kty": "EC", "crv": "P-256", "x": "a", "y": "b"},
            {"kid": "enc", **{k: v for k, v in OTHER.jwk().items() if k != "kid"}, "use": "enc"},
            {"kid": "broken", "kty": "RSA", "n": "!!", "e": "AQAB"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
            "not an object",
            {**OTHER.jwk(), "kid": "weird-endorsements", "endorsements": "msteams"},
        ]

        keys = parse_jwks(document)

        assert set(keys) == {"kid-1", "weird-endorsements"}
        assert keys["weird-endorsements"].endorsements == frozenset()

    @pytest.mark.parametrize("document", [{}, {"keys": []}, {"keys": "x"}, [], None])
    def test_a_document_without_usable_keys_is_an_error(self, document: Any) -> None:
        with pytest.raises(ValueError, match="JWKS"):
            parse_jwks(document)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestRefresh:
    async def test_keys_are_refetched_after_the_ttl(self) -> None:
        fetched: list[str] = []
        documents = {"https://m.test/meta": {"jwks_uri": "https://m.test/keys"}}
        documents["https://m.test/keys"] = jwks(KEY)

        async def fetch(url: str) -> Any:
            fetched.append(url)
            return documents[url]

        clock = Clock()
        store = SigningKeyStore("https://m.test/meta", fetch, ttl_seconds=3600, clock=clock)
        assert await store.get("kid-1") is not None
        clock.now = 3599
        assert await store.get("kid-1") is not None
        assert store.fetch_count == 1

        documents["https://m.test/keys"] = jwks(OTHER)
        clock.now = 3601

        assert await store.get("kid-1") is None
        assert await store.get("kid-2") is not None
        assert store.fetch_count == 2

    async def test_a_failed_refresh_keeps_the_old_keys(self) -> None:
        fail = False

        async def fetch(url: str) -> Any:
            if fail:
                raise OSError("down")
            return {"jwks_uri": "https://m.test/keys"} if url.endswith("meta") else jwks(KEY)

        clock = Clock()
        store = SigningKeyStore("https://m.test/meta", fetch, ttl_seconds=60, clock=clock)
        await store.get("kid-1")
        fail = True
        clock.now = 1000

        assert await store.get("kid-1") is not None

    @pytest.mark.parametrize(
        "jwks_uri", ["http://keys.example/keys", "file:///etc/passwd", "keys", None, 7]
    )
    async def test_a_jwks_uri_that_is_not_https_or_loopback_is_refused(
        self, jwks_uri: object
    ) -> None:
        fetched: list[str] = []

        async def fetch(url: str) -> Any:
            fetched.append(url)
            return {"jwks_uri": jwks_uri} if url.endswith("meta") else jwks(KEY)

        store = SigningKeyStore("https://m.test/meta", fetch)

        with pytest.raises(AuthenticationError) as caught:
            await store.get("kid-1")

        assert caught.value.status == 503
        assert fetched == ["https://m.test/meta"]

    async def test_without_keys_a_failed_fetch_is_not_retried_at_once(self) -> None:
        calls = 0

        async def fetch(url: str) -> Any:
            nonlocal calls
            calls += 1
            raise OSError("down")

        clock = Clock()
        store = SigningKeyStore("https://m.test/meta", fetch, clock=clock)
        for _ in range(3):
            with pytest.raises(AuthenticationError):
                await store.get("kid-1")
        assert calls == 1

        clock.now = 11
        with pytest.raises(AuthenticationError):
            await store.get("kid-1")
        assert calls == 2


@pytest.fixture
async def key_server() -> AsyncIterator[tuple[test_utils.TestServer, list[str]]]:
    seen: list[str] = []

    async def metadata(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response(
            {
                "issuer": "https://api.botframework.com",
                "jwks_uri": str(request.url.with_path("/keys")),
            }
        )

    async def keys(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response(jwks(KEY))

    async def redirect(request: web.Request) -> web.Response:
        seen.append(request.path)
        raise web.HTTPFound("/keys")

    async def huge(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(body=b"[" + b"0," * 1_000_000 + b"0]", content_type="application/json")

    app = web.Application()
    app.router.add_get("/meta", metadata)
    app.router.add_get("/keys", keys)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/huge", huge)
    server = test_utils.TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server, seen
    finally:
        await http_session.aclose()
        await server.close()


class TestOverHttp:
    async def test_keys_are_fetched_from_the_metadata_jwks_uri(
        self, key_server: tuple[test_utils.TestServer, list[str]]
    ) -> None:
        server, seen = key_server
        store = SigningKeyStore(str(server.make_url("/meta")), fetch_json)

        key = await store.get("kid-1")

        assert key is not None
        assert seen == ["/meta", "/keys"]

    async def test_a_redirect_is_not_followed(
        self, key_server: tuple[test_utils.TestServer, list[str]]
    ) -> None:
        server, seen = key_server
        store = SigningKeyStore(str(server.make_url("/redirect")), fetch_json)

        with pytest.raises(AuthenticationError) as caught:
            await store.get("kid-1")

        assert caught.value.status == 503
        assert seen == ["/redirect"]

    async def test_an_oversized_document_is_refused(
        self, key_server: tuple[test_utils.TestServer, list[str]]
    ) -> None:
        server, _ = key_server

        with pytest.raises(MetadataFetchError, match="too large"):
            await fetch_json(str(server.make_url("/huge")))
