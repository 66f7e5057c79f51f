"""Entra ID bearer validation for the management API (docs/security-model.md, "Who may call").

Function keys are shared secrets that end up in logs (``?code=``), so when
``PROACTIVE_API_AUDIENCE`` is set, every route but ``/api/messages`` and ``/api/health`` also
requires an Entra ID access token of an app allowed the route's action
(:mod:`bot.http.caller_policy` applies this to every route in one place):

* RS256, signed by a key of the tenant's OpenID metadata (``PROACTIVE_API_OPENID_METADATA_URL``);
* ``iss`` one of ``PROACTIVE_API_ISSUERS`` (by default the tenant's v2 and v1 issuers) and
  ``tid`` equal to ``PROACTIVE_API_TENANT_ID``;
* ``aud`` a string in ``PROACTIVE_API_AUDIENCE`` (the App ID URI for v1 tokens, the
  application id for v2 tokens; list both);
* ``exp`` required, ``exp``/``nbf`` with five minutes of skew;
* an app-only token: ``idtyp`` is ``app``, or a v1 token (``ver`` ``1.0``) without ``scp``;
  a delegated (user) token only when ``PROACTIVE_API_ALLOW_DELEGATED=true``;
* ``roles`` holding the role of the action (:class:`ApiAction`): ``PROACTIVE_API_ROLE``
  (default ``Proactive.Send``) to send and broadcast, ``PROACTIVE_API_SCHEDULE_ROLE``
  (``Proactive.Schedules``) for schedules, ``PROACTIVE_API_READ_ROLE`` (``Proactive.Read``) to
  read references, receipts and broadcast progress;
* when ``PROACTIVE_API_ALLOWED_CLIENT_IDS`` is set, the calling app (``azp`` in v2 tokens,
  ``appid`` in v1) in that list.

No or a malformed bearer, a bad signature, a wrong issuer, tenant or audience, an expired token:
401. A delegated token (unless allowed), a valid token without the role, or of an app not
allowed: 403. Signing keys that cannot be
fetched: 503. Never a 500, and the token is never logged.

The ``PROACTIVE_API_*`` settings are part of :class:`bot.settings.Settings`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

from bot.auth.claims import ALGORITHM, decode_claims, unauthorized
from bot.auth.errors import AuthenticationError
from bot.auth.inbound import bearer_token
from bot.auth.signing_keys import JsonFetcher, SigningKeyStore
from bot.process_client import ProcessClient
from bot.settings import SettingsError, get_settings

logger = logging.getLogger(__name__)

DEFAULT_ROLE = "Proactive.Send"
DEFAULT_SCHEDULE_ROLE = "Proactive.Schedules"
DEFAULT_READ_ROLE = "Proactive.Read"
AUDIENCE_SETTING = "PROACTIVE_API_AUDIENCE"
ROLE_SETTING = "PROACTIVE_API_ROLE"
SCHEDULE_ROLE_SETTING = "PROACTIVE_API_SCHEDULE_ROLE"
READ_ROLE_SETTING = "PROACTIVE_API_READ_ROLE"
DELEGATED_SETTING = "PROACTIVE_API_ALLOW_DELEGATED"
TENANT_SETTING = "PROACTIVE_API_TENANT_ID"
METADATA_SETTING = "PROACTIVE_API_OPENID_METADATA_URL"
ISSUERS_SETTING = "PROACTIVE_API_ISSUERS"
CLIENTS_SETTING = "PROACTIVE_API_ALLOWED_CLIENT_IDS"
SETTING_NAMES = (
    AUDIENCE_SETTING,
    ROLE_SETTING,
    TENANT_SETTING,
    METADATA_SETTING,
    ISSUERS_SETTING,
    CLIENTS_SETTING,
    SCHEDULE_ROLE_SETTING,
    READ_ROLE_SETTING,
    DELEGATED_SETTING,
)


class ApiAction(StrEnum):
    """What a management route does; each action has its own app role."""

    SEND = "send"
    """Send and broadcast: ``/api/sendactivity``, ``/api/sendtoreference``, ``/api/broadcasts``."""
    SCHEDULES = "schedules"
    """Create, list, read, change and delete schedules: ``/api/schedules``."""
    READ = "read"
    """Read references, receipts and broadcast progress."""


@dataclass(frozen=True)
class ApiCallerSettings:
    """Who may call the management API, beyond the function key.

    Attributes:
        audiences: Accepted ``aud`` values; empty means Entra ID validation is off.
        role: The app role to send (:attr:`ApiAction.SEND`).
        schedule_role: The app role to manage schedules.
        read_role: The app role to read references, receipts and broadcast progress.
        allow_delegated: Accept delegated (user) tokens too; they still need the role.
        tenant_id: The only accepted ``tid``.
        openid_metadata_url: Where the signing keys are published.
        issuers: Accepted ``iss`` values.
        allowed_client_ids: Calling apps allowed; empty means any app with the role.
    """

    audiences: tuple[str, ...] = ()
    role: str = DEFAULT_ROLE
    tenant_id: str = ""
    openid_metadata_url: str = ""
    issuers: tuple[str, ...] = ()
    allowed_client_ids: tuple[str, ...] = ()
    schedule_role: str = DEFAULT_SCHEDULE_ROLE
    read_role: str = DEFAULT_READ_ROLE
    allow_delegated: bool = False

    def role_of(self, action: ApiAction) -> str:
        """The app role ``action`` needs."""
        if action is ApiAction.SCHEDULES:
            return self.schedule_role
        if action is ApiAction.READ:
            return self.read_role
        return self.role

    @property
    def enabled(self) -> bool:
        """Whether callers must present an Entra ID token."""
        return bool(self.audiences)

    @classmethod
    def from_values(cls, values: Mapping[str, str]) -> ApiCallerSettings:
        """The settings from app-setting values (names as in :data:`SETTING_NAMES`).

        Raises:
            SettingsError: Entra validation is on but the tenant is missing.
        """
        audiences = _split(values.get(AUDIENCE_SETTING, ""))
        if not audiences:
            return cls()
        tenant = values.get(TENANT_SETTING, "").strip()
        if not tenant:
            raise SettingsError(
                f"{TENANT_SETTING}: required when {AUDIENCE_SETTING} is set "
                "(the tenant whose tokens the send API accepts)"
            )
        metadata = values.get(METADATA_SETTING, "").strip() or (
            f"https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
        )
        issuers = _split(values.get(ISSUERS_SETTING, "")) or (
            f"https://login.microsoftonline.com/{tenant}/v2.0",
            f"https://sts.windows.net/{tenant}/",
        )
        return cls(
            audiences=audiences,
            role=values.get(ROLE_SETTING, "").strip() or DEFAULT_ROLE,
            tenant_id=tenant,
            openid_metadata_url=metadata,
            issuers=issuers,
            allowed_client_ids=_split(values.get(CLIENTS_SETTING, "")),
            schedule_role=values.get(SCHEDULE_ROLE_SETTING, "").strip() or DEFAULT_SCHEDULE_ROLE,
            read_role=values.get(READ_ROLE_SETTING, "").strip() or DEFAULT_READ_ROLE,
            allow_delegated=values.get(DELEGATED_SETTING, "").strip().lower() == "true",
        )


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@cache
def get_api_caller_settings() -> ApiCallerSettings:
    """The process-wide send-API caller settings, from :func:`bot.settings.get_settings`.

    Raises:
        SettingsError: A setting is missing or invalid (the message names it).
    """
    settings = get_settings()
    return ApiCallerSettings.from_values(
        {
            AUDIENCE_SETTING: settings.proactive_api_audience,
            ROLE_SETTING: settings.proactive_api_role,
            TENANT_SETTING: settings.proactive_api_tenant_id,
            METADATA_SETTING: settings.proactive_api_openid_metadata_url,
            ISSUERS_SETTING: settings.proactive_api_issuers,
            CLIENTS_SETTING: settings.proactive_api_allowed_client_ids,
            SCHEDULE_ROLE_SETTING: settings.proactive_api_schedule_role,
            READ_ROLE_SETTING: settings.proactive_api_read_role,
            DELEGATED_SETTING: "true" if settings.proactive_api_allow_delegated else "",
        }
    )


@dataclass(frozen=True)
class ApiCaller:
    """Who called the send API.

    Attributes:
        authenticated: Whether an Entra ID token was validated (``False`` when validation is
            off and only the function key protects the API).
        client_id: The calling app (``azp``/``appid``).
        claims: The token's claims.
    """

    authenticated: bool
    client_id: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)


ANONYMOUS_CALLER = ApiCaller(authenticated=False)


class ApiCallerAuthenticator:
    """Checks the bearer token of a send API request.

    Args:
        settings: What to accept.
        keys: The signing keys of ``settings.openid_metadata_url``; required when enabled.
    """

    def __init__(self, settings: ApiCallerSettings, keys: SigningKeyStore | None) -> None:
        if settings.enabled and keys is None:
            raise ValueError("signing keys are required when Entra ID validation is on")
        self.settings = settings
        self._keys = keys

    @classmethod
    def from_settings(
        cls, settings: ApiCallerSettings, fetch_json: JsonFetcher
    ) -> ApiCallerAuthenticator:
        """The authenticator the settings describe."""
        keys = (
            SigningKeyStore(settings.openid_metadata_url, fetch_json) if settings.enabled else None
        )
        return cls(settings, keys)

    async def authenticate(
        self, authorization: str | None, action: ApiAction = ApiAction.SEND
    ) -> ApiCaller:
        """Validate the ``Authorization`` header of a request for ``action``.

        Returns:
            The caller; :data:`ANONYMOUS_CALLER` when Entra ID validation is off.

        Raises:
            AuthenticationError: 401 (no, malformed, forged, expired or misdirected token),
                403 (a delegated token, no role, app not allowed) or 503 (signing keys
                unavailable).
        """
        if not self.settings.enabled or self._keys is None:
            return ANONYMOUS_CALLER
        token = bearer_token(authorization)
        # PyJWT (and cryptography under it) loads on the first token, not at import: it is a
        # large share of the cold start, and timer and queue invocations never need it.
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except Exception:  # whatever PyJWT raises, the token is malformed
            raise unauthorized("InvalidToken", "the bearer token is not a valid JWT") from None
        if header.get("alg") != ALGORITHM:
            raise unauthorized("UnsupportedAlgorithm", f"only {ALGORITHM} tokens are accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise unauthorized("InvalidToken", "the token names no signing key")
        signing_key = await self._keys.get(kid)
        if signing_key is None:
            raise unauthorized("UnknownSigningKey", "the token's signing key is unknown")
        claims = decode_claims(token, signing_key.key, logger)
        settings = self.settings
        if claims.get("iss") not in settings.issuers:
            raise unauthorized("InvalidIssuer", "the token issuer is not accepted")
        if claims.get("tid") != settings.tenant_id:
            raise unauthorized("InvalidTenant", "the token is not from the accepted tenant")
        audience = claims.get("aud")
        # A list audience is refused rather than searched (see bot.auth.inbound).
        if not isinstance(audience, str) or audience not in settings.audiences:
            raise unauthorized("InvalidAudience", "the token is not for this API")
        client_id = _client_id(claims)
        if not settings.allow_delegated and not is_app_only(claims):
            raise AuthenticationError(
                403,
                "DelegatedTokenNotAllowed",
                "the token was issued to a user; this API takes app-only tokens",
            )
        role = settings.role_of(action)
        roles = claims.get("roles")
        if not isinstance(roles, list) or role not in roles:
            raise AuthenticationError(403, "MissingRole", f"the caller lacks the app role {role}")
        if settings.allowed_client_ids and client_id not in settings.allowed_client_ids:
            raise AuthenticationError(
                403, "ClientNotAllowed", "the calling app is not allowed to send"
            )
        return ApiCaller(authenticated=True, client_id=client_id, claims=claims)


def is_app_only(claims: Mapping[str, Any]) -> bool:
    """Whether an Entra ID access token was issued to an app, not to a user.

    ``idtyp`` says so when present (v2 tokens carry it once the API's app registration asks for
    the optional claim); a v1 token without ``scp`` is app-only as well. A token that says
    neither is treated as delegated.
    """
    idtyp = claims.get("idtyp")
    if idtyp is not None:
        return idtyp == "app" and "scp" not in claims
    return claims.get("ver") == "1.0" and "scp" not in claims


def _client_id(claims: Mapping[str, Any]) -> str | None:
    value = claims.get("azp") if claims.get("ver") == "2.0" else claims.get("appid")
    if not isinstance(value, str):
        value = claims.get("azp") or claims.get("appid")
    return value if isinstance(value, str) else None


def _create_authenticator() -> ApiCallerAuthenticator:
    from bot.http_session import fetch_json

    return ApiCallerAuthenticator.from_settings(get_api_caller_settings(), fetch_json)


_authenticator: ProcessClient[ApiCallerAuthenticator] = ProcessClient(
    _create_authenticator, key=get_api_caller_settings
)


def api_caller_authenticator() -> ApiCallerAuthenticator:
    """The process-wide authenticator (its signing key cache lives across requests).

    Raises:
        SettingsError: The settings are incomplete.
    """
    return _authenticator.get()
