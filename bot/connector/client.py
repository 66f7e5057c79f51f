"""The Bot Connector REST client, on the shared aiohttp session.

The operations and their errors are in docs/security-model.md, "Connector errors and retries".

Every call goes: allow-list check of the serviceUrl, then the bot token, then the request.
A disallowed serviceUrl therefore never causes a token request, let alone a request. Redirects
are not followed (a 3xx is an error), so the token never travels to a host the allow-list did
not approve. A 401 gets one forced token refresh and one retry.

This is the hot path of proactive sends, so per call it does only what it must: a dictionary
lookup for the serviceUrl, a comparison for the token, one serialization of the activity, one
validation of the small response.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.auth.outbound import TokenSource, token_provider
from bot.auth.service_url import ServiceUrlPolicy, service_url_policy
from bot.connector.errors import ConnectorError, error_code_and_message, parse_retry_after
from bot.http_session import http_session, read_capped
from bot.process_client import ProcessClient
from bot.schema import (
    Activity,
    ChannelAccount,
    ChannelInfo,
    ConversationList,
    ConversationParameters,
    ConversationResourceResponse,
    PagedMembersResult,
    ResourceResponse,
    WireModel,
    wire_json,
)

if TYPE_CHECKING:
    import aiohttp
    from yarl import URL

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

MAX_RESPONSE_BYTES = 4 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024
OPERATION_ID_HEADER: Final = "X-Correlating-OperationId"
JSON_HEADERS: Final = {
    "Content-Type": "application/json; charset=utf-8",
    "Accept": "application/json",
}
_MEMBERS = TypeAdapter(list[ChannelAccount])

Body = BaseModel | Mapping[str, Any]
"""A request body: a schema model, or a wire-format dict passed through as is."""


def path_segment(value: str, what: str) -> str:
    """``value`` encoded as one URL path segment (``quote(value, safe="")``).

    Raises:
        ConnectorError: ``InvalidId`` for an empty id or a dot segment (``.``/``..``), which
            servers may resolve even when percent-encoded.
    """
    if not isinstance(value, str) or not value or value in (".", ".."):
        raise ConnectorError(None, "InvalidId", f"the {what} is empty or invalid", transient=False)
    return quote(value, safe="")


def _serialize(body: Body) -> bytes:
    if isinstance(body, WireModel):
        return wire_json(body)  # one pass in pydantic-core, straight to bytes
    if isinstance(body, BaseModel):
        # One pass in pydantic-core, straight to bytes: no dict, no re-validation.
        return body.__pydantic_serializer__.to_json(body, by_alias=True, exclude_none=True)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class ConnectorClient:
    """Calls the Bot Connector of any allowed serviceUrl.

    Create one per process (see :data:`connector_client`); it holds no per-conversation state.

    Args:
        session: Returns the shared aiohttp session (called per request, so a session
            re-created for a new event loop is picked up).
        tokens: The bot's token source.
        service_urls: The serviceUrl allow-list.
    """

    def __init__(
        self,
        *,
        session: Callable[[], aiohttp.ClientSession],
        tokens: TokenSource,
        service_urls: ServiceUrlPolicy,
    ) -> None:
        self._session = session
        self._tokens = tokens
        self._service_urls = service_urls

    async def create_conversation(
        self, service_url: str, parameters: ConversationParameters | Mapping[str, Any]
    ) -> ConversationResourceResponse:
        """``POST /v3/conversations``: start a conversation (a 1:1 chat with a user).

        Raises:
            ServiceUrlNotAllowed: Before any token or request.
            TokenAcquisitionError: The bot's token could not be obtained.
            ConnectorError: The Connector refused or did not answer.
        """
        return await self._call(
            "create_conversation",
            "POST",
            service_url,
            "/v3/conversations",
            parameters,
            ConversationResourceResponse,
        )

    async def send_to_conversation(
        self, service_url: str, conversation_id: str, activity: Activity | Mapping[str, Any]
    ) -> ResourceResponse:
        """``POST /v3/conversations/{conversationId}/activities``: a new message.

        Raises:
            ServiceUrlNotAllowed: Before any token or request.
            TokenAcquisitionError: The bot's token could not be obtained.
            ConnectorError: The Connector refused or did not answer.
        """
        conversation = path_segment(conversation_id, "conversation id")
        return await self._call(
            "send_to_conversation",
            "POST",
            service_url,
            f"/v3/conversations/{conversation}/activities",
            activity,
            ResourceResponse,
        )

    async def reply_to_activity(
        self,
        service_url: str,
        conversation_id: str,
        activity_id: str,
        activity: Activity | Mapping[str, Any],
    ) -> ResourceResponse:
        """``POST /v3/conversations/{conversationId}/activities/{activityId}``: a reply.

        Raises:
            ServiceUrlNotAllowed: Before any token or request.
            TokenAcquisitionError: The bot's token could not be obtained.
            ConnectorError: The Connector refused or did not answer.
        """
        conversation = path_segment(conversation_id, "conversation id")
        target = path_segment(activity_id, "activity id")
        return await self._call(
            "reply_to_activity",
            "POST",
            service_url,
            f"/v3/conversations/{conversation}/activities/{target}",
            activity,
            ResourceResponse,
        )

    async def update_activity(
        self,
        service_url: str,
        conversation_id: str,
        activity_id: str,
        activity: Activity | Mapping[str, Any],
    ) -> ResourceResponse:
        """``PUT /v3/conversations/{conversationId}/activities/{activityId}``: edit a message.

        Raises:
            ServiceUrlNotAllowed: Before any token or request.
            TokenAcquisitionError: The bot's token could not be obtained.
            ConnectorError: The Connector refused or did not answer.
        """
        conversation = path_segment(conversation_id, "conversation id")
        target = path_segment(activity_id, "activity id")
        return await self._call(
            "update_activity",
            "PUT",
            service_url,
            f"/v3/conversations/{conversation}/activities/{target}",
            activity,
            ResourceResponse,
        )

    async def delete_activity(
        self, service_url: str, conversation_id: str, activity_id: str
    ) -> None:
        """``DELETE /v3/conversations/{conversationId}/activities/{activityId}``.

        Raises:
            ServiceUrlNotAllowed: Before any token or request.
            TokenAcquisitionError: The bot's token could not be obtained.
            ConnectorError: The Connector refused or did not answer.
        """
        conversation = path_segment(conversation_id, "conversation id")
        target = path_segment(activity_id, "activity id")
        await self._request(
            "delete_activity",
            "DELETE",
            service_url,
            f"/v3/conversations/{conversation}/activities/{target}",
            None,
        )

    async def get_conversation_members(
        self, service_url: str, conversation_id: str
    ) -> list[ChannelAccount]:
        """``GET /v3/conversations/{conversationId}/members``.

        Raises:
            ServiceUrlNotAllowed: Before any token or request.
            TokenAcquisitionError: The bot's token could not be obtained.
            ConnectorError: The Connector refused or did not answer.
        """
        conversation = path_segment(conversation_id, "conversation id")
        operation = "get_conversation_members"
        body = await self._request(
            operation, "GET", service_url, f"/v3/conversations/{conversation}/members", None
        )
        try:
            return _MEMBERS.validate_json(body or b"[]")
        except ValidationError:
            raise _invalid_response(operation) from None

    async def get_conversation_paged_members(
        self,
        service_url: str,
        conversation_id: str,
        *,
        page_size: int | None = None,
        continuation_token: str | None = None,
    ) -> PagedMembersResult:
        """``GET /v3/conversations/{conversationId}/pagedmembers?pageSize&continuationToken``.

        Raises:
            ServiceUrlNotAllowed: Before any token or request.
            TokenAcquisitionError: The bot's token could not be obtained.
            ConnectorError: The Connector refused or did not answer.
        """
        conversation = path_segment(conversation_id, "conversation id")
        query: list[str] = []
        if page_size is not None:
            query.append(f"pageSize={int(page_size)}")
        if continuation_token:
            query.append("continuationToken=" + quote(continuation_token, safe=""))
        path = f"/v3/conversations/{conversation}/pagedmembers"
        if query:
            path += "?" + "&".join(query)
        return await self._call(
            "get_conversation_paged_members", "GET", service_url, path, None, PagedMembersResult
        )

    async def get_team_channels(self, service_url: str, team_id: str) -> list[ChannelInfo]:
        """``GET /v3/teams/{teamId}/conversations``: the team's channels (General first).

        Raises:
            ServiceUrlNotAllowed: Before any token or request.
            TokenAcquisitionError: The bot's token could not be obtained.
            ConnectorError: The Connector refused (403 when the bot is not in the team).
        """
        team = path_segment(team_id, "team id")
        listed = await self._call(
            "get_team_channels",
            "GET",
            service_url,
            f"/v3/teams/{team}/conversations",
            None,
            ConversationList,
        )
        return list(listed.conversations or [])

    async def _call(
        self,
        operation: str,
        method: str,
        service_url: str,
        path: str,
        body: Body | None,
        model: type[ModelT],
    ) -> ModelT:
        raw = await self._request(operation, method, service_url, path, body)
        try:
            return model.model_validate_json(raw) if raw else model()
        except ValidationError:
            raise _invalid_response(operation) from None

    async def _request(
        self,
        operation: str,
        method: str,
        service_url: str,
        path: str,
        body: Body | None,
    ) -> bytes:
        # The order is the security property: allow-list, then token, then request.
        base = self._service_urls.check(service_url)
        # Imported here, not at module level: aiohttp (and yarl with it) is a large share of
        # the app's cold start, and only a send needs it.
        from yarl import URL

        url = URL(base + path, encoded=True)
        data = _serialize(body) if body is not None else None
        token = await self._tokens.get_token()
        response_body, status, headers = await self._send(operation, method, url, data, token)
        if status == 401 and token is not None:
            # A token the Connector refuses (revoked, rotated secret) is replaced once.
            token = await self._tokens.get_token(force_refresh=True, rejected_token=token)
            response_body, status, headers = await self._send(operation, method, url, data, token)
        if 200 <= status < 300:
            return response_body
        raise _http_error(operation, status, response_body, headers)

    async def _send(
        self,
        operation: str,
        method: str,
        url: URL,
        data: bytes | None,
        token: str | None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        import aiohttp

        headers = dict(JSON_HEADERS)
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        try:
            async with self._session().request(
                method, url, data=data, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                limit = MAX_RESPONSE_BYTES if 200 <= status < 300 else MAX_ERROR_BODY_BYTES
                content = await read_capped(response, limit)
                if content is None:
                    if 200 <= status < 300:
                        raise ConnectorError(
                            status,
                            "InvalidResponse",
                            "the Connector's response is too large",
                            operation=operation,
                            transient=False,
                        )
                    content = b""
                return content, status, response.headers
        except ConnectorError:
            raise
        except TimeoutError:
            raise ConnectorError(
                None, "Timeout", "the Connector did not answer in time", operation=operation
            ) from None
        except (aiohttp.ClientError, OSError) as error:
            raise ConnectorError(
                None,
                "ConnectionError",
                f"the Connector could not be reached ({type(error).__name__})",
                operation=operation,
            ) from None


def _invalid_response(operation: str) -> ConnectorError:
    return ConnectorError(
        None,
        "InvalidResponse",
        "the Connector's response does not match the protocol",
        operation=operation,
        transient=False,
    )


def _http_error(
    operation: str, status: int, body: bytes, headers: Mapping[str, str]
) -> ConnectorError:
    operation_id = headers.get(OPERATION_ID_HEADER)
    if 300 <= status < 400:
        # Never followed: the Location is not on the allow-list, and the token must not go there.
        return ConnectorError(
            status,
            "UnexpectedRedirect",
            "the Connector answered with a redirect, which is not followed",
            operation=operation,
            operation_id=operation_id,
            transient=False,
        )
    code, message = error_code_and_message(body)
    error = ConnectorError(
        status,
        code or "HttpError",
        message or f"the Connector answered HTTP {status}",
        retry_after=parse_retry_after(headers.get("Retry-After")),
        operation_id=operation_id,
        operation=operation,
    )
    logger.info(
        "connector: %s failed: %s %s (operation id %s)",
        operation,
        status,
        error.code,
        operation_id or "-",
    )
    return error


def _create_client() -> ConnectorClient:
    return ConnectorClient(
        session=http_session.get, tokens=token_provider(), service_urls=service_url_policy()
    )


connector_client: ProcessClient[ConnectorClient] = ProcessClient(_create_client)
"""The process-wide client: ``await connector_client.get().send_to_conversation(...)``."""
