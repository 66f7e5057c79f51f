"""The send API and the receipts endpoint, in process, against the real local services.

The handlers get ``azure.functions.HttpRequest`` objects as the host builds them. With Entra
ID validation on, tokens are minted by the local channel's issuer (its OpenID metadata stands in
for the tenant's), so signatures, audiences, issuers and roles are checked for real
(checklist 34).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import azure.functions as func
import pytest

from bot import app as service_module
from bot.auth.api_callers import ApiAction, get_api_caller_settings
from bot.http.caller_policy import guarded
from bot.http.deliveries import get_delivery
from bot.http.send import send_activity, send_to_reference
from bot.settings import get_settings
from tests.integration.test_proactive_support import (
    APP_ID,
    TENANT,
    Proactive,
)

pytestmark = pytest.mark.services


API_AUDIENCE = "api://proactive-bot-tests"
CALLER_APP = "99999999-0000-0000-0000-000000000001"


@pytest.fixture
async def api(proactive: Proactive) -> AsyncIterator[Proactive]:
    """The handlers use the test's service (the process-wide client, for this event loop)."""
    get_api_caller_settings.cache_clear()
    get_settings.cache_clear()
    service_module.proactive_service._client = proactive.service
    service_module.proactive_service._loop = asyncio.get_running_loop()
    try:
        yield proactive
    finally:
        service_module.proactive_service._client = None
        service_module.proactive_service._loop = None
        get_api_caller_settings.cache_clear()
        get_settings.cache_clear()


@pytest.fixture
def entra(api: Proactive, monkeypatch: pytest.MonkeyPatch) -> Proactive:
    monkeypatch.setenv("PROACTIVE_API_AUDIENCE", API_AUDIENCE)
    monkeypatch.setenv("PROACTIVE_API_TENANT_ID", TENANT)
    monkeypatch.setenv("PROACTIVE_API_OPENID_METADATA_URL", api.channel.openid_metadata_url)
    get_api_caller_settings.cache_clear()
    get_settings.cache_clear()
    return api


def post(route: str, body: Any, token: str | None = None) -> func.HttpRequest:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return func.HttpRequest(
        "POST", f"http://127.0.0.1/api/{route}", headers=headers, body=json.dumps(body).encode()
    )


def receipt_request(delivery_id: str) -> func.HttpRequest:
    return func.HttpRequest(
        "GET",
        f"http://127.0.0.1/api/deliveries/{delivery_id}",
        body=b"",
        route_params={"id": delivery_id},
    )


