"""The HTTPS token endpoint the bot's MSAL client gets Connector tokens from.

It serves what MSAL 1.39 asks an authority ``https://127.0.0.1:PORT/{tenant}`` for when
``instance_discovery=False``:

1. ``GET /{tenant}/v2.0/.well-known/openid-configuration`` (tenant discovery; MSAL needs
   ``authorization_endpoint`` and ``token_endpoint``);
2. ``POST /{tenant}/oauth2/v2.0/token``, form-encoded: ``grant_type=client_credentials``,
   ``client_id``, ``scope``, ``client_info=1``, and ``client_secret`` or, for certificate
   credentials, ``client_assertion_type`` + ``client_assertion`` (a JWT whose ``aud`` is the
   token endpoint, signed with the certificate's key; PS256 with ``x5t#S256`` when MSAL has
   the certificate, RS256 with ``x5t`` when it only has a thumbprint).

Errors mirror Entra: ``{"error", "error_description", "error_codes", ...}``; a wrong secret is
401 ``invalid_client``. Access tokens are RS256 JWTs for ``https://api.botframework.com``; the
connector verifies them with :meth:`TokenAuthority.verify`, and tests can revoke them all.
"""

from __future__ import annotations

import datetime
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web

from dev.channel.config import (
    BOT_FRAMEWORK_AUDIENCE,
    BOT_FRAMEWORK_SCOPE,
    BOT_FRAMEWORK_TENANT,
    GRAPH_AUDIENCE,
    GRAPH_SCOPE,
)
from dev.channel.issuer import Clock, utc_now
from dev.channel.keys import SigningKey
from dev.channel.responses import json_response

CLIENT_CREDENTIALS = "client_credentials"
JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACCESS_TOKEN_LIFETIME = datetime.timedelta(hours=1)
BOT_FRAMEWORK_TENANT_ID = "d6d49420-f39b-4df7-a1dc-d59a935871db"
"""The tenant id behind ``botframework.com`` in Entra."""


@dataclass
class TokenStats:
    """What the token endpoint has seen since start (or the last reset).

    Attributes:
        requests: POSTs to the token endpoint, good or bad.
        issued: Tokens issued.
        rejected: Token requests answered with an error.
        revoked: Tokens revoked by :meth:`TokenAuthority.revoke_all`.
        discovery_requests: GETs of the OpenID configuration.
    """

    requests: int = 0
    issued: int = 0
    rejected: int = 0
    revoked: int = 0
    discovery_requests: int = 0

    def to_json(self) -> dict[str, int]:
        """The counters, camelCase."""
        return {
            "requests": self.requests,
            "issued": self.issued,
            "rejected": self.rejected,
            "revoked": self.revoked,
            "discoveryRequests": self.discovery_requests,
        }


class TokenRequestError(Exception):
    """A token request Entra would refuse, with Entra's error fields."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.code = code
        self.description = description

    def to_json(self) -> dict[str, Any]:
        """Entra's error body."""
        now = utc_now()
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.code}: {self.description} "
            f"Trace ID: {uuid.uuid4()} Correlation ID: {uuid.uuid4()} "
            f"Timestamp: {now:%Y-%m-%d %H:%M:%SZ}",
            "error_codes": [self.code],
            "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}",
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
            "error_uri": "https://login.microsoftonline.com/error?code=" + str(self.code),
        }


