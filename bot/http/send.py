"""``POST /api/sendactivity`` and ``POST /api/sendtoreference``: services make the bot speak.

Bodies (docs/http-api.md; unknown fields are refused so a typo is a 400, not a surprise)::

    {"conversationId": "a:1x2y3z", "channelId": "msteams", "tenantId"?: "...",
     (or instead one target of the queue message: "conversation": {...} | "user": {...} |
      "teamsChannel": {...}, docs/targets.md)
     "activities": [{"type": "message", "text": "..."}] | "activity": {...},
     "idempotencyKey"?: "report-42"}

    {"conversationReference": {...wire ConversationReference...}, "claims"?: {...},
     "activities": [...] | "activity": {...}, "idempotencyKey"?: "..."}

200 ``{"conversationId", "channelId", "status": "Delivered", "activityIds": [...]}`` (plus
``deliveryId`` with a key, and ``conversationCreated: true`` when the send started the user's
1:1 chat). Errors are ``{"error": {"code", "message"}}`` with ``status`` and
the ``activityIds`` sent so far: 400 a bad body (the field named), 401/403 the Entra ID token
(when configured; :mod:`bot.http.caller_policy`), 403 an inactive conversation
(``error.reason`` says why) or a serviceUrl not allowed (no token is ever requested for it), 404
an unknown conversation, 409 an ambiguous conversation id, a delivery in progress or an
idempotency key reused for other activities, 413 too large, 415 not JSON, 429/503 with
``Retry-After`` when the Connector asks to wait, 502 when the Connector failed
(``DeliveryUnconfirmed`` when an activity may or may not have arrived: it is never resent).
A repeat with the same ``idempotencyKey`` sends nothing and answers as the first call did; the
key is shared with the queue's ``id``.

Order of checks: the caller's token (the caller policy), then size, then the body.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Self

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from bot.delivery import DeliveryMode
from bot.http.api_request import RefusedRequest, read_request
from bot.http_responses import error_response, json_response
from bot.proactive.delivery import DeliveryOutcome, Outcome
from bot.proactive.errors import REFUSAL_STATUS, ConversationInactiveError
from bot.proactive.failures import Failure, Verdict
from bot.proactive.message import (
    ID_PATTERN,
    MAX_ACTIVITIES,
    AddressableReference,
    ChannelText,
    ConversationTarget,
    SendableActivity,
    Target,
    TeamsChannelTarget,
    UserTarget,
    bot_channel_of,
    conversation_of,
)
from bot.schema import Activity

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
"""Larger bodies are refused before parsing (Teams caps a message at about 100 KB)."""

_GONE_CODES = frozenset(
    {
        "BotNotInConversationRoster",
        "ConversationBlockedByUser",
        "BotDisabledByAdmin",
        "ConversationNotFound",
        "MessageWritesBlocked",
    }
)
_STATUS_OF_CODE: dict[str, int] = {
    **REFUSAL_STATUS,
    "IdempotencyConflict": 409,
    "Expired": 410,
    "InvalidMessage": 400,
    "BadArgument": 400,
    "MessageSizeTooBig": 413,
}
"""Answers for the codes a stored receipt may hold (a repeated request)."""


class _Body(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        frozen=True,
    )

    activities: Annotated[
        list[SendableActivity] | None, Field(min_length=1, max_length=MAX_ACTIVITIES)
    ] = None
    activity: SendableActivity | None = None
    idempotency_key: Annotated[str | None, Field(pattern=ID_PATTERN)] = None
    delivery: DeliveryMode | None = None
    """With ``idempotencyKey``: ``atLeastOnce`` (default) or ``atMostOnce`` (docs/delivery.md)."""

    @model_validator(mode="after")
    def _one_way_to_give_activities(self) -> Self:
        if (self.activities is None) == (self.activity is None):
            raise ValueError("give exactly one of activities (a list) and activity")
        return self

    def activity_list(self) -> list[Activity]:
        """The activities to send, in order."""
        if self.activities is not None:
            return list(self.activities)
        return [self.activity] if self.activity is not None else []


class SendActivityBody(_Body):
    """The body of ``POST /api/sendactivity``: ``conversationId`` (with ``channelId`` and
    ``tenantId``), or one target of the queue message (``conversation``, ``user``,
    ``teamsChannel``)."""

    conversation_id: ChannelText | None = None
    channel_id: ChannelText | None = None
    tenant_id: ChannelText | None = None
    conversation: ConversationTarget | None = None
    user: UserTarget | None = None
    teams_channel: TeamsChannelTarget | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        named = [
            name
            for name, value in (
                ("conversationId", self.conversation_id),
                ("conversation", self.conversation),
                ("user", self.user),
                ("teamsChannel", self.teams_channel),
            )
            if value is not None
        ]
        if len(named) != 1:
            found = ", ".join(named) if named else "none"
            raise ValueError(
                "exactly one of conversationId, conversation, user, teamsChannel is required "
                f"(found: {found})"
            )
        if self.conversation_id is None and (self.channel_id or self.tenant_id):
            raise ValueError(f"channelId, tenantId: only with conversationId (not {named[0]})")
        return self

    def target(self) -> Target:
        """Whom the body names."""
        if self.conversation_id is not None:
            return ConversationTarget(
                channel_id=self.channel_id,
                conversation_id=self.conversation_id,
                tenant_id=self.tenant_id,
            )
        target: Target | None = self.conversation or self.user or self.teams_channel
        assert target is not None  # the validator makes this unreachable
        return target


class SendToReferenceBody(_Body):
    """The body of ``POST /api/sendtoreference``."""

    conversation_reference: AddressableReference
    claims: dict[str, Any] | None = None
    """Accepted for compatibility with references stored with claims; never used: the bot's
    token is always its own (docs/security-model.md, T2)."""


async def send_activity(req: func.HttpRequest) -> func.HttpResponse:
    """Send activities to a stored conversation by its id."""
    try:
        body = read_request(req, SendActivityBody, max_body_bytes=MAX_BODY_BYTES)
    except RefusedRequest as refusal:
        return refusal.response
    return await _deliver(body.target(), body.activity_list(), body.idempotency_key, body.delivery)


async def send_to_reference(req: func.HttpRequest) -> func.HttpResponse:
    """Send activities to an explicit conversation reference."""
    try:
        body = read_request(req, SendToReferenceBody, max_body_bytes=MAX_BODY_BYTES)
    except RefusedRequest as refusal:
        return refusal.response
    return await _deliver(
        body.conversation_reference, body.activity_list(), body.idempotency_key, body.delivery
    )


async def _deliver(
    target: Target,
    activities: list[Activity],
    delivery_id: str | None,
    delivery: DeliveryMode | None,
) -> func.HttpResponse:
    from azure.core.exceptions import AzureError

    from bot.app import proactive_service
    from bot.delivery import LedgerConflictError

    try:
        outcome = await proactive_service.get().deliver(
            target, activities, delivery_id=delivery_id, delivery=delivery
        )
    except (AzureError, LedgerConflictError) as error:
        logger.error("send API: storage failed: %s", type(error).__name__)
        return error_response(
            503,
            "StorageUnavailable",
            "The bot's storage is unavailable; try again.",
            {"Retry-After": "5"},
        )
    return answer(outcome, target, delivery_id)


def answer(
    outcome: DeliveryOutcome,
    target: Target,
    delivery_id: str | None,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> func.HttpResponse:
    """The HTTP answer to a delivery outcome (see the module docstring)."""
    resolved = outcome.target
    conversation_id = resolved.conversation_id if resolved else conversation_of(target)
    channel_id = resolved.channel_id if resolved else bot_channel_of(target)
    body: dict[str, Any] = {
        "conversationId": conversation_id,
        "channelId": channel_id,
        "status": outcome.outcome.value,
        "activityIds": list(outcome.activity_ids),
    }
    if resolved is not None and resolved.created:
        # The target was a user without a stored chat: this send started it.
        body["conversationCreated"] = True
    if delivery_id is not None:
        body["deliveryId"] = delivery_id
    if outcome.outcome is Outcome.DELIVERED:
        return json_response(body)
    return failure_response(outcome, body, clock=clock)


def failure_response(
    outcome: DeliveryOutcome,
    body: dict[str, Any],
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> func.HttpResponse:
    """The error answer to an outcome that is not a success, with ``body``'s fields beside
    ``error`` and ``Retry-After`` when the caller should ask again later."""
    status, code, message, extra = _failure_answer(outcome)
    headers = None
    if outcome.retry_at is not None and outcome.outcome in (Outcome.RETRY, Outcome.BUSY):
        wait = math.ceil((outcome.retry_at - clock()).total_seconds())
        headers = {"Retry-After": str(max(1, wait))}
    error: dict[str, Any] = {"code": code, "message": message, **extra}
    return json_response({"error": error, **body}, status, headers)


def _failure_answer(outcome: DeliveryOutcome) -> tuple[int, str, str, dict[str, Any]]:
    kind = outcome.outcome
    error = outcome.error
    code = error.code if error is not None else kind.value
    message = error.message if error is not None else f"The delivery ended {kind.value}."
    if outcome.refusal is not None:
        refusal = outcome.refusal
        extra = {"reason": refusal.reason} if isinstance(refusal, ConversationInactiveError) else {}
        return refusal.status, refusal.code, refusal.message, extra
    if kind is Outcome.REFUSED:
        # A repeat of a refused delivery: answer as the first time did.
        return REFUSAL_STATUS.get(code, 403), code, message, {}
    if kind is Outcome.BUSY:
        return 409, "DeliveryInProgress", "The delivery is in progress; ask again later.", {}
    if kind is Outcome.CONFLICT:
        return 409, "IdempotencyConflict", message, {}
    if kind is Outcome.UNCONFIRMED:
        return (
            502,
            "DeliveryUnconfirmed",
            "An activity may or may not have been delivered; it is not sent again. "
            f"({code}: {message})",
            {},
        )
    if kind is Outcome.RETRY and outcome.failure is not None:
        status = 429 if outcome.failure.throttled else 503
        return status, code, message, {}
    if code in _GONE_CODES:
        return 403, "ConversationInactive", message, {"reason": code}
    if outcome.failure is not None:
        return _status_of_failure(outcome.failure), code, message, {}
    return _STATUS_OF_CODE.get(code, 502), code, message, {}


def _status_of_failure(failure: Failure) -> int:
    if failure.verdict is Verdict.REFUSE:
        return 403
    if failure.status in (400, 403, 404, 413):
        # The request named something the Connector refuses: the caller's to fix.
        return failure.status
    return 502
