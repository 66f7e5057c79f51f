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

The service only puts the parts together; each operation lives in its own module:
:mod:`bot.proactive.sends` (send and deliver), :mod:`bot.proactive.turns` (proactive turns and
event turns), :mod:`bot.proactive.conversations` (start a conversation),
:mod:`bot.proactive.activity_changes` (update or delete one activity) and
:mod:`bot.proactive.edits` (edit or recall a delivery, once per operation id). Every target is
resolved by the one :class:`~bot.proactive.targets.TargetResolver`. The bot always acts under
its own app id: claims a caller passes along with a reference are never used for the token (T2).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.auth.service_url import ServiceUrlPolicy, service_url_policy
from bot.connector.client import ConnectorClient, connector_client
from bot.connector.sender import ConnectorSender
from bot.delivery import DeliveryLedger
from bot.delivery.computed_sends import ComputedSends
from bot.delivery.sent_cards import SentCards
from bot.proactive.activities import ActivityLike, to_activities
from bot.proactive.activity_changes import ActivityChanges
from bot.proactive.backoff import Backoff
from bot.proactive.chats import ChatStarter
from bot.proactive.conversations import ConversationCreator, CreatedConversation
from bot.proactive.delivery import Deliverer
from bot.proactive.edits import Editor
from bot.proactive.errors import UserNotFoundError
from bot.proactive.sends import SendFailedError, SendResult, Sends
from bot.proactive.targets import TargetResolver, UserDirectory
from bot.proactive.turns import ProactiveTurns
from bot.references import ReferenceStore
from bot.settings import get_settings
from bot.throttling.sender import GovernedSender
from bot.turn import BotAdapter, TurnLogic
from bot.turn.sender import ActivitySender

__all__ = [
    "ActivityLike",
    "CreatedConversation",
    "ProactiveService",
    "SendFailedError",
    "SendResult",
    "to_activities",
]


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

    The stores and the ledger are the process's own, handed in by the composition root
    (:mod:`bot.app`); every other argument has a process-wide default, and tests and other
    hosts pass their own.

    Args:
        store: The conversation reference store (shared with the capture middleware, so a
            retired conversation is revived by the user's very next message).
        ledger: The delivery ledger (idempotency and receipts).
        computed: What proactive turns computed (:mod:`bot.proactive.event_turns`).
        sent_cards: Which delivery sent a card (:mod:`bot.delivery.sent_cards`).
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
        edit_wait_seconds: How long a queued edit waits for its delivery;
            ``PROACTIVE_EDIT_WAIT_SECONDS`` when omitted.

    Its operations, each one method of the part that does it:

    - ``resolve(target)``: the conversation a target names, checked for sending
      (:meth:`TargetResolver.resolve`).
    - ``deliver``, ``send``, ``send_to_conversation``, ``send_to_user``,
      ``send_to_reference``: :class:`~bot.proactive.sends.Sends`.
    - ``continue_conversation``, ``deliver_event``: :class:`~bot.proactive.turns.ProactiveTurns`.
    - ``create_conversation``: :class:`~bot.proactive.conversations.ConversationCreator`.
    - ``update_activity``, ``delete_activity``:
      :class:`~bot.proactive.activity_changes.ActivityChanges`.
    - ``edit(request, wait=False)``, ``update_sent_card``: :class:`~bot.proactive.edits.Editor`.
    - ``receipt(delivery_id)``, ``record_invalid``: the ledger's
      (:meth:`DeliveryLedger.get_receipt`, :meth:`DeliveryLedger.record_invalid`).
    """

    def __init__(
        self,
        *,
        store: ReferenceStore,
        ledger: DeliveryLedger,
        computed: ComputedSends,
        sent_cards: SentCards,
        sender: ActivitySender | None = None,
        connector: Callable[[], ConnectorClient] = connector_client.get,
        adapter: Callable[[], tuple[BotAdapter, TurnLogic]] | None = None,
        service_urls: Callable[[], ServiceUrlPolicy] = service_url_policy,
        app_id: Callable[[], str] = _configured_app_id,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = _utc_now,
        users: UserDirectory | None = None,
        installer: Callable[[str, str], Awaitable[None]] | None = None,
        edit_wait_seconds: float | None = None,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.computed = computed
        self.sent_cards = sent_cards
        # Every proactive request waits for the rate governor (bot.throttling); a sender
        # passed in is used as given.
        sender = sender or GovernedSender(ConnectorSender(connector))
        self.chats = ChatStarter(
            store=store,
            connector=connector,
            service_urls=service_urls,
            app_id=app_id,
            clock=clock,
            installer=installer if installer is not None else _configured_installer(),
        )
        self.resolver = TargetResolver(
            store, service_urls, chats=self.chats, users=users or _GraphUsers()
        )
        self.deliverer = Deliverer(
            resolver=self.resolver,
            sender=sender,
            ledger=ledger,
            store=store,
            backoff=backoff or _configured_backoff(),
            clock=clock,
            reserve=sender.reserve if isinstance(sender, GovernedSender) else None,
            sent_cards=sent_cards,
        )
        self.editor = Editor(
            ledger=ledger,
            resolver=self.resolver,
            sender=sender,
            deliverer=self.deliverer,
            sent_cards=sent_cards,
            backoff=backoff or _configured_backoff(),
            clock=clock,
            wait_seconds=edit_wait_seconds
            if edit_wait_seconds is not None
            else _configured_edit_wait(),
        )
        sends = Sends(self.deliverer)
        self.turns = ProactiveTurns(
            resolve=self.resolver.resolve,
            adapter=adapter or _no_application,
            app_id=app_id,
            sends=sends,
            deliverer=self.deliverer,
            computed=computed,
            receipt=ledger.get_receipt,
            clock=clock,
        )
        changes = ActivityChanges(
            resolve=self.resolver.resolve, sender=sender, deliverer=self.deliverer
        )

        self.resolve = self.resolver.resolve
        self.deliver = sends.deliver
        self.send = sends.send
        self.send_to_conversation = sends.send_to_conversation
        self.send_to_user = sends.send_to_user
        self.send_to_reference = sends.send_to_reference
        self.continue_conversation = self.turns.continue_conversation
        self.deliver_event = self.turns.deliver_event
        self.create_conversation = ConversationCreator(self.chats, sends).create_conversation
        self.update_activity = changes.update_activity
        self.delete_activity = changes.delete_activity
        self.edit = self.editor.apply
        self.update_sent_card = self.editor.update_sent_card
        self.receipt = ledger.get_receipt
        self.record_invalid = ledger.record_invalid


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