def body_of(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


async def test_send_activity_with_an_idempotency_key_posts_once(api: Proactive) -> None:
    stored = await api.conversation()
    key = f"api-{uuid.uuid4().hex}"
    request = {
        "conversationId": stored.conversation_id,
        "activities": [{"type": "message", "text": "a"}, {"type": "message", "text": "b"}],
        "idempotencyKey": key,
    }

    first = await send_activity(post("sendactivity", request))
    second = await send_activity(post("sendactivity", request))

    assert (first.status_code, second.status_code) == (200, 200)
    records = await api.control.activities(stored.conversation_id)
    assert body_of(first) == {
        "conversationId": stored.conversation_id,
        "channelId": "msteams",
        "status": "Delivered",
        "activityIds": [record["activityId"] for record in records],
        "deliveryId": key,
    }
    assert body_of(second) == body_of(first)
    receipt = await get_delivery(receipt_request(key))
    assert receipt.status_code == 200
    assert body_of(receipt)["status"] == "Delivered"
    assert body_of(receipt)["activityIds"] == body_of(first)["activityIds"]
    assert body_of(receipt)["attempts"] == 1


async def test_one_activity_without_a_key(api: Proactive) -> None:
    stored = await api.conversation()
    response = await send_activity(
        post(
            "sendactivity",
            {
                "conversationId": stored.conversation_id,
                "channelId": "msteams",
                "activity": {"type": "message", "text": "hi"},
            },
        )
    )
    assert response.status_code == 200
    assert len(body_of(response)["activityIds"]) == 1


async def test_the_key_is_shared_with_other_content_only_as_a_conflict(api: Proactive) -> None:
    stored = await api.conversation()
    key = f"api-{uuid.uuid4().hex}"
    base = {"conversationId": stored.conversation_id, "idempotencyKey": key}

    await send_activity(
        post("sendactivity", {**base, "activity": {"type": "message", "text": "a"}})
    )
    other = await send_activity(
        post("sendactivity", {**base, "activity": {"type": "message", "text": "b"}})
    )

    assert other.status_code == 409
    assert body_of(other)["error"]["code"] == "IdempotencyConflict"
    assert len(await api.control.activities(stored.conversation_id)) == 1


async def test_errors_of_send_activity(api: Proactive) -> None:
    conversation_id = f"shared:{uuid.uuid4().hex}"
    await api.conversation(conversation_id=conversation_id, channel_id="msteams")
    await api.conversation(conversation_id=conversation_id, channel_id="webchat")
    inactive = await api.conversation()
    await api.store.mark_inactive(inactive, "ConversationBlockedByUser", now=inactive.last_seen)
    activity = {"type": "message", "text": "hi"}

    unknown = await send_activity(
        post("sendactivity", {"conversationId": "a:nope", "activity": activity})
    )
    ambiguous = await send_activity(
        post("sendactivity", {"conversationId": conversation_id, "activity": activity})
    )
    retired = await send_activity(
        post("sendactivity", {"conversationId": inactive.conversation_id, "activity": activity})
    )
    bad = await send_activity(post("sendactivity", {"conversationId": "a:1", "activity": {}}))

    assert (unknown.status_code, body_of(unknown)["error"]["code"]) == (
        404,
        "ConversationNotFound",
    )
    assert (ambiguous.status_code, body_of(ambiguous)["error"]["code"]) == (
        409,
        "AmbiguousConversation",
    )
    assert retired.status_code == 403
    assert body_of(retired)["error"] == {
        "code": "ConversationInactive",
        "message": body_of(retired)["error"]["message"],
        "reason": "ConversationBlockedByUser",
    }
    assert bad.status_code == 400
    assert body_of(bad)["error"]["details"][0]["field"] == "activity.type"
    assert await api.posts() == []


async def test_a_gone_answer_is_a_403_and_retires_the_conversation(api: Proactive) -> None:
    stored = await api.conversation()
    await api.control.set_fault(status=403, code="BotNotInConversationRoster")

    response = await send_activity(
        post(
            "sendactivity",
            {"conversationId": stored.conversation_id, "activity": {"type": "message"}},
        )
    )

    assert response.status_code == 403
    assert body_of(response)["error"]["reason"] == "BotNotInConversationRoster"
    retired = await api.store.get_by_key(stored.key)
    assert retired is not None
    assert retired.active is False


async def test_throttling_answers_429_with_retry_after(api: Proactive) -> None:
    stored = await api.conversation()
    await api.control.set_fault(status=429, retry_after=7, times=1)

    response = await send_activity(
        post(
            "sendactivity",
            {
                "conversationId": stored.conversation_id,
                "activity": {"type": "message"},
                "idempotencyKey": f"throttled-{uuid.uuid4().hex}",
            },
        )
    )

    assert response.status_code == 429
    assert 6 <= int(response.headers["Retry-After"]) <= 7
    assert body_of(response)["error"]["code"] == "Throttled"


@pytest.mark.parametrize(
    "service_url",
    ["https://evil.example/", "http://evil.example/", "https://smba.trafficmanager.net.evil.com/"],
)
async def test_send_to_reference_refuses_a_foreign_service_url(
    api: Proactive, service_url: str
) -> None:
    """Checklist 16: 403 (the contract's answer), no token minted, nothing sent."""
    response = await send_to_reference(
        post(
            "sendtoreference",
            {
                "conversationReference": {
                    "channelId": "msteams",
                    "serviceUrl": service_url,
                    "conversation": {"id": "a:1x"},
                },
                "claims": {"aud": APP_ID, "appid": "someone-else", "ver": "2.0"},
                "activities": [{"type": "message", "text": "hi"}],
            },
        )
    )
    assert response.status_code == 403
    assert body_of(response)["error"]["code"] == "ServiceUrlNotAllowed"
    assert await api.control.token_requests() == 0
    assert await api.posts() == []


async def test_send_to_reference_delivers(api: Proactive) -> None:
    stored = await api.conversation()
    response = await send_to_reference(
        post(
            "sendtoreference",
            {
                "conversationReference": stored.reference.to_wire(),
                "activities": [{"type": "message", "text": "by reference"}],
            },
        )
    )
    assert response.status_code == 200
    assert body_of(response)["conversationId"] == stored.conversation_id


@pytest.mark.parametrize(("delivery_id", "status"), [("never-used", 404), ("has space", 400)])
async def test_receipts_of_unknown_and_malformed_ids(
    api: Proactive, delivery_id: str, status: int
) -> None:
    response = await get_delivery(receipt_request(delivery_id))
    assert response.status_code == status


class TestEntraCallers:
    async def token(self, proactive: Proactive, **claims: Any) -> str:
        values: dict[str, Any] = {
            "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
            "tid": TENANT,
            "azp": CALLER_APP,
            "ver": "2.0",
            "idtyp": "app",
            "roles": ["Proactive.Send"],
        }
        values.update(claims)
        audience = values.pop("aud", API_AUDIENCE)
        return await proactive.control.channel_token(audience=audience, extra_claims=values)

    async def status(self, proactive: Proactive, token: str | None) -> int:
        stored = await proactive.conversation()
        # As the app registers the route: behind the caller policy of its action.
        response = await guarded(ApiAction.SEND, send_activity)(
            post(
                "sendactivity",
                {"conversationId": stored.conversation_id, "activity": {"type": "message"}},
                token,
            )
        )
        return int(response.status_code)

    async def test_a_token_with_the_role_may_send(self, entra: Proactive) -> None:
        assert await self.status(entra, await self.token(entra)) == 200

    async def test_a_token_without_the_role_is_forbidden(self, entra: Proactive) -> None:
        assert await self.status(entra, await self.token(entra, roles=["Other.Role"])) == 403

    async def test_a_delegated_token_is_forbidden(self, entra: Proactive) -> None:
        delegated = await self.token(entra, idtyp="user", scp="Proactive.Send")
        assert await self.status(entra, delegated) == 403
        assert await entra.posts() == []

    async def test_a_token_for_another_audience_is_unauthorized(self, entra: Proactive) -> None:
        assert await self.status(entra, await self.token(entra, aud="api://other")) == 401

    async def test_a_token_of_another_tenant_is_unauthorized(self, entra: Proactive) -> None:
        other = await self.token(entra, tid="other-tenant")
        assert await self.status(entra, other) == 401

    async def test_only_the_function_key_is_unauthorized(self, entra: Proactive) -> None:
        assert await self.status(entra, None) == 401
        assert await entra.posts() == []
