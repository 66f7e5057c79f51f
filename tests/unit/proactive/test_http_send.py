"""The send API's bodies and answers, without storage: what a caller gets for each outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest

from bot.connector.errors import ConnectorError
from bot.delivery import DeliveryError
from bot.http.api_request import RefusedRequest, parse_body
from bot.http.send import SendActivityBody, SendToReferenceBody, answer
from bot.http.send import send_activity as send_activity_route
from bot.proactive.delivery import DeliveryOutcome, Outcome
from bot.proactive.errors import (
    AmbiguousConversationError,
    ConversationInactiveError,
    ServiceUrlRefusedError,
    UnknownConversationError,
)
from bot.proactive.failures import classify
from bot.proactive.message import ConversationTarget, UserTarget

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)
TARGET = ConversationTarget(channel_id="msteams", conversation_id="a:1")


def request(body: Any, content_type: str | None = "application/json") -> func.HttpRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    return func.HttpRequest("POST", "http://localhost/api/sendactivity", headers=headers, body=raw)


def refused(body: Any, model: type = SendActivityBody, **options: Any) -> tuple[int, Any]:
    with pytest.raises(RefusedRequest) as caught:
        parse_body(request(body, **options), model)
    response = caught.value.response
    return response.status_code, json.loads(response.get_body())


_AAD = "6f1b2c3d-0000-4000-8000-00000000abcd"


class TestBodies:
    def test_one_activity_or_a_list(self) -> None:
        one = parse_body(
            request({"conversationId": "a:1", "activity": {"type": "message"}}), SendActivityBody
        )
        many = parse_body(
            request({"conversationId": "a:1", "activities": [{"type": "message"}] * 2}),
            SendActivityBody,
        )
        assert len(one.activity_list()) == 1
        assert len(many.activity_list()) == 2

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"activity": {"type": "message"}}, ""),
            ({"conversationId": "", "activity": {"type": "message"}}, "conversationId"),
            ({"conversationId": "a", "activities": []}, "activities"),
            ({"conversationId": "a", "activities": [{"text": "x"}]}, "activities.0.type"),
            ({"conversationId": "a"}, ""),
            ({"conversationId": "a", "activity": {"type": "m"}, "activities": [{"type": "m"}]}, ""),
            (
                {"conversationId": "a", "activity": {"type": "m"}, "idempotencyKey": "a b"},
                "idempotencyKey",
            ),
            (
                {"conversationId": "a", "activity": {"type": "m"}, "conversationid": "a"},
                "conversationid",
            ),
        ],
    )
    def test_bad_bodies_name_the_field(self, body: dict[str, Any], field: str) -> None:
        status, answer_body = refused(body)
        assert status == 400
        assert field in [detail["field"] for detail in answer_body["error"]["details"]]

    @pytest.mark.parametrize(
        ("body", "named"),
        [
            ({"activity": {"type": "m"}}, "conversationId"),
            (
                {"conversationId": "a", "user": {"channelId": "msteams", "userId": "29:1"}},
                "conversationId, user",
            ),
            (
                {"user": {"channelId": "msteams", "userId": "29:1"}, "channelId": "msteams"},
                "channelId",
            ),
            ({"user": {"channelId": "msteams", "aadObjectId": _AAD}}, "tenantId"),
            (
                {"user": {"channelId": "msteams", "userId": "29:1", "aadObjectId": _AAD}},
                "userId, aadObjectId",
            ),
            (
                {"user": {"channelId": "msteams", "tenantId": "t", "aadObjectId": "x"}},
                "aadObjectId",
            ),
            (
                {"user": {"channelId": "msteams", "tenantId": "t", "userPrincipalName": "ada"}},
                "userPrincipalName",
            ),
            ({"teamsChannel": {"tenantId": "t", "channelId": "19:c"}}, "teamId"),
            (
                {
                    "teamsChannel": {
                        "tenantId": "t",
                        "teamId": "19:t",
                        "channelId": "19:c;messageid=1",
                    }
                },
                "channelId",
            ),
        ],
    )
    def test_missing_or_conflicting_targets_name_the_field(
        self, body: dict[str, Any], named: str
    ) -> None:
        status, answer_body = refused({**body, "activity": {"type": "message"}})
        assert status == 400
        details = answer_body["error"]["details"]
        assert any(named in detail["field"] or named in detail["message"] for detail in details), (
            details
        )

    def test_every_target_of_the_queue_is_taken(self) -> None:
        bodies = [
            {"conversation": {"channelId": "msteams", "conversationId": "a:1"}},
            {"user": {"channelId": "msteams", "userId": "29:1"}},
            {"user": {"channelId": "msteams", "tenantId": "t", "aadObjectId": _AAD.upper()}},
            {"user": {"channelId": "msteams", "tenantId": "t", "userPrincipalName": "a@b.com"}},
            {"teamsChannel": {"tenantId": "t", "teamId": "19:t", "channelId": "19:c"}},
        ]
        targets = [
            parse_body(request({**body, "activity": {"type": "m"}}), SendActivityBody).target()
            for body in bodies
        ]
        assert [type(target).__name__ for target in targets] == [
            "ConversationTarget",
            "UserTarget",
            "UserTarget",
            "UserTarget",
            "TeamsChannelTarget",
        ]
        # Object ids are held in lower case: one user, one index entry, one payload hash.
        by_object_id = targets[2]
        assert isinstance(by_object_id, UserTarget)
        assert by_object_id.aad_object_id == _AAD

    def test_a_reference_needs_a_service_url(self) -> None:
        body = {
            "conversationReference": {"channelId": "msteams", "conversation": {"id": "a:1"}},
            "activity": {"type": "message"},
        }
        status, answer_body = refused(body, SendToReferenceBody)
        assert status == 400
        assert "serviceUrl" in answer_body["error"]["message"]

    @pytest.mark.parametrize("raw", [b"{", b"[]", b"\xff", b"null"])
    def test_not_a_json_object_is_a_400(self, raw: bytes) -> None:
        assert refused(raw)[0] == 400

    def test_not_json_by_content_type_is_a_415(self) -> None:
        assert refused({"conversationId": "a"}, content_type="text/plain")[0] == 415


class TestAnswers:
    def status(self, outcome: DeliveryOutcome) -> tuple[int, dict[str, Any], dict[str, str]]:
        response = answer(outcome, TARGET, "key-1", clock=lambda: NOW)
        return response.status_code, json.loads(response.get_body()), dict(response.headers)

    def test_delivered(self) -> None:
        status, body, _ = self.status(DeliveryOutcome(Outcome.DELIVERED, ("1:a", "1:b")))
        assert status == 200
        assert body == {
            "conversationId": "a:1",
            "channelId": "msteams",
            "status": "Delivered",
            "activityIds": ["1:a", "1:b"],
            "deliveryId": "key-1",
        }

    @pytest.mark.parametrize(
        ("refusal", "status"),
        [
            (UnknownConversationError("no"), 404),
            (AmbiguousConversationError(["msteams", "webchat"]), 409),
            (ConversationInactiveError("ConversationBlockedByUser"), 403),
            (ServiceUrlRefusedError("no"), 403),
        ],
    )
    def test_refusals(self, refusal: Any, status: int) -> None:
        outcome = DeliveryOutcome(
            Outcome.REFUSED, error=DeliveryError(refusal.code, refusal.message), refusal=refusal
        )
        code, body, _ = self.status(outcome)
        assert code == status
        assert body["error"]["code"] == refusal.code

    def test_an_inactive_conversation_says_why(self) -> None:
        refusal = ConversationInactiveError("ConversationBlockedByUser")
        outcome = DeliveryOutcome(Outcome.REFUSED, refusal=refusal)
        assert self.status(outcome)[1]["error"]["reason"] == "ConversationBlockedByUser"

    def test_throttled_is_a_429_with_retry_after(self) -> None:
        failure = classify(ConnectorError(429, "Throttled", "slow down", retry_after=3))
        outcome = DeliveryOutcome(
            Outcome.RETRY, (), failure.error, failure=failure, retry_at=NOW + timedelta(seconds=3)
        )
        status, body, headers = self.status(outcome)
        assert (status, headers["Retry-After"], body["error"]["code"]) == (429, "3", "Throttled")

    @pytest.mark.parametrize(
        ("error", "status", "code"),
        [
            (ConnectorError(403, "ConversationBlockedByUser", "x"), 403, "ConversationInactive"),
            (ConnectorError(404, "ConversationNotFound", "x"), 403, "ConversationInactive"),
            (ConnectorError(400, "BadArgument", "x"), 400, "BadArgument"),
            (ConnectorError(413, "MessageSizeTooBig", "x"), 413, "MessageSizeTooBig"),
            (ConnectorError(401, "BotNotRegistered", "x"), 502, "BotNotRegistered"),
        ],
    )
    def test_permanent_failures(self, error: ConnectorError, status: int, code: str) -> None:
        failure = classify(error)
        outcome = DeliveryOutcome(Outcome.FAILED, (None,), failure.error, failure=failure)
        got_status, body, _ = self.status(outcome)
        assert (got_status, body["error"]["code"]) == (status, code)

    def test_an_ambiguous_outcome_is_a_502_that_says_it_was_not_resent(self) -> None:
        failure = classify(ConnectorError(None, "Timeout", "slow"))
        outcome = DeliveryOutcome(Outcome.UNCONFIRMED, (None,), failure.error, failure=failure)
        status, body, _ = self.status(outcome)
        assert (status, body["error"]["code"]) == (502, "DeliveryUnconfirmed")

    def test_a_repeat_of_a_refused_delivery_answers_as_the_first_time(self) -> None:
        outcome = DeliveryOutcome(
            Outcome.REFUSED,
            error=DeliveryError("ConversationNotFound", "no stored conversation"),
            repeated=True,
        )
        status, body, _ = self.status(outcome)
        assert (status, body["error"]["code"]) == (404, "ConversationNotFound")

    def test_a_repeat_of_a_gone_failure_answers_as_the_first_time(self) -> None:
        outcome = DeliveryOutcome(
            Outcome.FAILED,
            (None,),
            DeliveryError("ConversationNotFound", "Conversation not found."),
            repeated=True,
        )
        status, body, _ = self.status(outcome)
        assert (status, body["error"]["code"]) == (403, "ConversationInactive")

    def test_busy_is_a_409_with_retry_after(self) -> None:
        outcome = DeliveryOutcome(Outcome.BUSY, retry_at=NOW + timedelta(seconds=59.5))
        status, body, headers = self.status(outcome)
        assert (status, body["error"]["code"], headers["Retry-After"]) == (
            409,
            "DeliveryInProgress",
            "60",
        )


async def test_a_huge_body_is_refused_before_anything_else() -> None:
    response = await send_activity_route(request(b"x" * (256 * 1024 + 1)))
    assert response.status_code == 413
