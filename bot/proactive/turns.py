"""Proactive turns: a full turn in a conversation, and an event turn whose sends are delivered.

:meth:`ProactiveTurns.continue_conversation` runs the bot (or given logic) in a conversation
under the bot's own identity; its sends are posted as they happen.
:meth:`ProactiveTurns.deliver_event` runs a turn with a queue message's ``event`` and delivers
what it sends exactly once per id
(:mod:`bot.proactive.event_turns` says how).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot import telemetry
from bot.auth.errors import ServiceUrlNotAllowed, TokenAcquisitionError
from bot.connector.errors import ConnectorError
from bot.delivery import DeliveryError, DeliveryMode, Receipt
from bot.delivery.computed_sends import ComputedSends
from bot.proactive.delivery import Deliverer, DeliveryOutcome, Outcome
from bot.proactive.errors import ProactiveError
from bot.proactive.event_turns import compute_turn
from bot.proactive.message import ProactiveEvent, Target
from bot.proactive.sends import Sends, request_failed
from bot.proactive.targets import ResolvedTarget
from bot.schema import Activity, ResourceResponse
from bot.turn import BotAdapter, ClaimsIdentity, SendNext, TurnContext, TurnLogic

logger = logging.getLogger(__name__)


class ProactiveTurns:
    """Runs proactive turns through the bot application's adapter.

    Args:
        resolve: Resolves and checks a target (``TargetResolver.resolve``).
        adapter: Returns the adapter and the bot's handler.
        app_id: Returns the bot's app id, the identity the turn runs under.
        sends: Delivers what an event turn computed.
        deliverer: Retires a conversation a turn's send found gone.
        computed: What event turns computed, by delivery id.
        receipt: Reads a delivery's receipt by its id (the ledger's).
        clock: The current time.
    """

    def __init__(
        self,
        *,
        resolve: Callable[[Target], Awaitable[ResolvedTarget]],
        adapter: Callable[[], tuple[BotAdapter, TurnLogic]],
        app_id: Callable[[], str],
        sends: Sends,
        deliverer: Deliverer,
        computed: ComputedSends,
        receipt: Callable[[str], Awaitable[Receipt | None]],
        clock: Callable[[], datetime],
    ) -> None:
        self._resolve = resolve
        self._adapter = adapter
        self._app_id = app_id
        self._sends = sends
        self._deliverer = deliverer
        self._computed = computed
        self._receipt = receipt
        self._clock = clock

    async def continue_conversation(
        self,
        target: Target,
        logic: TurnLogic | None = None,
        *,
        continuation_activity: Activity | None = None,
    ) -> list[str | None]:
        """Run a full proactive turn in a conversation: middleware, then ``logic``.

        The turn's activity is a ``ContinueConversation`` event; what the turn sends goes to
        the conversation (no ``replyToId``) through the Connector, under the bot's own
        identity. Sends in such a turn are not idempotent: use ``send`` with a
        ``delivery_id`` for that.

        Args:
            target: The conversation.
            logic: What the turn does; the bot's own handler when ``None`` (it sees the event).
            continuation_activity: A custom activity to start the turn with.

        Returns:
            The ids of the activities ``logic`` sent, in order.

        Raises:
            ProactiveError: The conversation was refused before the turn.
            SendFailedError: A send in the turn failed (a gone conversation is retired).
        """
        resolved = await self._resolve(target)
        adapter, default_logic = self._adapter()
        handler = logic or default_logic
        sent: list[str | None] = []

        async def collect(
            context: TurnContext, activities: list[Activity], next_send: SendNext
        ) -> list[ResourceResponse]:
            del context, activities
            responses = await next_send()
            sent.extend(response.id for response in responses)
            return responses

        async def turn(context: TurnContext) -> None:
            context.on_send_activities(collect)
            await handler(context)

        identity = ClaimsIdentity.for_bot(self._app_id())
        try:
            await adapter.continue_conversation(
                resolved.reference, identity, turn, continuation_activity=continuation_activity
            )
        except (ConnectorError, ServiceUrlNotAllowed, TokenAcquisitionError) as error:
            raise await request_failed(self._deliverer, error, resolved, sent) from None
        return sent

    async def deliver_event(
        self,
        target: Target,
        event: ProactiveEvent,
        *,
        delivery_id: str,
        expires_at: datetime | None = None,
        delivery: DeliveryMode | None = None,
    ) -> DeliveryOutcome:
        """Run a proactive turn with ``event`` and deliver what it sends, once per id.

        See :mod:`bot.proactive.event_turns`: the turn's sends are computed, remembered under
        ``delivery_id`` (the first computation wins), then delivered as ``deliver`` does.

        Raises:
            Exception: The turn failed (the caller retries), or storage failed.
        """
        computed = await self._computed.recall(delivery_id)
        if computed is None:
            receipt = await self._receipt(delivery_id)
            if receipt is not None and receipt.status.final:
                # Delivered, and what it computed has expired since: nothing to do again.
                return DeliveryOutcome(
                    Outcome.DELIVERED, tuple(receipt.activity_ids), receipt=receipt, repeated=True
                )
            if expires_at is not None and self._clock() >= expires_at:
                error = DeliveryError("Expired", "expiresAt passed before the turn ran")
                return DeliveryOutcome(Outcome.EXPIRED, error=error)
            try:
                resolved = await self._resolve(target)
            except ProactiveError as refusal:
                return DeliveryOutcome(
                    Outcome.REFUSED,
                    error=DeliveryError(refusal.code, refusal.message),
                    refusal=refusal,
                )
            adapter, logic = self._adapter()
            with telemetry.span("proactive.event_turn", {"proactive.event": event.name}):
                activities = await compute_turn(adapter, logic, resolved, event, self._app_id())
            computed = await self._computed.remember(delivery_id, activities)
        if not computed:
            logger.info("proactive event %s: the turn sent nothing", delivery_id)
            return DeliveryOutcome(Outcome.DELIVERED)
        return await self._sends.deliver(
            target, computed, delivery_id=delivery_id, expires_at=expires_at, delivery=delivery
        )
