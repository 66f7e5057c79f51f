"""The OpenID signing keys that inbound tokens are verified against, cached.

The keys come from the ``jwks_uri`` of an OpenID metadata document (docs/security-model.md,
"Inbound: the channel's token"). They are fetched on first use, again after a TTL (a day),
and again when a token names an unknown ``kid``, but at most once per refresh interval (five
minutes) so that tokens with made-up key ids cannot turn the bot into a JWKS load generator.
Concurrent refreshes share one fetch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.auth.errors import AuthenticationError
from bot.loopback import is_loopback_host

logger = logging.getLogger(__name__)

JsonFetcher = Callable[[str], Awaitable[Any]]
"""Fetches a URL and returns its parsed JSON body; raises on any failure."""

DEFAULT_TTL_SECONDS = 24 * 60 * 60
DEFAULT_REFRESH_INTERVAL_SECONDS = 5 * 60
FAILED_FETCH_BACKOFF_SECONDS = 10.0
"""While no keys are loaded at all, a failed fetch is retried no sooner than this."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One public key of the JWKS.

    Attributes:
        kid: The key id a token's header names.
        key: The RSA public key, ready for PyJWT.
        endorsements: The channel ids this key may sign for (Bot Framework keys only).
    """

    kid: str
    key: Any
    endorsements: frozenset[str]


def _is_acceptable_key_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme == "https" and parts.hostname:
        return True
    # The local channel serves its keys over plain http on 127.0.0.1.
    return parts.scheme == "http" and is_loopback_host(parts.hostname or "")


def parse_jwks(document: object) -> dict[str, SigningKey]:
    """The RSA signing keys of a JWKS document, by ``kid``; unusable keys are skipped.

    Raises:
        ValueError: The document has no usable key.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("the JWKS has no 'keys' array")
    keys: dict[str, SigningKey] = {}
    from jwt.algorithms import RSAAlgorithm  # lazily: see bot.auth.inbound

    for jwk in document["keys"]:
        if not isinstance(jwk, Mapping):
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or jwk.get("kty") != "RSA":
            continue
        if jwk.get("use", "sig") != "sig":
            continue
        try:
            public_key = RSAAlgorithm.from_jwk(dict(jwk))
        except Exception:  # any malformed key is skipped; the others stay usable
            logger.debug("signing keys: skipped a malformed key")
            continue
        endorsements = jwk.get("endorsements", [])
        keys[kid] = SigningKey(
            kid=kid,
            key=public_key,
            endorsements=frozenset(e for e in endorsements if isinstance(e, str))
            if isinstance(endorsements, list)
            else frozenset(),
        )
    if not keys:
        raise ValueError("the JWKS has no usable RSA signing key")
    return keys


class SigningKeyStore:
    """The signing keys of one OpenID metadata document, fetched lazily and cached.

    Bound to the event loop it is first used on (see :class:`bot.process_client.ProcessClient`).

    Args:
        metadata_url: The OpenID metadata document; its ``jwks_uri`` names the keys.
        fetch_json: Fetches and parses a JSON document (the shared aiohttp session in
            production, anything in tests).
        ttl_seconds: Refresh keys older than this on the next use.
        refresh_interval_seconds: The least time between two fetches caused by unknown kids.
        clock: A monotonic clock in seconds.
    """

    def __init__(
        self,
        metadata_url: str,
        fetch_json: JsonFetcher,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        refresh_interval_seconds: float = DEFAULT_REFRESH_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._metadata_url = metadata_url
        self._fetch_json = fetch_json
        self._ttl = ttl_seconds
        self._interval = refresh_interval_seconds
        self._clock = clock
        self._keys: dict[str, SigningKey] | None = None
        self._loaded_at = 0.0
        self._last_attempt: float | None = None
        self._last_failure: float | None = None
        self._inflight: asyncio.Task[None] | None = None
        self.fetch_count = 0
        """How many times the keys were fetched (successfully or not); tests read it."""

    async def get(self, kid: str) -> SigningKey | None:
        """The key with this id, or ``None`` when it is unknown even after a refresh.

        Raises:
            AuthenticationError: 503 ``SigningKeysUnavailable`` when no keys could be loaded.
        """
        now = self._clock()
        if self._keys is None:
            if self._last_failure is None or now - self._last_failure >= (
                FAILED_FETCH_BACKOFF_SECONDS
            ):
                await self._refresh()
            if self._keys is None:
                raise AuthenticationError(
                    503,
                    "SigningKeysUnavailable",
                    "the token signing keys could not be fetched; try again later",
                )
        elif now - self._loaded_at >= self._ttl and self._may_refresh(now):
            await self._refresh()
        key = self._keys.get(kid)
        if key is None and self._may_refresh(self._clock()):
            await self._refresh()
            key = self._keys.get(kid)
        return key

    def _may_refresh(self, now: float) -> bool:
        return self._last_attempt is None or now - self._last_attempt >= self._interval

    async def _refresh(self) -> None:
        task = self._inflight
        if task is None:
            task = asyncio.ensure_future(self._load())
            self._inflight = task
        # Shielded: a caller that gives up must not cancel the fetch the others wait for.
        await asyncio.shield(task)

    async def _load(self) -> None:
        self._last_attempt = self._clock()
        self.fetch_count += 1
        try:
            metadata = await self._fetch_json(self._metadata_url)
            jwks_uri = metadata.get("jwks_uri") if isinstance(metadata, Mapping) else None
            if not isinstance(jwks_uri, str) or not _is_acceptable_key_url(jwks_uri):
                raise ValueError("the OpenID metadata has no usable jwks_uri")
            self._keys = parse_jwks(await self._fetch_json(jwks_uri))
            self._loaded_at = self._clock()
            self._last_failure = None
        except Exception as error:  # keep serving the old keys; the reason goes to the log
            self._last_failure = self._clock()
            logger.warning(
                "signing keys: fetching %s failed: %s", self._metadata_url, type(error).__name__
            )
        finally:
            self._inflight = None
