"""The bot's own access token for the Connector, from MSAL (docs/security-model.md, "Outbound").

One MSAL application per process, so its token cache lives as long as the worker does:
``ConfidentialClientApplication`` for ``MultiTenant``/``SingleTenant`` (client secret or
certificate) and ``ManagedIdentityClient`` for ``UserAssignedMSI``. MSAL is synchronous and
may do network I/O, so it runs in a worker thread; it is imported on first use only.

The token is also kept here with the time it should be refreshed (five minutes before it
expires, when MSAL itself stops returning it from its cache), so the per-send cost is a
comparison rather than a thread hop. Concurrent callers share one acquisition, so a burst of
sends on a cold process makes one token request. After the Connector answers 401, a forced
refresh drops MSAL's cached token and asks again, once, however many sends saw the 401.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from bot.auth.errors import TokenAcquisitionError
from bot.process_client import ProcessClient
from bot.settings import Settings, get_settings

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)

EXPIRY_MARGIN_SECONDS = 5 * 60
"""Refresh this long before expiry; MSAL's own cache treats such tokens as expired too."""
MSAL_TIMEOUT_SECONDS = 10
TRANSIENT_OAUTH_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


class TokenSource(Protocol):
    """Anything that can hand out the bearer token for the Connector."""

    async def get_token(
        self, *, force_refresh: bool = False, rejected_token: str | None = None
    ) -> str | None:
        """The token, or ``None`` when no token is to be sent (authentication disabled)."""
        ...


class _MsalApp(Protocol):
    def acquire(self) -> dict[str, Any]: ...

    def forget_tokens(self) -> None: ...


class _ConfidentialApp:
    def __init__(self, app: Any, scope: str) -> None:
        self._app = app
        self._scopes = [scope]

    def acquire(self) -> dict[str, Any]:
        result: dict[str, Any] = self._app.acquire_token_for_client(scopes=self._scopes)
        return result

    def forget_tokens(self) -> None:
        self._app.remove_tokens_for_client()


class _ManagedIdentityApp:
    def __init__(self, client: Any, cache: Any, resource: str) -> None:
        self._client = client
        self._cache = cache
        self._resource = resource

    def acquire(self) -> dict[str, Any]:
        result: dict[str, Any] = self._client.acquire_token_for_client(resource=self._resource)
        return result

    def forget_tokens(self) -> None:
        access_token = self._cache.CredentialType.ACCESS_TOKEN
        for entry in list(self._cache.search(access_token)):
            self._cache.remove_at(entry)


def resource_of(scope: str) -> str:
    """The managed-identity resource of an OAuth scope (``.../.default`` dropped)."""
    return scope.removesuffix("/.default")


def is_microsoft_login_host(authority: str) -> bool:
    """True when MSAL knows the authority's host (instance discovery works there)."""
    from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS  # type: ignore[import-untyped]

    host = (urlsplit(authority).hostname or "").lower()
    return host in WELL_KNOWN_AUTHORITY_HOSTS


def build_msal_app(settings: Settings) -> _MsalApp:
    """Create the MSAL application the settings describe (blocking: it may fetch metadata).

    Raises:
        CertificateError: ``MicrosoftAppCertificatePath`` is unusable.
        ValueError: MSAL refused the configuration (bad authority, unknown tenant, ...).
        requests.RequestException: The authority's metadata could not be fetched.
    """
    import msal  # type: ignore[import-untyped]
    import requests

    if settings.app_type == "UserAssignedMSI":
        session = requests.Session()
        # MSAL sets no timeout for managed identity; a stalled endpoint would hold the thread.
        session.request = functools.partial(  # type: ignore[method-assign]
            session.request, timeout=MSAL_TIMEOUT_SECONDS
        )
        cache = msal.TokenCache()
        client = msal.ManagedIdentityClient(
            msal.UserAssignedManagedIdentity(client_id=settings.app_id),
            http_client=session,
            token_cache=cache,
        )
        return _ManagedIdentityApp(client, cache, resource_of(settings.oauth_scope))

    credential: str | dict[str, str]
    if settings.app_certificate_path:
        from bot.auth.certificate import load_certificate

        credential = load_certificate(settings.app_certificate_path).msal_credential()
    elif settings.app_password is not None:
        credential = settings.app_password.get_secret_value()
    else:
        raise ValueError("no client secret or certificate is configured")
    authority = settings.oauth_authority
    options: dict[str, Any] = {}
    if not is_microsoft_login_host(authority):
        # Any other host (a sovereign or a local token endpoint) is used exactly as given:
        # no instance discovery at login.microsoftonline.com, no authority validation. It is
        # trusted through the standard CA settings (REQUESTS_CA_BUNDLE).
        options = {"instance_discovery": False, "validate_authority": False}
    app = msal.ConfidentialClientApplication(
        settings.app_id,
        client_credential=credential,
        authority=authority,
        timeout=MSAL_TIMEOUT_SECONDS,
        **options,
    )
    return _ConfidentialApp(app, settings.oauth_scope)


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    refresh_at: float


