"""The composition root: which bot runs, with which middleware, sending through what.

Everything here is built once per process, on first use, and shared by every invocation: the
adapter, its middleware (reference capture, with its memory of recent captures), the Connector
sender (one pooled HTTP session and one MSAL token cache), the reference store, the delivery
ledger and the proactive service and queue sender over them. Routes and triggers take them
from here; nothing below builds its own store or ledger, so there is exactly one of each.

The proactive parts are imported when first built, not at the top: an instance woken by
``/api/messages`` should not import the queue sender, nor one woken by the queue the samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.connector.sender import ConnectorSender
from bot.proactive.process_service import proactive_service as proactive_service
from bot.process_client import ProcessClient
from bot.references import ReferenceStore, reference_store
from bot.references.capture import ReferenceCapture
from bot.schema import ConversationReference
from bot.settings import get_settings
from bot.state import BotStateMiddleware
from bot.telemetry import TurnTelemetry
from bot.turn import ActivityHandler, BotAdapter, TurnLogic

if TYPE_CHECKING:
    from bot.delivery import DeliveryLedger
    from bot.proactive.queue_sender import QueueMessageLike, QueueSender
    from bot.proactive.service import ProactiveService


@dataclass(frozen=True)
class BotApplication:
    """The bot and the adapter that runs its turns.

    Attributes:
        adapter: Runs turns: middleware, then the bot; sends through the Connector.
        bot: The turn handler of inbound and proactive turns.
        references: The reference store of capture and of proactive sends. One per process:
            it remembers recent captures, and a conversation retired by a send must be
            forgotten there too, or the user's next message would not revive it.
    """

    adapter: BotAdapter
    bot: ActivityHandler
    references: ReferenceStore


def _create_application() -> BotApplication:
    # Imported here, not at the top: the samples package is not needed to import this module,
    # and the catalog imports only the chosen sample's module.
    from bot.samples.catalog import create_sample

    # Capture first, so a handler that sends proactively finds its own conversation stored;
    # state loads lazily and saves once, at the end of the turn.
    references = reference_store.get()
    adapter = BotAdapter(
        ConnectorSender(),
        middleware=[
            TurnTelemetry(),
            ReferenceCapture(references, team_channels=_team_channel_ids),
            BotStateMiddleware(),
        ],
    )
    return BotApplication(
        adapter=adapter, bot=create_sample(get_settings().bot_sample), references=references
    )


async def _team_channel_ids(reference: ConversationReference, team_id: str) -> list[str]:
    """The channel ids of a team, read through the Connector of the team's reference."""
    from bot.connector.client import connector_client
    from bot.throttling.governor import SendKey
    from bot.throttling.sender import send_permit

    # Counted against the tenant's limit like every Connector request of the bot.
    tenant_id = reference.conversation.tenant_id if reference.conversation else None
    async with send_permit(SendKey(reference.channel_id or "", tenant_id or "")):
        channels = await connector_client.get().get_team_channels(
            reference.service_url or "", team_id
        )
    return [channel.id for channel in channels if channel.id]


bot_application: ProcessClient[BotApplication] = ProcessClient(_create_application)
"""The process-wide application: ``bot_application.get()``."""


def application_turns() -> tuple[BotAdapter, TurnLogic]:
    """The adapter and the bot's turn handler, for proactive turns (``ProactiveService``)."""
    application = bot_application.get()
    return application.adapter, application.bot.on_turn


def _create_ledger() -> DeliveryLedger:
    from bot.delivery import DeliveryLedger

    return DeliveryLedger(lease_seconds=get_settings().proactive_send_lease_seconds)


delivery_ledger: ProcessClient[DeliveryLedger] = ProcessClient(_create_ledger)
"""The process-wide delivery ledger: ``delivery_ledger.get()``."""


def _create_proactive_service() -> ProactiveService:
    from bot.delivery.sent_cards import SentCards
    from bot.proactive.event_turns import ComputedSends
    from bot.proactive.service import ProactiveService

    return ProactiveService(
        store=reference_store.get(),
        ledger=delivery_ledger.get(),
        computed=ComputedSends(),
        sent_cards=SentCards(),
        adapter=application_turns,
    )


proactive_service.provide(_create_proactive_service)


def _create_queue_sender() -> QueueSender:
    from bot.broadcast.outcomes import BroadcastProgress
    from bot.proactive.queue_sender import QueueSender

    # Broadcast progress hears every recipient's outcome: the queue sender sits below
    # broadcasts and cannot reach them itself.
    return QueueSender(proactive_service.get(), listeners=[BroadcastProgress()])


proactive_queue_sender: ProcessClient[QueueSender] = ProcessClient(_create_queue_sender)
"""The process-wide queue sender: ``proactive_queue_sender.get()``."""


async def handle_queue_message(message: QueueMessageLike) -> None:
    """The proactive queue trigger's body: ``await handle_queue_message(msg)``."""
    await proactive_queue_sender.get().process(
        message.get_body(), dequeue_count=message.dequeue_count
    )
