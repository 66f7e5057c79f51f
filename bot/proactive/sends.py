"""The send operation: activities, in order, to a stored conversation, a user or a reference.

Each send resolves its target first (:mod:`bot.proactive.targets`: unknown, ambiguous, retired
and disallowed conversations are refused before anything is sent), then posts the activities
one after the other through the :class:`~bot.proactive.delivery.Deliverer`. With a
``delivery_id`` each activity is sent at most once however often the call is repeated.
:meth:`Sends.deliver` reports how a send went; :meth:`Sends.send` and its shorthands raise for
anything but a delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bot import telemetry
from bot.delivery import DEFAULT_DELIVERY_MODE, DeliveryMode
from bot.proactive.activities import ActivityLike, to_activities
from bot.proactive.delivery import Deliverer, DeliveryOutcome, Outcome
from bot.proactive.errors import InvalidTargetError
from bot.proactive.failures import Failure, classify
from bot.proactive.message import (
    ConversationTarget,
    Target,
    TeamsChannelTarget,
    UserTarget,
    bot_channel_of,
    conversation_of,
)
from bot.proactive.targets import ResolvedTarget
from bot.schema import ConversationReference

logger = logging.getLogger(__name__)


class SendFailedError(Exception):
    """A send, update, delete or conversation creation did not (fully) succeed.

    Attributes:
        code: The Connector's or the bot's error code (``ConversationBlockedByUser``,
            ``Throttled``, ``Timeout``, ``DeliveryInProgress``...).
        message: What went wrong; never message text or tokens.
        outcome: The delivery outcome, for sends.
        failure: The classified Connector failure, when a request failed.
        activity_ids: The ids of the activities sent before the failure, by index.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        outcome: DeliveryOutcome | None = None,
        failure: Failure | None = None,
        activity_ids: Sequence[str | None] = (),
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.outcome = outcome
        self.failure = failure if failure is not None else (outcome.failure if outcome else None)
        self.activity_ids = list(activity_ids)

    @classmethod
    def of(cls, outcome: DeliveryOutcome) -> SendFailedError:
        """The error for a delivery outcome other than ``Delivered``."""
        if outcome.outcome is Outcome.BUSY:
            code, message = "DeliveryInProgress", "the delivery is in progress; ask again later"
        elif outcome.error is not None:
            code, message = outcome.error.code, outcome.error.message
        else:
            code, message = outcome.outcome.value, f"the delivery ended {outcome.outcome.value}"
        return cls(code, message, outcome=outcome, activity_ids=outcome.activity_ids)


@dataclass(frozen=True)
class SendResult:
    """A delivered send.

    Attributes:
        channel_id: The conversation's channel (``None`` only for a repeat whose conversation
            can no longer be resolved).
        conversation_id: The conversation.
        activity_ids: The id the Connector gave each activity, in order.
        delivery_id: The idempotency id, when one was given.
        repeated: An earlier call with the same id delivered it; nothing was sent now.
    """

    channel_id: str | None
    conversation_id: str | None
    activity_ids: list[str | None]
    delivery_id: str | None = None
    repeated: bool = False


async def request_failed(
    deliverer: Deliverer, error: Exception, resolved: ResolvedTarget, sent: Sequence[str | None]
) -> SendFailedError:
    """The error of a failed Connector request outside a delivery (a turn, an update).

    A failure that says the conversation is gone retires it, as a failed delivery would.
    """
    failure = classify(error)
    logger.warning(
        "proactive: Connector request failed: %s %s",
        failure.status if failure.status is not None else "no response",
        failure.code,
    )
    if failure.inactive_reason is not None:
        await deliverer.retire(resolved, failure)
    return SendFailedError(failure.code, failure.message, failure=failure, activity_ids=sent)


