"""The OpenID issuer of channel tokens, as ``login.botframework.com`` publishes it.

The Bot Connector signs every activity it posts to a bot with an RS256 JWT: ``iss`` is
``https://api.botframework.com``, ``aud`` is the bot's app id and ``serviceurl`` is the
activity's serviceUrl. The bot finds the keys through the OpenID metadata document and checks
that the activity's ``channelId`` is in the signing key's ``endorsements``.

:meth:`ChannelIssuer.mint` makes such tokens, and with a :class:`TokenDefect` the bad ones tests
need (expired, wrong audience, unknown ``kid``...).
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from dev.channel.keys import SigningKey, base64url
from dev.channel.responses import json_response

OPENID_CONFIGURATION_PATH = "/v1/.well-known/openidconfiguration"
JWKS_PATH = "/v1/.well-known/keys"
TOKEN_LIFETIME = datetime.timedelta(hours=1)
CLOCK_SKEW_BEYOND_LEEWAY = datetime.timedelta(minutes=10)
"""How far bad timestamps are pushed: well past the 5 minutes of leeway bots allow."""

Clock = Callable[[], datetime.datetime]


def utc_now() -> datetime.datetime:
    """The current time, UTC."""
    return datetime.datetime.now(datetime.UTC)


class TokenDefect(enum.StrEnum):
    """A way to make a channel token that a correct bot must reject."""

    EXPIRED = "expired"
    """``exp`` 10 minutes in the past (beyond the 5 minutes of leeway)."""
    NOT_YET_VALID = "notYetValid"
    """``nbf`` 10 minutes in the future."""
    WRONG_AUDIENCE = "wrongAudience"
    """``aud`` is another app id."""
    AUDIENCE_LIST = "audienceList"
    """``aud`` is a list holding the right app id (bots must want a string)."""
    WRONG_ISSUER = "wrongIssuer"
    """``iss`` is an Entra tenant issuer instead of the Bot Framework's."""
    WRONG_SERVICE_URL = "wrongServiceUrl"
    """``serviceurl`` names another host than the activity's."""
    MISSING_SERVICE_URL = "missingServiceUrl"
    """No ``serviceurl`` claim."""
    MISSING_EXPIRY = "missingExpiry"
    """No ``exp`` claim."""
    UNKNOWN_KID = "unknownKid"
    """Signed by the right key, but the header names a ``kid`` the JWKS does not have."""
    FOREIGN_KEY = "foreignKey"
    """Signed by a key not in the JWKS, with the ``kid`` of one that is."""
    UNENDORSED_KEY = "unendorsedKey"
    """Signed by a published key endorsed only for a channel no activity uses."""
    ALG_NONE = "algNone"
    """``alg: none`` and an empty signature."""
    HS256_PUBLIC_KEY = "hs256PublicKey"
    """HS256 with the published public key (PEM) as the HMAC secret: key confusion."""


_OTHER_AUDIENCE = "00000000-0000-0000-0000-00000000dead"
_ENTRA_ISSUER = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"
_OTHER_SERVICE_URL = "https://attacker.example/"


def _encode_unsigned(header: Mapping[str, Any], payload: Mapping[str, Any]) -> bytes:
    def part(value: Mapping[str, Any]) -> str:
        return base64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))

    return f"{part(header)}.{part(payload)}".encode("ascii")