class TokenAuthority:
    """Issues, verifies and revokes the bot's Connector access tokens.

    Args:
        app_id: The only client id the endpoint knows.
        app_password: Its client secret.
        signing_key: Signs the access tokens.
        client_certificates: Certificates registered for ``app_id`` (certificate credentials).
        clock: Current time, replaceable in unit tests.
    """

    def __init__(
        self,
        *,
        app_id: str,
        app_password: str,
        signing_key: SigningKey,
        client_certificates: Iterable[SigningKey] = (),
        clock: Clock = utc_now,
    ) -> None:
        self.app_id = app_id
        self._app_password = app_password
        self._signing_key = signing_key
        self._certificates = list(client_certificates)
        self._clock = clock
        self._issued: set[str] = set()
        self._revoked: set[str] = set()
        self.stats = TokenStats()
        self.base_url = ""

    def authority(self, tenant: str = BOT_FRAMEWORK_TENANT) -> str:
        """``BOT_OAUTH_AUTHORITY`` for the bot (set once the server is bound)."""
        return f"{self.base_url}/{tenant}"

    def token_endpoint(self, tenant: str = BOT_FRAMEWORK_TENANT) -> str:
        """The ``token_endpoint`` advertised for ``tenant``."""
        return f"{self.authority(tenant)}/oauth2/v2.0/token"

    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        """The tenant discovery document, shaped like Entra's v2.0 one."""
        authority = self.authority(tenant)
        return {
            "token_endpoint": self.token_endpoint(tenant),
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{authority}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{authority}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{authority}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{authority}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid"],
            "tenant_region_scope": "WW",
        }

    def jwks(self) -> dict[str, Any]:
        """The key that signs access tokens, as a JWKS."""
        return {"keys": [self._signing_key.public_jwk()]}

    def handle_token_request(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        """Check a token request and issue a token, as Entra's v2.0 endpoint does.

        Args:
            tenant: The tenant segment of the request path.
            form: The form fields of the POST.

        Returns:
            The token response.

        Raises:
            TokenRequestError: The request is refused; carries the HTTP status and Entra body.
        """
        self.stats.requests += 1
        try:
            self._check_request(tenant, form)
        except TokenRequestError:
            self.stats.rejected += 1
            raise
        audience = GRAPH_AUDIENCE if form.get("scope") == GRAPH_SCOPE else BOT_FRAMEWORK_AUDIENCE
        return self._issue(tenant, form["client_id"], audience)

    def _check_request(self, tenant: str, form: dict[str, str]) -> None:
        grant_type = form.get("grant_type", "")
        if grant_type != CLIENT_CREDENTIALS:
            raise TokenRequestError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant_type}'.",
            )
        client_id = form.get("client_id", "")
        if client_id != self.app_id:
            raise TokenRequestError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'.",
            )
        if "client_secret" in form:
            if not hmac.compare_digest(
                form["client_secret"].encode("utf-8"), self._app_password.encode("utf-8")
            ):
                raise TokenRequestError(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the "
                    f"request is the client secret value, not the client secret ID, for a "
                    f"secret added to app '{client_id}'.",
                )
        elif "client_assertion" in form:
            self._check_assertion(tenant, form)
        else:
            raise TokenRequestError(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the "
                "'client_credentials' grant type.",
            )
        scope = form.get("scope", "")
        if scope.split() not in ([BOT_FRAMEWORK_SCOPE], [GRAPH_SCOPE]):
            raise TokenRequestError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )

    def _check_assertion(self, tenant: str, form: dict[str, str]) -> None:
        def refuse(code: int, description: str) -> TokenRequestError:
            return TokenRequestError(401, "invalid_client", code, description)

        if form.get("client_assertion_type") != JWT_BEARER_ASSERTION:
            raise TokenRequestError(
                400,
                "invalid_request",
                50027,
                "client_assertion_type must be " + JWT_BEARER_ASSERTION + ".",
            )
        assertion = form["client_assertion"]
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise refuse(50027, "Invalid JWT token. The token is malformed.") from None
        # MSAL pads its base64url thumbprints; JOSE says unpadded. Accept both.
        sha256 = str(header.get("x5t#S256", "")).rstrip("=")
        sha1 = str(header.get("x5t", "")).rstrip("=")
        certificate = next(
            (key for key in self._certificates if sha256 == key.x5t_s256 or sha1 == key.x5t),
            None,
        )
        if certificate is None:
            raise refuse(
                700027,
                "The certificate with identifier used to sign the client assertion is not "
                f"registered on application {self.app_id}.",
            )
        try:
            claims = jwt.decode(
                assertion,
                certificate.private_key.public_key(),
                algorithms=["RS256", "PS256"],
                audience=[self.token_endpoint(tenant), self.authority(tenant)],
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise refuse(
                700027, f"Client assertion failed signature or claim validation: {error}."
            ) from None
        if claims["iss"] != self.app_id or claims["sub"] != self.app_id:
            raise refuse(700021, "Client assertion application identifier doesn't match.")

    def _issue(
        self, tenant: str, client_id: str, audience: str = BOT_FRAMEWORK_AUDIENCE
    ) -> dict[str, Any]:
        now = self._clock()
        tenant_id = BOT_FRAMEWORK_TENANT_ID if tenant == BOT_FRAMEWORK_TENANT else tenant
        token_id = str(uuid.uuid4())
        claims = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + ACCESS_TOKEN_LIFETIME,
            "aio": "local",
            "appid": client_id,
            "appidacr": "1",
            "idp": f"https://sts.windows.net/{tenant_id}/",
            "tid": tenant_id,
            "uti": token_id,
            "ver": "1.0",
        }
        token = jwt.encode(
            claims,
            self._signing_key.private_key,
            algorithm="RS256",
            headers={"kid": self._signing_key.kid, "x5t": self._signing_key.x5t},
        )
        self._issued.add(token_id)
        self.stats.issued += 1
        return {
            "token_type": "Bearer",
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
            "ext_expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
            "access_token": token,
        }

    def verify(self, token: str, audience: str = BOT_FRAMEWORK_AUDIENCE) -> str | None:
        """Check a bearer token the Connector (or, with its audience, Graph) received.

        Returns:
            ``None`` when the token is good, else why it is not (never the token itself).
        """
        try:
            claims = jwt.decode(
                token,
                self._signing_key.private_key.public_key(),
                algorithms=["RS256"],
                audience=audience,
                options={"require": ["exp", "aud", "uti", "appid"]},
            )
        except jwt.PyJWTError as error:
            return f"invalid token: {type(error).__name__}"
        if claims["uti"] in self._revoked:
            return "token revoked"
        if claims["appid"] != self.app_id:
            return "token issued to another app"
        return None

    def revoke_all(self) -> int:
        """Revoke every token issued so far; the Connector answers 401 to them.

        Returns:
            How many tokens were newly revoked.
        """
        newly = self._issued - self._revoked
        self._revoked |= newly
        self.stats.revoked += len(newly)
        return len(newly)

    def reset_stats(self) -> None:
        """Zero the counters (issued tokens stay valid)."""
        self.stats = TokenStats()