class Sends:
    """Sends activities through a deliverer, with the telemetry span of each send.

    Args:
        deliverer: Resolves, claims, posts and records each delivery.
    """

    def __init__(self, deliverer: Deliverer) -> None:
        self._deliverer = deliverer

    async def deliver(
        self,
        target: Target,
        activities: Sequence[ActivityLike],
        *,
        delivery_id: str | None = None,
        expires_at: datetime | None = None,
        delivery: DeliveryMode | None = None,
    ) -> DeliveryOutcome:
        """Send activities and report how it went, without raising for a failed send.

        See :meth:`Deliverer.deliver`; this is what the HTTP API and the queue sender use.

        Raises:
            InvalidMessageError: An item is not an activity.
        """
        items = to_activities(activities)
        with telemetry.span(
            "proactive.send",
            {"proactive.target": _target_kind(target), "proactive.activities": len(items)},
        ) as current:
            outcome = await self._deliverer.deliver(
                target,
                items,
                delivery_id=delivery_id,
                expires_at=expires_at,
                delivery=delivery or DEFAULT_DELIVERY_MODE,
            )
            if current is not None:
                current.set_attribute("proactive.outcome", str(outcome.outcome))
                current.set_attribute("proactive.repeated", outcome.repeated)
                if outcome.error is not None:
                    current.set_attribute("proactive.error", outcome.error.code)
        return outcome

    async def send(
        self,
        target: Target,
        activities: Sequence[ActivityLike],
        *,
        delivery_id: str | None = None,
        expires_at: datetime | None = None,
    ) -> SendResult:
        """Send activities, in order, to a stored conversation, a user or a reference.

        Args:
            target: Whom to send to.
            activities: Activities, message texts or wire objects.
            delivery_id: An idempotency id: repeating the call sends nothing more.
            expires_at: Send nothing after this.

        Returns:
            The activity ids.

        Raises:
            InvalidMessageError: An item is not an activity.
            ProactiveError: Refused before sending (404, 409, 403 kinds).
            SendFailedError: The Connector refused or failed (the reference was retired if it
                said the conversation is gone), or the delivery is in progress elsewhere.
        """
        outcome = await self.deliver(
            target, activities, delivery_id=delivery_id, expires_at=expires_at
        )
        if outcome.refusal is not None:
            raise outcome.refusal
        if outcome.outcome is not Outcome.DELIVERED:
            raise SendFailedError.of(outcome)
        resolved = outcome.target
        return SendResult(
            channel_id=resolved.channel_id if resolved else bot_channel_of(target),
            conversation_id=resolved.conversation_id if resolved else conversation_of(target),
            activity_ids=list(outcome.activity_ids),
            delivery_id=delivery_id,
            repeated=outcome.repeated,
        )

    async def send_to_conversation(
        self,
        conversation_id: str,
        activities: Sequence[ActivityLike],
        *,
        channel_id: str | None = None,
        tenant_id: str | None = None,
        delivery_id: str | None = None,
    ) -> SendResult:
        """Send to a stored conversation by its id (see :meth:`send`).

        Without ``channel_id`` the id must be unique across channels and tenants, else
        :class:`~bot.proactive.errors.AmbiguousConversationError` is raised.
        """
        target = ConversationTarget(
            channel_id=channel_id, conversation_id=conversation_id, tenant_id=tenant_id
        )
        return await self.send(target, activities, delivery_id=delivery_id)

    async def send_to_user(
        self,
        channel_id: str,
        user_id: str,
        activities: Sequence[ActivityLike],
        *,
        delivery_id: str | None = None,
    ) -> SendResult:
        """Send to a user's latest personal conversation with the bot (see :meth:`send`)."""
        target = UserTarget(channel_id=channel_id, user_id=user_id)
        return await self.send(target, activities, delivery_id=delivery_id)

    async def send_to_reference(
        self,
        reference: ConversationReference | Mapping[str, Any],
        activities: Sequence[ActivityLike],
        *,
        claims: Mapping[str, Any] | None = None,
        delivery_id: str | None = None,
    ) -> SendResult:
        """Send to an explicit conversation reference (see :meth:`send`).

        Args:
            reference: A Bot Framework ConversationReference (model or wire object) with
                ``channelId``, ``serviceUrl`` and ``conversation.id``.
            activities: What to send.
            claims: Claims stored with the reference by another SDK; accepted and ignored:
                the bot's token is always its own (docs/security-model.md, T2).
            delivery_id: An idempotency id.

        Raises:
            InvalidTargetError: The reference is malformed.
            ServiceUrlRefusedError: Its serviceUrl is not allowed (no token is requested).
        """
        del claims
        if not isinstance(reference, ConversationReference):
            try:
                reference = ConversationReference.from_wire(reference)
            except ValidationError:
                raise InvalidTargetError("conversationReference is not a valid reference") from None
        return await self.send(reference, activities, delivery_id=delivery_id)


def _target_kind(target: Target) -> str:
    if isinstance(target, ConversationTarget):
        return "conversation"
    if isinstance(target, UserTarget):
        return "user"
    if isinstance(target, TeamsChannelTarget):
        return "teamsChannel"
    return "reference"
