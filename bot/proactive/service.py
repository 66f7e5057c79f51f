"""The proactive API: a bot that speaks first.

:class:`ProactiveService` is what application code uses (``bot.app.proactive_service.get()``
gives the process-wide one, built by the composition root)::

    service = proactive_service.get()
    result = await service.send_to_conversation("a:1x2y3z", ["Your report is ready"],
                                                channel_id="msteams")
    result.activity_ids                                   # ["1:abc"]
    await service.send_to_user("msteams", "29:1abc", [card_activity], delivery_id="rpt-42")
    await service.continue_conversation(ConversationTarget(...), logic)   # a full turn
    created = await service.create_conversation("29:1abc", tenant_id=tenant)
    await service.update_activity(target, result.activity_ids[0], new_activity)

Sends resolve the target first (:mod:`bot.proactive.targets`: unknown, ambiguous, retired and
disallowed conversations are refused before anything is sent), then post the activities one
after the other, in order. With a ``delivery_id`` each activity is sent at most once however
often the call is repeated (:mod:`bot.proactive.delivery`). The bot always acts under its own
app id: claims a caller passes along with a reference are never used for the token (T2).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from bot import telemetry
from bot.auth.errors import ServiceUrlNotAllowed, TokenAcquisitionError
from bot.auth.service_url import ServiceUrlPolicy, service_url_policy
from bot.connector.client import ConnectorClient, connector_client
from bot.connector.errors import ConnectorError
from bot.connector.sender import ConnectorSender
from bot.delivery import (
    DEFAULT_DELIVERY_MODE,
    DeliveryError,
    DeliveryLedger,
    DeliveryMode,
    Receipt,
)
from bot.delivery.sent_cards import SentCards
from bot.proactive.backoff import Backoff
from bot.proactive.chats import ChatStarter, ChatStartError
from bot.proactive.clouds import TeamsCloud
from bot.proactive.delivery import Deliverer, DeliveryOutcome, Outcome
from bot.proactive.edits import EditOperation, Editor, EditOutcome, EditRequest
from bot.proactive.errors import InvalidTargetError, ProactiveError, UserNotFoundError
from bot.proactive.event_turns import ComputedSends, compute_turn
from bot.proactive.failures import Failure, classify
from bot.proactive.message import (
    ConversationTarget,
    FieldError,
    InvalidMessageError,
    ProactiveEvent,
    Target,
    TeamsChannelTarget,
    UserTarget,
    bot_channel_of,
    field_errors,
)
from bot.proactive.targets import ResolvedTarget, TargetResolver, UserDirectory
from bot.references import ReferenceStore
from bot.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    Channels,
    ConversationReference,
    ResourceResponse,
    apply_conversation_reference,
)
from bot.settings import get_settings
from bot.throttling.sender import GovernedSender
from bot.turn import BotAdapter, ClaimsIdentity, SendNext, TurnContext, TurnLogic
from bot.turn.sender import ActivitySender

logger = logging.getLogger(__name__)

ActivityLike = Activity | str | Mapping[str, Any]
"""An activity, a message text, or a wire-format activity object."""


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


@dataclass(frozen=True)
class CreatedConversation:
    """A conversation the bot started.

    Attributes:
        reference: Where it lives (also stored, unless asked not to).
        activity_ids: The ids of the activities sent into it, in order.
    """

    reference: ConversationReference
    activity_ids: list[str | None] = field(default_factory=list)

    @property
    def conversation_id(self) -> str:
        """The new conversation's id."""
        conversation = self.reference.conversation
        return conversation.id or "" if conversation is not None else ""


def to_activities(items: Sequence[ActivityLike]) -> list[Activity]:
    """Activities from activities, message texts and wire objects.

    Raises:
        InvalidMessageError: An item is not an activity (naming it as ``activities.<n>``).
    """
    activities: list[Activity] = []
    errors: list[FieldError] = []
    for index, item in enumerate(items):
        if isinstance(item, Activity):
            activities.append(item)
        elif isinstance(item, str):
            activities.append(Activity(type=ActivityTypes.MESSAGE, text=item))
        else:
            try:
                activities.append(Activity.from_wire(item))
            except ValidationError as error:
                errors.extend(
                    FieldError(field=f"activities.{index}.{problem.field}", message=problem.message)
                    for problem in field_errors(error)
                )
                continue
        if not activities[-1].type.strip():
            errors.append(FieldError(field=f"activities.{index}.type", message="must not be empty"))
    if not items:
        errors.append(FieldError(field="activities", message="at least one activity is required"))
    if errors:
        raise InvalidMessageError(errors)
    return activities


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _configured_app_id() -> str:
    return get_settings().app_id