class ChannelIssuer:
    """Publishes the signing keys and mints channel tokens.

    Args:
        key: The main signing key; its endorsements are the channels the bot may accept.
        restricted_key: A second published key, endorsed for no channel a test uses.
        foreign_key: A key never published.
        issuer: The ``iss`` of good tokens.
        clock: Current time, replaceable in unit tests.
    """

    def __init__(
        self,
        key: SigningKey,
        restricted_key: SigningKey,
        foreign_key: SigningKey,
        *,
        issuer: str,
        clock: Clock = utc_now,
    ) -> None:
        self._keys: list[SigningKey] = [key, restricted_key]
        self._primary = key
        self._restricted = restricted_key
        self._foreign = foreign_key
        self.issuer = issuer
        self._clock = clock
        self.base_url = ""

    @property
    def primary_key(self) -> SigningKey:
        """The key good tokens are signed with."""
        return self._primary

    @property
    def openid_metadata_url(self) -> str:
        """``BOT_OPENID_METADATA_URL`` for the bot (set once the server is bound)."""
        return self.base_url + OPENID_CONFIGURATION_PATH

    @property
    def jwks_url(self) -> str:
        """The ``jwks_uri`` of the metadata document."""
        return self.base_url + JWKS_PATH

    def openid_configuration(self) -> dict[str, Any]:
        """The metadata document, shaped like ``login.botframework.com``'s."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": self.jwks_url,
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }

    def jwks(self) -> dict[str, Any]:
        """The published keys (never the foreign one)."""
        return {"keys": [key.public_jwk() for key in self._keys]}

    def rotate(self) -> SigningKey:
        """Publish a new main key and sign with it from now on; the old one stays published.

        Bots cache the JWKS, so the first token with the new ``kid`` must make them refetch.
        """
        new_key = SigningKey.generate("local channel issuer", self._primary.endorsements)
        self._keys.insert(0, new_key)
        self._primary = new_key
        return new_key

    def mint(
        self,
        service_url: str,
        audience: str,
        *,
        defect: TokenDefect | None = None,
        lifetime: datetime.timedelta = TOKEN_LIFETIME,
        issued_at: datetime.datetime | None = None,
        omit_claims: Iterable[str] = (),
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A channel token for an activity posted to the bot.

        Args:
            service_url: The activity's serviceUrl; the ``serviceurl`` claim.
            audience: The bot's app id.
            defect: Make a token a correct bot rejects, see :class:`TokenDefect`.
            lifetime: ``exp - iat``.
            issued_at: ``iat`` and ``nbf``; now when not given (set it in the past to test
                the expiry leeway precisely).
            omit_claims: Claims to leave out.
            extra_claims: Claims to add or override, last.

        Returns:
            The compact JWT.
        """
        issued = issued_at or self._clock()
        claims: dict[str, Any] = {
            "serviceurl": service_url,
            "nbf": issued,
            "exp": issued + lifetime,
            "iat": issued,
            "iss": self.issuer,
            "aud": audience,
            "jti": str(uuid.uuid4()),
        }
        key = self._primary
        kid = key.kid
        match defect:
            case TokenDefect.EXPIRED:
                claims["exp"] = self._clock() - CLOCK_SKEW_BEYOND_LEEWAY
                claims["iat"] = claims["nbf"] = claims["exp"] - lifetime
            case TokenDefect.NOT_YET_VALID:
                claims["nbf"] = self._clock() + CLOCK_SKEW_BEYOND_LEEWAY
            case TokenDefect.WRONG_AUDIENCE:
                claims["aud"] = _OTHER_AUDIENCE
            case TokenDefect.AUDIENCE_LIST:
                claims["aud"] = [audience]
            case TokenDefect.WRONG_ISSUER:
                claims["iss"] = _ENTRA_ISSUER
            case TokenDefect.WRONG_SERVICE_URL:
                claims["serviceurl"] = _OTHER_SERVICE_URL
            case TokenDefect.MISSING_SERVICE_URL:
                del claims["serviceurl"]
            case TokenDefect.MISSING_EXPIRY:
                del claims["exp"]
            case TokenDefect.UNKNOWN_KID:
                kid = base64url(uuid.uuid4().bytes)
            case TokenDefect.FOREIGN_KEY:
                key = self._foreign
            case TokenDefect.UNENDORSED_KEY:
                key = self._restricted
                kid = key.kid
            case TokenDefect.ALG_NONE | TokenDefect.HS256_PUBLIC_KEY | None:
                pass
        for name in omit_claims:
            claims.pop(name, None)
        claims.update(extra_claims or {})
        claims = {
            name: int(value.timestamp()) if isinstance(value, datetime.datetime) else value
            for name, value in claims.items()
        }

        if defect is TokenDefect.ALG_NONE:
            header = {"alg": "none", "typ": "JWT", "kid": kid}
            return _encode_unsigned(header, claims).decode("ascii") + "."
        if defect is TokenDefect.HS256_PUBLIC_KEY:
            header = {"alg": "HS256", "typ": "JWT", "kid": kid}
            signing_input = _encode_unsigned(header, claims)
            # PyJWT refuses a PEM as an HMAC secret, which is the point of this attack.
            secret = key.private_key.public_key().public_bytes(
                Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
            )
            signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
            return f"{signing_input.decode('ascii')}.{base64url(signature)}"
        return jwt.encode(
            claims,
            key.private_key,
            algorithm="RS256",
            headers={"kid": kid, "x5t": key.x5t, "typ": "JWT"},
        )


ISSUER_KEY: web.AppKey[ChannelIssuer] = web.AppKey("issuer", ChannelIssuer)


async def _openid_configuration(request: web.Request) -> web.Response:
    return json_response(request.app[ISSUER_KEY].openid_configuration())


async def _jwks(request: web.Request) -> web.Response:
    return json_response(request.app[ISSUER_KEY].jwks())


def build_issuer_app(issuer: ChannelIssuer) -> web.Application:
    """The issuer's HTTP server: the metadata document and the JWKS."""
    app = web.Application()
    app[ISSUER_KEY] = issuer
    app.router.add_get(OPENID_CONFIGURATION_PATH, _openid_configuration)
    app.router.add_get(JWKS_PATH, _jwks)
    return app
