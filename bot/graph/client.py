"""The few Microsoft Graph calls the bot makes, with its own identity (app-only tokens).

* ``GET /v1.0/users/{userPrincipalName}?$select=id``: a user's Entra object id by name
  (``User.Read.All``). Answers are cached per process (:data:`NAME_CACHE_SECONDS`), so a batch
  of sends to one person costs one lookup.
* ``POST /v1.0/users/{id}/teamwork/installedApps``: install the bot's Teams app for a user
  (``TeamsAppInstallation.ReadWriteSelfForUser.All``), when ``GRAPH_INSTALL_APP`` is on.

A Graph token is issued by the user's tenant, so there is one token source per tenant, each the
bot's usual MSAL client (secret, certificate or managed identity) with the tenant's authority
and ``GRAPH_SCOPE``. The origin is ``GRAPH_ENDPOINT`` (https only), trusted through the standard
CA settings (``REQUESTS_CA_BUNDLE``, as the token authority). Failures are raised as
:class:`~bot.connector.errors.ConnectorError`, so a send classifies them like a Connector
answer (429 and 5xx retried, 403 a missing permission, not retried).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.auth.outbound import OutboundTokenProvider, TokenSource
from bot.connector.errors import ConnectorError, error_code_and_message, parse_retry_after
from bot.proactive.errors import UserNotFoundError
from bot.process_client import ProcessClient
from bot.settings import Settings, get_settings

if TYPE_CHECKING:
    import aiohttp

logger = logging.getLogger(__name__)

NAME_CACHE_SECONDS = 3600.0
"""How long a name's object id is trusted (a renamed user keeps their object id)."""
NAME_CACHE_SIZE = 10_000
MAX_RESPONSE_BYTES = 64 * 1024


class GraphClient:
    """Calls Microsoft Graph as the bot.

    Args:
        settings: Returns the settings (``GRAPH_*``, the bot's credential and authority).
        session: Returns the HTTP session.
        tokens: Returns the token source of a tenant; MSAL with the tenant's authority by
            default.
        clock: A monotonic clock in seconds (the name cache).
    """

    def __init__(
        self,
        *,
        settings: Callable[[], Settings] = get_settings,
        session: Callable[[], aiohttp.ClientSession] | None = None,
        tokens: Callable[[str], TokenSource] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._session = session or graph_session.get
        self._tokens = tokens or self._tenant_tokens
        self._clock = clock
        self._providers: dict[tuple[int, str], OutboundTokenProvider] = {}
        self._names: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        self.lookups = 0
        """Name lookups that went to Graph (instrumentation for tests and benchmarks)."""

    async def object_id(self, tenant_id: str, user_principal_name: str) -> str:
        """The Entra object id of the tenant's user with this name (or email), lower case.

        Raises:
            UserNotFoundError: Graph knows no such user (404).
            ConnectorError: Graph refused or failed.
        """
        key = (tenant_id, user_principal_name.lower())
        cached = self._names.get(key)
        if cached is not None and self._clock() < cached[1]:
            self._names.move_to_end(key)
            return cached[0]
        self.lookups += 1
        path = f"/v1.0/users/{quote(user_principal_name, safe='@')}?$select=id"
        try:
            body = await self._request("graph_get_user", "GET", tenant_id, path, None)
        except ConnectorError as error:
            if error.status == 404:
                raise UserNotFoundError(
                    "user.userPrincipalName: no user of the tenant has this name"
                ) from None
            raise
        object_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(object_id, str) or not object_id:
            raise ConnectorError(
                None, "InvalidResponse", "Graph named no user id", operation="graph_get_user"
            )
        self._names[key] = (object_id.lower(), self._clock() + NAME_CACHE_SECONDS)
        while len(self._names) > NAME_CACHE_SIZE:
            self._names.popitem(last=False)
        return object_id.lower()

    async def install_app(self, tenant_id: str, user_object_id: str) -> None:
        """Install the bot's Teams app (``TEAMS_APP_CATALOG_ID``) for a user.

        An app already installed (409) is success.

        Raises:
            ConnectorError: Graph refused or failed.
        """
        settings = self._settings()
        endpoint = settings.graph_endpoint.rstrip("/")
        body = {
            "teamsApp@odata.bind": f"{endpoint}/v1.0/appCatalogs/teamsApps/"
            + quote(settings.teams_app_catalog_id, safe="")
        }
        path = f"/v1.0/users/{quote(user_object_id, safe='')}/teamwork/installedApps"
        try:
            await self._request("graph_install_app", "POST", tenant_id, path, body)
        except ConnectorError as error:
            if error.status != 409:
                raise
        logger.info("graph: the bot's app was installed for a user")

    async def _request(
        self, operation: str, method: str, tenant_id: str, path: str, body: Any
    ) -> Any:
        tokens = self._tokens(tenant_id)
        token = await tokens.get_token()
        status, raw, retry_after = await self._send(operation, method, path, body, token)
        if status == 401 and token is not None:
            # A token Graph refuses (revoked, a rotated secret) is replaced once.
            token = await tokens.get_token(force_refresh=True, rejected_token=token)
            status, raw, retry_after = await self._send(operation, method, path, body, token)
        if 200 <= status < 300:
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return None
        code, message = error_code_and_message(raw)
        logger.warning("graph: %s answered %d %s", operation, status, code or "")
        raise ConnectorError(
            status,
            code or "HttpError",
            message or f"Graph answered HTTP {status}",
            retry_after=retry_after,
            operation=operation,
        )

    async def _send(
        self, operation: str, method: str, path: str, body: Any, token: str | None
    ) -> tuple[int, bytes, float | None]:
        import aiohttp

        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        url = self._settings().graph_endpoint.rstrip("/") + path
        try:
            async with self._session().request(
                method, url, data=data, headers=headers, allow_redirects=False
            ) as response:
                raw = await response.content.read(MAX_RESPONSE_BYTES + 1)
                status = response.status
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except TimeoutError:
            raise ConnectorError(
                None, "Timeout", "Graph did not answer in time", operation=operation
            ) from None
        except (aiohttp.ClientError, OSError) as error:
            raise ConnectorError(
                None,
                "ConnectionError",
                f"Graph could not be reached ({type(error).__name__})",
                operation=operation,
            ) from None
        return status, raw, retry_after

    def _tenant_tokens(self, tenant_id: str) -> TokenSource:
        settings = self._settings()
        key = (id(settings), tenant_id)
        provider = self._providers.get(key)
        if provider is None:
            tenant_settings = settings.model_copy(
                update={
                    "oauth_authority_setting": settings.graph_authority(tenant_id),
                    "oauth_scope": settings.graph_scope,
                }
            )
            provider = self._providers[key] = OutboundTokenProvider(tenant_settings)
        return provider


def _create_session() -> aiohttp.ClientSession:
    import ssl

    import aiohttp

    # The standard CA settings, as for the token authority: a private or local CA is trusted
    # through REQUESTS_CA_BUNDLE.
    context = ssl.create_default_context(cafile=os.environ.get("REQUESTS_CA_BUNDLE") or None)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context, limit=32),
        timeout=aiohttp.ClientTimeout(total=30.0, connect=5.0),
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )


async def _close_session(session: aiohttp.ClientSession) -> None:
    await session.close()


graph_session: ProcessClient[aiohttp.ClientSession] = ProcessClient(_create_session, _close_session)
"""The Graph HTTP session (its own: it trusts the configured CA bundle)."""

graph_client: ProcessClient[GraphClient] = ProcessClient(GraphClient)
"""The process-wide client: ``graph_client.get()`` (its name cache lives across invocations)."""