def _error_from_result(result: dict[str, Any]) -> TokenAcquisitionError:
    code = str(result.get("error") or "token_request_failed")[:64]
    # error_description may echo request details; only the numeric AADSTS codes are kept.
    error_codes = result.get("error_codes")
    numbers = error_codes[:3] if isinstance(error_codes, list) else []
    aadsts = ", ".join(f"AADSTS{number}" for number in numbers if isinstance(number, int))
    detail = f" ({aadsts})" if aadsts else ""
    return TokenAcquisitionError(
        code,
        f"the token request was refused: {code}{detail}",
        transient=code in TRANSIENT_OAUTH_ERRORS,
    )


def _error_from_exception(error: Exception) -> TokenAcquisitionError:
    from bot.auth.certificate import CertificateError

    if isinstance(error, CertificateError):
        return TokenAcquisitionError("InvalidCertificate", error.args[0], transient=False)
    if isinstance(error, json.JSONDecodeError):
        # An error page instead of JSON: an outage more likely than a misconfiguration.
        return TokenAcquisitionError(
            "InvalidTokenResponse",
            "the token endpoint did not answer with JSON",
            transient=True,
        )
    if isinstance(error, ValueError | TypeError | KeyError):
        # MSAL raises ValueError for configuration it refuses; its text may quote responses.
        return TokenAcquisitionError(
            "InvalidConfiguration",
            f"MSAL refused the authority or credential configuration ({type(error).__name__})",
            transient=False,
        )
    return TokenAcquisitionError(
        "TokenEndpointUnreachable",
        f"the token endpoint could not be reached ({type(error).__name__})",
        transient=True,
    )


def _retrieve_exception(task: asyncio.Task[str]) -> None:
    # A shared acquisition whose every waiter was cancelled must not log "never retrieved".
    if not task.cancelled():
        task.exception()


class OutboundTokenProvider:
    """Hands out the bot's token for Connector calls.

    Args:
        settings: App type, id, credential, authority and scope; with
            ``BOT_AUTH_DISABLED=true`` no token is ever requested.
        app_factory: Builds the MSAL application (tests may replace it).
        clock: A monotonic clock in seconds.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        app_factory: Callable[[Settings], _MsalApp] = build_msal_app,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._disabled = settings.auth_disabled
        self._app_factory = app_factory
        self._clock = clock
        self._app: _MsalApp | None = None
        self._app_lock = threading.Lock()
        self._token: _Token | None = None
        self._inflight: tuple[asyncio.Task[str], bool] | None = None

    async def get_token(
        self, *, force_refresh: bool = False, rejected_token: str | None = None
    ) -> str | None:
        """The bearer token for the Connector.

        Args:
            force_refresh: Bypass every cache (after the Connector answered 401).
            rejected_token: The token the Connector refused; when another caller has already
                replaced it, the replacement is returned without a new request.

        Returns:
            The access token, or ``None`` when authentication is disabled.

        Raises:
            TokenAcquisitionError: MSAL could not get a token; safe to log.
        """
        if self._disabled:
            return None
        token = self._token
        fresh = token is not None and self._clock() < token.refresh_at
        if not force_refresh:
            if fresh and token is not None:
                return token.value
            return await self._acquire(forced=False, rejected=None)
        if fresh and token is not None and rejected_token and token.value != rejected_token:
            return token.value
        return await self._acquire(forced=True, rejected=rejected_token)

    async def _acquire(self, *, forced: bool, rejected: str | None) -> str:
        loop = asyncio.get_running_loop()
        while True:
            inflight = self._inflight
            if inflight is not None and inflight[0].get_loop() is not loop:
                inflight = None  # left over from another event loop (tests)
            if inflight is None:
                task = loop.create_task(self._run(forced))
                task.add_done_callback(_retrieve_exception)
                inflight = self._inflight = (task, forced)
            task, task_forced = inflight
            value = await asyncio.shield(task)
            if forced and not task_forced and (rejected is None or value == rejected):
                continue  # a normal acquisition returned the refused token again: force one
            return value

    async def _run(self, forced: bool) -> str:
        try:
            result = await asyncio.to_thread(self._acquire_blocking, forced)
        except TokenAcquisitionError:
            raise
        except Exception as error:
            failure = _error_from_exception(error)
            logger.warning("outbound token: %s", failure.message)
            raise failure from None
        finally:
            self._inflight = None
        access_token = result.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            failure = _error_from_result(result)
            logger.warning("outbound token: %s", failure.message)
            raise failure
        lifetime = _seconds(result.get("expires_in"), default=3600.0)
        refresh_in = _seconds(result.get("refresh_in"), default=lifetime)
        usable_for = max(0.0, min(lifetime - EXPIRY_MARGIN_SECONDS, refresh_in))
        self._token = _Token(access_token, self._clock() + usable_for)
        return access_token

    def _acquire_blocking(self, forced: bool) -> dict[str, Any]:
        app = self._msal_app()
        if forced:
            app.forget_tokens()
        return app.acquire()

    def _msal_app(self) -> _MsalApp:
        with self._app_lock:
            if self._app is None:
                # Not cached on failure: a transient metadata outage must not stick.
                self._app = self._app_factory(self._settings)
            return self._app


def _seconds(value: object, *, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return float(value)
    return default


_provider: ProcessClient[OutboundTokenProvider] = ProcessClient(
    lambda: OutboundTokenProvider(get_settings()), key=get_settings, per_loop=False
)


def token_provider() -> OutboundTokenProvider:
    """The process-wide provider; its MSAL app and token survive across invocations."""
    return _provider.get()