TOKEN_AUTHORITY_KEY: web.AppKey[TokenAuthority] = web.AppKey("token_authority", TokenAuthority)


async def _openid_configuration(request: web.Request) -> web.Response:
    authority = request.app[TOKEN_AUTHORITY_KEY]
    authority.stats.discovery_requests += 1
    return json_response(authority.openid_configuration(request.match_info["tenant"]))


async def _jwks(request: web.Request) -> web.Response:
    return json_response(request.app[TOKEN_AUTHORITY_KEY].jwks())


async def _token(request: web.Request) -> web.Response:
    authority = request.app[TOKEN_AUTHORITY_KEY]
    form = {name: str(value) for name, value in (await request.post()).items()}
    try:
        body = authority.handle_token_request(request.match_info["tenant"], form)
    except TokenRequestError as error:
        return json_response(error.to_json(), error.status)
    # Entra marks token responses as not cacheable; so does this endpoint.
    return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def build_token_app(authority: TokenAuthority) -> web.Application:
    """The token endpoint's HTTP application (served over TLS)."""
    app = web.Application()
    app[TOKEN_AUTHORITY_KEY] = authority
    app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", _openid_configuration)
    app.router.add_get("/{tenant}/discovery/v2.0/keys", _jwks)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", _token)
    return app