def _configured_edit_wait() -> float:
    return get_settings().proactive_edit_wait_seconds


def _configured_backoff() -> Backoff:
    settings = get_settings()
    return Backoff(
        cap_seconds=settings.proactive_retry_max_delay_seconds,
        max_attempts=settings.proactive_max_attempts,
    )


class ProactiveService:
    """Sends to conversations the bot knows, runs proactive turns, starts conversations.

    The store and the ledger are the process's own, handed in by the composition root
    (:mod:`bot.app`); every other argument has a process-wide default, and tests and other
    hosts pass their own.

    Args:
        store: The conversation reference store (shared with the capture middleware, so a
            retired conversation is revived by the user's very next message).
        ledger: The delivery ledger (idempotency and receipts).
        sender: Posts, updates and deletes activities (a ``ConnectorSender``).
        connector: Returns the Connector client (for creating conversations).
        adapter: Returns the adapter and the bot's handler for full proactive turns; without
            it, a proactive turn is refused with ``RuntimeError`` (the root passes the app's).
        service_urls: Returns the serviceUrl allow-list.
        app_id: Returns the bot's app id, the identity the bot acts under.
        backoff: Retry timing and the attempt limit of deliveries.
        clock: The current time.
        users: Finds users by user principal name; Microsoft Graph by default.
        installer: Installs the bot's Teams app for a user when Teams refuses their chat for
            that; Microsoft Graph when ``GRAPH_INSTALL_APP`` is on, else none.
        computed: What proactive turns computed (:mod:`bot.proactive.event_turns`).
        sent_cards: Which delivery sent a card (:mod:`bot.delivery.sent_cards`).
        edit_wait_seconds: How long a queued edit waits for its delivery;
            ``PROACTIVE_EDIT_WAIT_SECONDS`` when omitted.
    """

    def __init__(
        self,
        *,
        store: ReferenceStore,
        ledger: DeliveryLedger,
        sender: ActivitySender | None = None,
        connector: Callable[[], ConnectorClient] = connector_client.get,
        adapter: Callable[[], tuple[BotAdapter, TurnLogic]] | None = None,
        service_urls: Callable[[], ServiceUrlPolicy] = service_url_policy,
        app_id: Callable[[], str] = _configured_app_id,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = _utc_now,
        users: UserDirectory | None = None,
        installer: Callable[[str, str], Awaitable[None]] | None = None,
        computed: ComputedSends | None = None,
        sent_cards: SentCards | None = None,
        edit_wait_seconds: float | None = None,
    ) -> None:
        self.store = store
        self.ledger = ledger
        # Every proactive request waits for the rate governor (bot.throttling); a sender
        # passed in is used as given.
        self._sender = sender or GovernedSender(ConnectorSender(connector))
        self._connector = connector
        self._adapter = adapter or _no_application
        self._service_urls = service_urls
        self._app_id = app_id
        self._clock = clock
        self.chats = ChatStarter(
            store=self.store,
            connector=connector,
            service_urls=service_urls,
            app_id=app_id,
            clock=clock,
            installer=installer if installer is not None else _configured_installer(),
        )
        self.resolver = TargetResolver(
            self.store, service_urls, chats=self.chats, users=users or _GraphUsers()
        )
        self.sent_cards = sent_cards or SentCards()
        self.deliverer = Deliverer(
            resolver=self.resolver,
            sender=self._sender,
            ledger=self.ledger,
            store=self.store,
            backoff=backoff or _configured_backoff(),
            clock=clock,
            reserve=self._sender.reserve if isinstance(self._sender, GovernedSender) else None,
            sent_cards=self.sent_cards,
        )
        self.computed = computed or ComputedSends()
        self.editor = Editor(
            ledger=self.ledger,
            resolver=self.resolver,
            sender=self._sender,
            deliverer=self.deliverer,
            backoff=backoff or _configured_backoff(),
            clock=clock,
            wait_seconds=edit_wait_seconds
            if edit_wait_seconds is not None
            else _configured_edit_wait(),
        )

    async def resolve(self, target: Target) -> ResolvedTarget:
        """The conversation a target names, checked for sending.

        Raises:
            ProactiveError: Refused (see :meth:`TargetResolver.resolve`).
        """
        return await self.resolver.resolve(target)

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
            outcome = await self.deliverer.deliver(
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
        ``delivery_id`` (the first computation wins), then delivered as :meth:`deliver` does.

        Raises:
            Exception: The turn failed (the caller retries), or storage failed.
        """
        computed = await self.computed.recall(delivery_id)
        if computed is None:
            receipt = await self.ledger.get_receipt(delivery_id)
            if receipt is not None and receipt.status.final:
                # Delivered, and what it computed has expired since: nothing to do again.
                return DeliveryOutcome(
                    Outcome.DELIVERED, tuple(receipt.activity_ids), receipt=receipt, repeated=True
                )
            if expires_at is not None and self._clock() >= expires_at:
                error = DeliveryError("Expired", "expiresAt passed before the turn ran")
                return DeliveryOutcome(Outcome.EXPIRED, error=error)
            try:
                resolved = await self.resolve(target)
            except ProactiveError as refusal:
                return DeliveryOutcome(
                    Outcome.REFUSED,
                    error=DeliveryError(refusal.code, refusal.message),
                    refusal=refusal,
                )
            adapter, logic = self._adapter()
            with telemetry.span("proactive.event_turn", {"proactive.event": event.name}):
                activities = await compute_turn(adapter, logic, resolved, event, self._app_id())
            computed = await self.computed.remember(delivery_id, activities)
        if not computed:
            logger.info("proactive event %s: the turn sent nothing", delivery_id)
            return DeliveryOutcome(Outcome.DELIVERED)
        return await self.deliver(
            target, computed, delivery_id=delivery_id, expires_at=expires_at, delivery=delivery
        )

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
            channel_id=resolved.channel_id if resolved else _channel_of(target),
            conversation_id=resolved.conversation_id if resolved else _conversation_of(target),
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
        identity. Sends in such a turn are not idempotent: use :meth:`send` with a
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
        resolved = await self.resolve(target)
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
            raise await self._failed(error, resolved, sent) from None
        return sent

    async def create_conversation(
        self,
        user: ChannelAccount | str,
        *,
        tenant_id: str | None = None,
        channel_id: str = Channels.MSTEAMS,
        service_url: str | None = None,
        cloud: TeamsCloud = TeamsCloud.PUBLIC,
        activities: Sequence[ActivityLike] = (),
        topic_name: str | None = None,
        channel_data: Any = None,
        remember: bool = True,
        delivery_id: str | None = None,
    ) -> CreatedConversation:
        """Start a 1:1 conversation with a user who may never have talked to the bot.

        Teams needs the user's tenant, and the bot must be installed for the user (else 403
        ``ForbiddenOperationException``); Teams answers with the existing chat if there is one.

        Args:
            user: The user's channel account or id (Teams: ``29:...``).
            tenant_id: The user's tenant; required for Teams.
            channel_id: The channel.
            service_url: The Connector endpoint; for Teams, ``cloud``'s global endpoint by
                default. Checked against the allow-list before any token is requested.
            cloud: The Microsoft 365 cloud of the tenant (Teams only).
            activities: Sent into the new conversation, in order.
            topic_name: The conversation's topic.
            channel_data: Channel-specific data; for Teams ``{"tenant": {"id": ...}}`` by
                default.
            remember: Store the new conversation's reference, so later sends can name it.
            delivery_id: Idempotency id of the send of ``activities``.

        Returns:
            The new conversation and the ids of the activities sent.

        Raises:
            InvalidTargetError: No tenant for Teams, or no serviceUrl for another channel.
            ServiceUrlRefusedError: The serviceUrl is not allowed.
            SendFailedError: The Connector refused or failed.
        """
        account = ChannelAccount(id=user) if isinstance(user, str) else user.model_copy(deep=True)
        to_send = to_activities(activities) if activities else []
        try:
            reference = await self.chats.start(
                account,
                tenant_id=tenant_id,
                channel_id=channel_id,
                service_url=service_url,
                cloud=cloud,
                topic_name=topic_name,
                channel_data=channel_data,
                remember=remember,
            )
        except ChatStartError as error:
            failure = error.failure
            raise SendFailedError(failure.code, failure.message, failure=failure) from None
        result = CreatedConversation(reference)
        if to_send:
            sent = await self.send(reference, to_send, delivery_id=delivery_id)
            result.activity_ids.extend(sent.activity_ids)
        return result

    async def update_activity(
        self, target: Target, activity_id: str, activity: ActivityLike
    ) -> str | None:
        """Replace an activity the bot sent earlier (``PUT .../activities/{id}``).

        Returns:
            The activity's id as the Connector answers it.

        Raises:
            InvalidMessageError: ``activity`` is not an activity.
            ProactiveError: The conversation was refused.
            SendFailedError: The Connector refused (404 ``ActivityNotFoundInConversation``...).
        """
        [replacement] = to_activities([activity])
        resolved = await self.resolve(target)
        outgoing = replacement.model_copy(deep=True)
        apply_conversation_reference(outgoing, resolved.reference)
        outgoing.id = activity_id
        try:
            response = await self._sender.update_activity(resolved.reference, outgoing)
        except (ConnectorError, ServiceUrlNotAllowed, TokenAcquisitionError) as error:
            raise await self._failed(error, resolved, []) from None
        return response.id or activity_id

    async def delete_activity(self, target: Target, activity_id: str) -> None:
        """Delete an activity the bot sent earlier.

        Raises:
            ProactiveError: The conversation was refused.
            SendFailedError: The Connector refused.
        """
        resolved = await self.resolve(target)
        try:
            await self._sender.delete_activity(resolved.reference, activity_id)
        except (ConnectorError, ServiceUrlNotAllowed, TokenAcquisitionError) as error:
            raise await self._failed(error, resolved, []) from None

    async def edit(self, request: EditRequest, *, wait: bool = False) -> EditOutcome:
        """Edit or recall what a delivery sent, once per operation id (:mod:`.edits`).

        Args:
            request: The operation.
            wait: Wait (re-enqueue) for a delivery not known or final yet, as the queue does;
                otherwise refuse at once.

        Raises:
            LedgerConflictError: The ledger kept conflicting (try again later).
        """
        with telemetry.span("proactive.edit", {"proactive.operation": request.operation.value}):
            return await self.editor.apply(request, wait=wait)

    async def update_sent_card(
        self, conversation_id: str, activity_id: str, card: Activity, operation_id: str
    ) -> EditOutcome | None:
        """Replace a card a delivery sent, as a version of that delivery (docs/cards.md).

        Only the card's own activity is replaced; the delivery's others stay as they are.

        Returns:
            The edit's outcome, or ``None`` when no delivery is known to have sent the card.

        Raises:
            LedgerConflictError: The ledger kept conflicting (try again later).
        """
        found = await self.sent_cards.find(conversation_id, activity_id)
        if found is None:
            return None
        original = await self.ledger.get_receipt(found.delivery_id)
        if original is None or found.index >= len(original.activities):
            return None
        replacements: list[Activity | None] = [None] * len(original.activities)
        replacements[found.index] = card
        request = EditRequest(
            found.delivery_id, EditOperation.UPDATE, operation_id, tuple(replacements)
        )
        return await self.edit(request)

    async def receipt(self, delivery_id: str) -> Receipt | None:
        """The receipt of a delivery by its idempotency id (``None`` when unknown).

        Raises:
            ValueError: The id is not a valid idempotency id.
        """
        return await self.ledger.get_receipt(delivery_id)

    async def _failed(
        self, error: Exception, resolved: ResolvedTarget, sent: Sequence[str | None]
    ) -> SendFailedError:
        failure = classify(error)
        logger.warning(
            "proactive: Connector request failed: %s %s",
            failure.status if failure.status is not None else "no response",
            failure.code,
        )
        if failure.inactive_reason is not None:
            await self.deliverer.retire(resolved, failure)
        return SendFailedError(failure.code, failure.message, failure=failure, activity_ids=sent)


def _channel_of(target: Target) -> str | None:
    return bot_channel_of(target)


def _conversation_of(target: Target) -> str | None:
    if isinstance(target, ConversationTarget):
        return target.conversation_id
    if isinstance(target, ConversationReference) and target.conversation is not None:
        return target.conversation.id
    return None


class _GraphUsers:
    """Names to object ids through the process-wide Graph client (created on first use)."""

    async def object_id(self, tenant_id: str, user_principal_name: str) -> str:
        from bot.graph.client import GraphUserNotFoundError, graph_client

        try:
            return await graph_client.get().object_id(tenant_id, user_principal_name)
        except GraphUserNotFoundError as error:
            raise UserNotFoundError(str(error)) from None


def _configured_installer() -> Callable[[str, str], Awaitable[None]] | None:
    if not get_settings().graph_install_app:
        return None

    async def install(tenant_id: str, user_object_id: str) -> None:
        from bot.graph.client import graph_client

        await graph_client.get().install_app(tenant_id, user_object_id)

    return install


def _no_application() -> tuple[BotAdapter, TurnLogic]:
    raise RuntimeError("no bot application to run proactive turns: pass adapter=")


def _target_kind(target: Target) -> str:
    if isinstance(target, ConversationTarget):
        return "conversation"
    if isinstance(target, UserTarget):
        return "user"
    if isinstance(target, TeamsChannelTarget):
        return "teamsChannel"
    return "reference"
