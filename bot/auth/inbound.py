"""Bot Framework JWT validation for ``POST /api/messages`` (docs/security-model.md, "Inbound").

Two steps, so the HTTP layer can refuse a bad token before it reads the body:

1. :meth:`InboundAuthenticator.authenticate` takes the ``Authorization`` header and verifies
   the token: RS256 only, a signing key from the configured JWKS, ``iss``, ``aud`` (a string
   equal to ``MicrosoftAppId``), ``exp`` required, ``exp``/``nbf`` with five minutes of skew.
2. :meth:`InboundAuthenticator.check_activity` takes the parsed activity's ``channelId`` and
   ``serviceUrl`` and checks them against the token: the channel must be endorsed by the
   signing key, the ``serviceurl`` claim must equal the activity's serviceUrl exactly, and the
   serviceUrl must be on the allow-list.

Every failure is an :class:`~bot.auth.errors.AuthenticationError` with a 4xx status (or 503
when the signing keys cannot be fetched), never anything else; the token is never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.auth.claims import ALGORITHM, decode_claims, unauthorized
from bot.auth.errors import AuthenticationError, ServiceUrlNotAllowed
from bot.auth.service_url import ServiceUrlPolicy
from bot.auth.signing_keys import JsonFetcher, SigningKeyStore
from bot.process_client import ProcessClient
from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 16 * 1024

EMULATOR_OPENID_METADATA_URL = (
    "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
)
EMULATOR_TENANT_IDS = (
    "d6d49420-f39b-4df7-a1dc-d59a935871db",
    "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
    "72f988bf-86f1-41af-91ab-2d7cd011db47",
)
"""Tenants whose tokens the Bot Framework Emulator presents (BB:emulator_validation.py)."""

STORED_CLAIM_NAMES = ("aud", "azp", "appid", "idtyp", "ver", "iss", "tid")
"""The claims worth keeping with a conversation reference; nothing personal, no token."""

IdentityKind = Literal["channel", "emulator", "anonymous"]


@dataclass(frozen=True, slots=True)
class InboundIdentity:
    """Who sent an inbound request: the verified token, as :meth:`authenticate` returns it.

    The turn carries it as ``bot.turn.identity.ClaimsIdentity(identity.claims,
    is_authenticated=identity.is_authenticated, authentication_type=identity.kind)``.

    Attributes:
        kind: ``channel`` (a Bot Framework channel token), ``emulator`` (an Entra token minted
            with the bot's own credentials) or ``anonymous`` (``BOT_AUTH_DISABLED=true``).
        claims: The verified token claims; empty when anonymous.
        endorsements: The channel ids the token's signing key is endorsed for.
    """

    kind: IdentityKind
    claims: Mapping[str, Any] = field(default_factory=dict)
    endorsements: frozenset[str] = frozenset()

    @property
    def is_authenticated(self) -> bool:
        """False only for the anonymous identity of local development."""
        return self.kind != "anonymous"

    @property
    def service_url_claim(self) -> str | None:
        """The ``serviceurl`` claim of a channel token."""
        value = self.claims.get("serviceurl")
        return value if isinstance(value, str) else None

    def stored_claims(self) -> dict[str, str]:
        """The subset of claims kept with a conversation reference (``STORED_CLAIM_NAMES``)."""
        return {
            name: value
            for name in STORED_CLAIM_NAMES
            if isinstance(value := self.claims.get(name), str)
        }


ANONYMOUS = InboundIdentity(kind="anonymous")


def bearer_token(authorization: str | None) -> str:
    """The token of a ``Bearer`` Authorization header; 401 when absent or malformed."""
    if not authorization or not authorization.strip():
        raise unauthorized("MissingToken", "the Authorization header is missing")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise unauthorized("InvalidAuthorizationScheme", "the Authorization scheme must be Bearer")
    token = token.strip()
    if not token:
        raise unauthorized("MissingToken", "the bearer token is empty")
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2 or " " in token:
        raise unauthorized("InvalidToken", "the bearer token is not a JWT")
    return token


def _emulator_issuers(tenant_ids: tuple[str, ...]) -> frozenset[str]:
    issuers: set[str] = set()
    for tenant in tenant_ids:
        issuers.add(f"https://sts.windows.net/{tenant}/")
        issuers.add(f"https://login.microsoftonline.com/{tenant}/v2.0")
    return frozenset(issuers)


class InboundAuthenticator:
    """Verifies inbound tokens and matches them to their activity.

    Args:
        app_id: ``MicrosoftAppId``, the only accepted audience.
        channel_keys: Signing keys of ``BOT_OPENID_METADATA_URL``.
        channel_issuer: ``BOT_TOKEN_ISSUER``, the only accepted channel ``iss``.
        service_urls: The serviceUrl allow-list, applied by :meth:`check_activity`.
        emulator_keys: Entra signing keys; ``None`` disables Emulator tokens.
        emulator_issuers: Accepted Emulator ``iss`` values.
        auth_disabled: ``BOT_AUTH_DISABLED=true``: no token checks, anonymous identity (the
            ``service_urls`` policy must then be loopback-only).
    """

    def __init__(
        self,
        *,
        app_id: str,
        channel_keys: SigningKeyStore,
        channel_issuer: str,
        service_urls: ServiceUrlPolicy,
        emulator_keys: SigningKeyStore | None = None,
        emulator_issuers: frozenset[str] = frozenset(),
        auth_disabled: bool = False,
    ) -> None:
        if not auth_disabled and not app_id:
            raise ValueError("an app id is required unless authentication is disabled")
        self._app_id = app_id
        self._channel_keys = channel_keys
        self._channel_issuer = channel_issuer
        self._service_urls = service_urls
        self._emulator_keys = emulator_keys
        self._emulator_issuers = emulator_issuers
        self._auth_disabled = auth_disabled

    @classmethod
    def from_settings(cls, settings: Settings, fetch_json: JsonFetcher) -> InboundAuthenticator:
        """The authenticator the settings describe."""
        emulator_keys = None
        tenants: tuple[str, ...] = EMULATOR_TENANT_IDS
        if settings.emulator_auth_enabled:
            emulator_keys = SigningKeyStore(EMULATOR_OPENID_METADATA_URL, fetch_json)
            if settings.app_tenant_id:
                tenants = (*tenants, settings.app_tenant_id)
        return cls(
            app_id=settings.app_id,
            channel_keys=SigningKeyStore(settings.openid_metadata_url, fetch_json),
            channel_issuer=settings.token_issuer,
            service_urls=ServiceUrlPolicy.from_settings(settings),
            emulator_keys=emulator_keys,
            emulator_issuers=_emulator_issuers(tenants),
            auth_disabled=settings.auth_disabled,
        )

    async def authenticate(self, authorization: str | None) -> InboundIdentity:
        """Verify the bearer token of a request, before its body is read.

        Args:
            authorization: The ``Authorization`` header, or ``None`` when absent.

        Returns:
            The verified identity (anonymous when authentication is disabled).

        Raises:
            AuthenticationError: 401 for a missing, malformed, forged, expired or misdirected
                token; 503 when the signing keys cannot be fetched.
        """
        if self._auth_disabled:
            return ANONYMOUS
        token = bearer_token(authorization)
        # PyJWT (and cryptography under it) loads on the first token, not at import: it is a
        # large share of the cold start, and timer and queue invocations never need it.
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except Exception:  # whatever PyJWT or the decoders raise, the token is malformed
            raise unauthorized("InvalidToken", "the bearer token is not a valid JWT") from None
        if header.get("alg") != ALGORITHM:
            raise unauthorized("UnsupportedAlgorithm", f"only {ALGORITHM} tokens are accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise unauthorized("InvalidToken", "the token names no signing key")
        issuer = unverified.get("iss")
        # Routing on the unverified issuer is safe: the chosen path verifies it again below,
        # after the signature.
        if issuer == self._channel_issuer:
            return await self._verify_channel(token, kid)
        emulator_keys = self._emulator_keys
        if (
            emulator_keys is not None
            and isinstance(issuer, str)
            and issuer in self._emulator_issuers
        ):
            return await self._verify_emulator(token, kid, emulator_keys)
        raise unauthorized("InvalidIssuer", "the token issuer is not accepted")

    def check_activity(
        self, identity: InboundIdentity, *, channel_id: str | None, service_url: str | None
    ) -> None:
        """Check a parsed activity against the identity that sent it.

        Args:
            identity: What :meth:`authenticate` returned for the request.
            channel_id: The activity's ``channelId``.
            service_url: The activity's ``serviceUrl``.

        Raises:
            AuthenticationError: 400 ``MissingChannelId`` / ``MissingServiceUrl``;
                403 ``ChannelNotEndorsed`` (the signing key does not cover the channel),
                ``ServiceUrlMismatch`` (the ``serviceurl`` claim differs) or
                ``ServiceUrlNotAllowed`` (not on the allow-list, or not loopback while
                authentication is disabled).
        """
        if not isinstance(channel_id, str) or not channel_id.strip():
            raise AuthenticationError(400, "MissingChannelId", "the activity has no channelId")
        if not isinstance(service_url, str) or not service_url:
            raise AuthenticationError(400, "MissingServiceUrl", "the activity has no serviceUrl")
        if identity.kind == "channel":
            if channel_id not in identity.endorsements:
                raise AuthenticationError(
                    403,
                    "ChannelNotEndorsed",
                    "the token's signing key is not endorsed for the activity's channel",
                )
            if identity.service_url_claim != service_url:
                raise AuthenticationError(
                    403,
                    "ServiceUrlMismatch",
                    "the activity's serviceUrl does not match the token's serviceurl claim",
                )
        try:
            self._service_urls.check(service_url)
        except ServiceUrlNotAllowed as error:
            raise AuthenticationError(403, error.code, error.message) from None

    async def _verify_channel(self, token: str, kid: str) -> InboundIdentity:
        signing_key = await self._channel_keys.get(kid)
        if signing_key is None:
            raise unauthorized("UnknownSigningKey", "the token's signing key is unknown")
        claims = decode_claims(token, signing_key.key, logger)
        if claims.get("iss") != self._channel_issuer:
            raise unauthorized("InvalidIssuer", "the token issuer is not accepted")
        self._require_audience(claims.get("aud"), (self._app_id,))
        if not isinstance(claims.get("serviceurl"), str) or not claims["serviceurl"]:
            raise unauthorized("MissingServiceUrlClaim", "the token has no serviceurl claim")
        return InboundIdentity(kind="channel", claims=claims, endorsements=signing_key.endorsements)

    async def _verify_emulator(
        self, token: str, kid: str, keys: SigningKeyStore
    ) -> InboundIdentity:
        signing_key = await keys.get(kid)
        if signing_key is None:
            raise unauthorized("UnknownSigningKey", "the token's signing key is unknown")
        claims = decode_claims(token, signing_key.key, logger)
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or issuer not in self._emulator_issuers:
            raise unauthorized("InvalidIssuer", "the token issuer is not accepted")
        self._require_audience(claims.get("aud"), (self._app_id, f"api://{self._app_id}"))
        # The Emulator's token is minted with the bot's own credentials: the bot is the client.
        version = claims.get("ver")
        client_claim = (
            {"1.0": "appid", "2.0": "azp"}.get(version) if isinstance(version, str) else None
        )
        if client_claim is None or claims.get(client_claim) != self._app_id:
            raise unauthorized("InvalidClient", "the token was not issued to this bot")
        return InboundIdentity(kind="emulator", claims=claims)

    def _require_audience(self, audience: object, accepted: tuple[str, ...]) -> None:
        # A list audience is refused outright rather than searched: it would accept tokens
        # minted for several parties at once.
        if not isinstance(audience, str) or audience not in accepted:
            raise unauthorized("InvalidAudience", "the token audience is not this bot")


def _create_authenticator() -> InboundAuthenticator:
    from bot.http_session import fetch_json

    return InboundAuthenticator.from_settings(get_settings(), fetch_json)


inbound_authenticator: ProcessClient[InboundAuthenticator] = ProcessClient(_create_authenticator)
"""The process-wide authenticator: ``await inbound_authenticator.get().authenticate(header)``."""
