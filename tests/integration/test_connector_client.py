"""The Connector client against a local Connector and a local HTTPS token endpoint (real MSAL).

Covers docs/security-model.md ("The serviceUrl allow-list", "Outbound: the bot's own token",
"Connector errors and retries") at the client level: the allow-list is
checked before any token, ids are encoded as single path segments, errors are parsed and
classified, redirects are not followed, and a 401 gets exactly one forced refresh.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web

from bot.auth.errors import ServiceUrlNotAllowed, TokenAcquisitionError
from bot.auth.outbound import OutboundTokenProvider
from bot.auth.service_url import ServiceUrlPolicy
from bot.connector.client import ConnectorClient
from bot.connector.errors import ConnectorError
from bot.connector.sender import ConnectorSender
from bot.http_session import http_session
from bot.schema import Activity, ChannelAccount, ConversationParameters, ConversationReference
from bot.settings import Settings, load_settings
from bot.turn.sender import ActivitySender
from tests.unit.connector.local_endpoints import (
    CLIENT_SECRET,
    MockConnector,
    RecordedRequest,
    TokenEndpoint,
    start_connector,
)

APP_ID = "00000000-0000-0000-0000-00000000b075"
MESSAGE = Activity(type="message", text="Your report is ready")


@pytest.fixture
async def evil() -> AsyncIterator[MockConnector]:
    """Another local server that must never receive anything."""
    server = await start_connector()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
def make_settings(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    token_endpoint: TokenEndpoint,
    connector: MockConnector,
) -> Callable[..., Settings]:
    monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(tmp_path / "absent.json"))

    def make(**values: str) -> Settings:
        base = {
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppPassword": CLIENT_SECRET,
            "BOT_OAUTH_AUTHORITY": token_endpoint.authority,
            "BOT_ALLOWED_SERVICE_URLS": f"http://127.0.0.1:{connector.port}",
            "KEY_HASH_SECRET": "k" * 32,
            "COSMOS_ENDPOINT": "https://127.0.0.1:8081",
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        }
        return load_settings(**{**base, **values})

    return make


@pytest.fixture
async def make_client(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[Callable[..., ConnectorClient]]:
    def make(**values: str) -> ConnectorClient:
        settings = make_settings(**values)
        return ConnectorClient(
            session=http_session.get,
            tokens=OutboundTokenProvider(settings),
            service_urls=ServiceUrlPolicy.from_settings(settings),
        )

    try:
        yield make
    finally:
        await http_session.aclose()


@pytest.fixture
def client(make_client: Callable[..., ConnectorClient]) -> ConnectorClient:
    return make_client()


def answer(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> Callable[[web.Request, RecordedRequest], Any]:
    async def respond(request: web.Request, recorded: RecordedRequest) -> web.StreamResponse:
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    return respond


class TestOperations:
    async def test_send_posts_the_activity_with_the_bot_token(
        self, client: ConnectorClient, connector: MockConnector, token_endpoint: TokenEndpoint
    ) -> None:
        result = await client.send_to_conversation(connector.url("/teams/"), "a:1x2y3z", MESSAGE)

        assert result.id == "activity-1"
        [request] = connector.requests
        assert (request.method, request.raw_path) == (
            "POST",
            "/teams/v3/conversations/a%3A1x2y3z/activities",
        )
        assert request.authorization == "Bearer token-1"
        assert request.json() == {"type": "message", "text": "Your report is ready"}
        [token_request] = token_endpoint.token_requests
        assert token_request["grant_type"] == "client_credentials"
        assert token_request["scope"] == "https://api.botframework.com/.default"
        assert token_request["client_id"] == APP_ID
        # The authority is used as given: tenant discovery on it, no instance discovery.
        assert token_endpoint.paths == [
            "/botframework.com/v2.0/.well-known/openid-configuration",
            "/botframework.com/oauth2/v2.0/token",
        ]

    async def test_the_token_is_reused_across_sends(
        self, client: ConnectorClient, connector: MockConnector, token_endpoint: TokenEndpoint
    ) -> None:
        for _ in range(5):
            await client.send_to_conversation(connector.url(), "a:1", MESSAGE)

        assert len(token_endpoint.token_requests) == 1
        assert {request.authorization for request in connector.requests} == {"Bearer token-1"}

    async def test_fifty_concurrent_first_sends_make_one_token_request(
        self, client: ConnectorClient, connector: MockConnector, token_endpoint: TokenEndpoint
    ) -> None:
        await asyncio.gather(
            *(client.send_to_conversation(connector.url(), f"a:{n}", MESSAGE) for n in range(50))
        )

        assert len(connector.requests) == 50
        assert len(token_endpoint.token_requests) == 1

    @pytest.mark.parametrize(
        "conversation_id",
        [
            "../../v3/conversations/other",
            "19:abc@thread.skype;messageid=1573",
            "a:b;c@d/e?f#g h%20",
            "x' OR 1=1 --",
            "29:1\\..\\evil",
            "...",
        ],
    )
    async def test_ids_arrive_as_one_encoded_path_segment(
        self, client: ConnectorClient, connector: MockConnector, conversation_id: str
    ) -> None:
        await client.reply_to_activity(connector.url(), conversation_id, "1/../2?x#y", MESSAGE)

        [request] = connector.requests
        assert request.raw_path == (
            f"/v3/conversations/{quote(conversation_id, safe='')}/activities/1%2F..%2F2%3Fx%23y"
        )

    @pytest.mark.parametrize("conversation_id", ["", ".", ".."])
    async def test_empty_and_dot_ids_are_refused_before_any_request(
        self,
        client: ConnectorClient,
        connector: MockConnector,
        token_endpoint: TokenEndpoint,
        conversation_id: str,
    ) -> None:
        with pytest.raises(ConnectorError) as caught:
            await client.send_to_conversation(connector.url(), conversation_id, MESSAGE)

        assert caught.value.code == "InvalidId"
        assert not caught.value.is_transient
        assert connector.requests == []
        assert token_endpoint.token_requests == []

    async def test_create_conversation(
        self, client: ConnectorClient, connector: MockConnector
    ) -> None:
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id="28:bot"),
            members=[ChannelAccount(id="29:1")],
            tenant_id="tenant",
            activity=MESSAGE,
        )

        result = await client.create_conversation(connector.url("/amer/"), parameters)

        assert (result.id, result.activity_id) == ("a:new-conversation", "1")
        [request] = connector.requests
        assert (request.method, request.raw_path) == ("POST", "/amer/v3/conversations")
        assert request.json() == {
            "isGroup": False,
            "bot": {"id": "28:bot"},
            "members": [{"id": "29:1"}],
            "tenantId": "tenant",
            "activity": {"type": "message", "text": "Your report is ready"},
        }

    async def test_update_and_delete(
        self, client: ConnectorClient, connector: MockConnector
    ) -> None:
        updated = await client.update_activity(connector.url(), "a:1", "act:9", MESSAGE)
        await client.delete_activity(connector.url(), "a:1", "act:9")

        assert updated.id == "act%3A9"
        assert [(r.method, r.raw_path) for r in connector.requests] == [
            ("PUT", "/v3/conversations/a%3A1/activities/act%3A9"),
            ("DELETE", "/v3/conversations/a%3A1/activities/act%3A9"),
        ]
        assert connector.requests[1].body == b""

    async def test_members_and_paged_members(
        self, client: ConnectorClient, connector: MockConnector
    ) -> None:
        members = await client.get_conversation_members(connector.url(), "19:x@thread.v2")
        page = await client.get_conversation_paged_members(
            connector.url(), "19:x@thread.v2", page_size=50, continuation_token="a b&c=d"
        )

        assert [(m.id, m.aad_object_id) for m in members] == [("29:1", "guid")]
        assert page.continuation_token == "next page"
        assert [m.id for m in page.members or []] == ["29:1"]
        assert [(r.method, r.raw_path) for r in connector.requests] == [
            ("GET", "/v3/conversations/19%3Ax%40thread.v2/members"),
            (
                "GET",
                "/v3/conversations/19%3Ax%40thread.v2/pagedmembers"
                "?pageSize=50&continuationToken=a%20b%26c%3Dd",
            ),
        ]

    async def test_a_plain_dict_activity_is_sent_as_is(
        self, client: ConnectorClient, connector: MockConnector
    ) -> None:
        activity = {
            "type": "message",
            "text": "é",
            "channelData": {"notification": {"alert": True}},
        }

        await client.send_to_conversation(connector.url(), "a:1", activity)

        assert connector.requests[0].json() == activity

    async def test_unknown_fields_survive_serialization(
        self, client: ConnectorClient, connector: MockConnector
    ) -> None:
        activity = Activity.model_validate(
            {"type": "message", "text": "hi", "futureField": {"a": None}, "textFormat": None}
        )

        await client.send_to_conversation(connector.url(), "a:1", activity)

        assert connector.requests[0].json() == {
            "type": "message",
            "text": "hi",
            "futureField": {"a": None},
        }


class TestAllowList:
    @pytest.mark.parametrize(
        "service_url",
        [
            "https://evil.example/",
            "http://smba.trafficmanager.net/teams/",
            "https://smba.trafficmanager.net.evil.com/",
            "https://user@smba.trafficmanager.net@evil.com/",
            "https://x.blob.core.windows.net/",
        ],
    )
    async def test_a_foreign_service_url_gets_no_token_and_no_request(
        self,
        client: ConnectorClient,
        connector: MockConnector,
        token_endpoint: TokenEndpoint,
        service_url: str,
    ) -> None:
        with pytest.raises(ServiceUrlNotAllowed):
            await client.send_to_conversation(service_url, "a:1", MESSAGE)

        assert token_endpoint.paths == []
        assert connector.requests == []

    async def test_another_local_port_is_refused_too(
        self,
        client: ConnectorClient,
        evil: MockConnector,
        token_endpoint: TokenEndpoint,
    ) -> None:
        with pytest.raises(ServiceUrlNotAllowed) as caught:
            await client.send_to_conversation(evil.url(), "a:1", MESSAGE)

        assert caught.value.host == "127.0.0.1"
        assert evil.requests == []
        assert token_endpoint.paths == []

    async def test_a_redirect_is_not_followed_and_the_token_stays_home(
        self,
        client: ConnectorClient,
        connector: MockConnector,
        evil: MockConnector,
    ) -> None:
        connector.responder = answer(302, headers={"Location": evil.url("/steal")})

        with pytest.raises(ConnectorError) as caught:
            await client.send_to_conversation(connector.url(), "a:1", MESSAGE)

        assert (caught.value.status, caught.value.code) == (302, "UnexpectedRedirect")
        assert not caught.value.is_transient
        assert len(connector.requests) == 1
        assert evil.requests == []

    async def test_with_auth_disabled_no_token_is_requested_or_sent(
        self,
        make_client: Callable[..., ConnectorClient],
        connector: MockConnector,
        token_endpoint: TokenEndpoint,
    ) -> None:
        client = make_client(BOT_AUTH_DISABLED="true")

        await client.send_to_conversation(connector.url(), "a:1", MESSAGE)

        assert connector.requests[0].authorization is None
        assert token_endpoint.paths == []


class TestErrors:
    async def test_429_carries_retry_after_and_is_transient(
        self, client: ConnectorClient, connector: MockConnector
    ) -> None:
        connector.responder = answer(
            429,
            {"error": {"code": "Throttled", "message": "Too many requests"}},
            {"Retry-After": "3", "X-Correlating-OperationId": "op-42"},
        )

        with pytest.raises(ConnectorError) as caught:
            await client.send_to_conversation(connector.url(), "a:1", MESSAGE)

        error = caught.value
        assert (error.status, error.code, error.retry_after) == (429, "Throttled", 3.0)
        assert error.operation_id == "op-42"
        assert error.is_transient
        assert error.is_throttled
        assert not error.is_conversation_gone
        assert error.operation == "send_to_conversation"

    async def test_an_http_date_retry_after_is_converted_to_seconds(
        self, client: ConnectorClient, connector: MockConnector
    ) -> None:
        connector.responder = answer(503, None, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})

        with pytest.raises(ConnectorError) as caught:
            await client.send_to_conversation(connector.url(), "a:1", MESSAGE)

        assert caught.value.retry_after == 0.0
        assert caught.value.code == "HttpError"
        assert caught.value.is_transient

    @pytest.mark.parametrize(
        ("status", "code"),
        [
            (403, "ConversationBlockedByUser"),
            (403, "BotNotInConversationRoster"),
            (403, "BotDisabledByAdmin"),
            (404, "ConversationNotFound"),
        ],
    )
    async def test_gone_conversations_are_permanent(
        self, client: ConnectorClient, connector: MockConnector, status: int, code: str
    ) -> None:
        connector.responder = answer(status, {"error": {"code": code, "message": "gone"}})

        with pytest.raises(ConnectorError) as caught:
            await client.send_to_conversation(connector.url(), "a:1", MESSAGE)

        assert (caught.value.status, caught.value.code) == (status, code)
        assert caught.value.is_conversation_gone
        assert caught.value.is_permanent
        assert len(connector.requests) == 1

    @pytest.mark.parametrize(
        ("status", "body", "transient"),
        [
            (412, {"error": {"code": "PreconditionFailed", "message": "busy"}}, True),
            (500, {"error": {"code": "ServiceError", "message": "boom"}}, False),
            (502, None, True),
            (503, "not json", True),
            (504, None, True),
            (400, {"error": {"code": "BadArgument", "message": "x"}}, False),
            (403, {"error": {"code": "ForbiddenOperationException"}}, False),
            (413, {"error": {"code": "MessageSizeTooBig"}}, False),
        ],
    )
    async def test_statuses_are_classified(
        self,
        client: ConnectorClient,
        connector: MockConnector,
        status: int,
        body: Any,
        transient: bool,
    ) -> None:
        connector.responder = answer(status, body)

        with pytest.raises(ConnectorError) as caught:
            await client.send_to_conversation(connector.url(), "a:1", MESSAGE)

        assert caught.value.status == status
        assert caught.value.is_transient is transient
        assert not caught.value.is_conversation_gone
        if isinstance(body, dict):
            assert caught.value.code == body["error"]["code"]

    async def test_a_response_that_is_not_the_protocol_is_an_error(
        self, client: ConnectorClient, connector: MockConnector
    ) -> None:
        connector.responder = answer(201, ["not", "an", "object"])

        with pytest.raises(ConnectorError) as caught:
            await client.send_to_conversation(connector.url(), "a:1", MESSAGE)

        assert caught.value.code == "InvalidResponse"

    async def test_a_refused_connection_is_transient(
        self, make_client: Callable[..., ConnectorClient], token_endpoint: TokenEndpoint
    ) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        client = make_client(BOT_ALLOWED_SERVICE_URLS=f"http://127.0.0.1:{closed_port}")

        with pytest.raises(ConnectorError) as caught:
            await client.send_to_conversation(f"http://127.0.0.1:{closed_port}/", "a:1", MESSAGE)

        assert (caught.value.status, caught.value.code) == (None, "ConnectionError")
        assert caught.value.is_transient

    async def test_a_timeout_is_transient(
        self, make_settings: Callable[..., Settings], connector: MockConnector
    ) -> None:
        release = asyncio.Event()

        async def stall(request: web.Request, recorded: RecordedRequest) -> web.StreamResponse:
            await release.wait()
            return web.Response(status=201)

        connector.responder = stall
        settings = make_settings()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.2)) as session:
            client = ConnectorClient(
                session=lambda: session,
                tokens=OutboundTokenProvider(settings),
                service_urls=ServiceUrlPolicy.from_settings(settings),
            )
            try:
                with pytest.raises(ConnectorError) as caught:
                    await client.send_to_conversation(connector.url(), "a:1", MESSAGE)
            finally:
                release.set()

        assert (caught.value.status, caught.value.code) == (None, "Timeout")
        assert caught.value.is_transient


class TestUnauthorized:
    """Checklist 33: one forced refresh, one retry, then fail."""

    async def test_a_401_gets_one_refresh_and_one_retry_then_fails(
        self, client: ConnectorClient, connector: MockConnector, token_endpoint: TokenEndpoint
    ) -> None:
        connector.responder = answer(
            401, {"error": {"code": "BotNotRegistered", "message": "who are you"}}
        )

        with pytest.raises(ConnectorError) as caught:
            await client.send_to_conversation(connector.url(), "a:1", MESSAGE)

        assert (caught.value.status, caught.value.code) == (401, "BotNotRegistered")
        assert not caught.value.is_transient
        assert len(token_endpoint.token_requests) == 2
        assert [r.authorization for r in connector.requests] == [
            "Bearer token-1",
            "Bearer token-2",
        ]
        assert "token-" not in str(caught.value) + repr(caught.value)

    async def test_a_401_then_a_fresh_token_succeeds(
        self, client: ConnectorClient, connector: MockConnector, token_endpoint: TokenEndpoint
    ) -> None:
        async def only_fresh(request: web.Request, recorded: RecordedRequest) -> Any:
            if recorded.authorization == "Bearer token-1":
                return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
            return None

        connector.responder = only_fresh

        result = await client.send_to_conversation(connector.url(), "a:1", MESSAGE)

        assert result.id == "activity-2"
        assert len(token_endpoint.token_requests) == 2

    async def test_concurrent_401s_share_one_refresh(
        self, client: ConnectorClient, connector: MockConnector, token_endpoint: TokenEndpoint
    ) -> None:
        await client.send_to_conversation(connector.url(), "a:0", MESSAGE)

        async def only_fresh(request: web.Request, recorded: RecordedRequest) -> Any:
            if recorded.authorization == "Bearer token-1":
                return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
            return None

        connector.responder = only_fresh

        await asyncio.gather(
            *(client.send_to_conversation(connector.url(), f"a:{n}", MESSAGE) for n in range(20))
        )

        assert len(token_endpoint.token_requests) == 2

    async def test_a_refused_credential_is_a_typed_error_without_the_secret(
        self,
        make_client: Callable[..., ConnectorClient],
        connector: MockConnector,
        token_endpoint: TokenEndpoint,
    ) -> None:
        client = make_client(MicrosoftAppPassword="wrong-secret-value")

        with pytest.raises(TokenAcquisitionError) as caught:
            await client.send_to_conversation(connector.url(), "a:1", MESSAGE)

        assert caught.value.code == "invalid_client"
        assert "AADSTS7000215" in caught.value.message
        assert "wrong-secret-value" not in str(caught.value)
        assert connector.requests == []


class TestSender:
    """``ConnectorSender``, the turn's ``ActivitySender`` over this client."""

    def reference(
        self, service_url: str, conversation_id: str | None = "a:1"
    ) -> ConversationReference:
        return ConversationReference.model_validate(
            {
                "serviceUrl": service_url,
                "channelId": "msteams",
                "conversation": {"id": conversation_id} if conversation_id else None,
            }
        )

    async def test_sends_in_order_and_replies_where_asked(
        self, client: ConnectorClient, connector: MockConnector
    ) -> None:
        sender: ActivitySender = ConnectorSender(lambda: client)
        activities = [
            Activity(type="message", text="first"),
            Activity(type="message", text="second", reply_to_id="act:7"),
        ]

        responses = await sender.send_activities(
            self.reference(connector.url("/teams/")), activities
        )

        assert [response.id for response in responses] == ["activity-1", "activity-2"]
        assert [(r.method, r.raw_path, r.json()["text"]) for r in connector.requests] == [
            ("POST", "/teams/v3/conversations/a%3A1/activities", "first"),
            ("POST", "/teams/v3/conversations/a%3A1/activities/act%3A7", "second"),
        ]

    async def test_update_and_delete_go_to_the_activity(
        self, client: ConnectorClient, connector: MockConnector
    ) -> None:
        sender = ConnectorSender(lambda: client)
        reference = self.reference(connector.url())

        await sender.update_activity(reference, Activity(type="message", id="act:7", text="new"))
        await sender.delete_activity(reference, "act:7")

        assert [(r.method, r.raw_path) for r in connector.requests] == [
            ("PUT", "/v3/conversations/a%3A1/activities/act%3A7"),
            ("DELETE", "/v3/conversations/a%3A1/activities/act%3A7"),
        ]

    async def test_an_incomplete_reference_sends_nothing(
        self, client: ConnectorClient, connector: MockConnector, token_endpoint: TokenEndpoint
    ) -> None:
        sender = ConnectorSender(lambda: client)

        with pytest.raises(ConnectorError):
            await sender.send_activities(self.reference(connector.url(), None), [MESSAGE])
        with pytest.raises(ServiceUrlNotAllowed):
            await sender.send_activities(
                ConversationReference.model_validate({"conversation": {"id": "a:1"}}), [MESSAGE]
            )
        with pytest.raises(ConnectorError):
            await sender.update_activity(self.reference(connector.url()), MESSAGE)

        assert connector.requests == []
        assert token_endpoint.paths == []
