"""The composition root: which bot runs, with which middleware, sending through what.

Everything here is built once per process, on first use, and shared by every invocation: the
adapter, its middleware (reference capture, with its memory of recent captures), the Connector
sender (one pooled HTTP session and one MSAL token cache), the rate governor, the stores (the
conversation references, the delivery ledger, the schedules, the broadcast operations) and the
services over them (proactive sends, the queue sender, schedules, broadcasts and their
fan-out). Routes and triggers take them from here; nothing below builds a store or a service of
its own, so there is exactly one of each. Code below that must reach one (the governor around
every Connector request, the proactive service of a card's Universal Action, the schedule
service of a chat's reminder commands) declares a ``ProcessClient`` slot, which this module
fills with ``provide`` when it is imported.

The proactive, schedule and broadcast parts are imported when first built, not at the top: an
instance woken by ``/api/messages`` should not import the queue sender, nor one woken by the
queue the samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.connector.sender import ConnectorSender
from bot.proactive import process_service
from bot.proactive.process_service import proactive_service as proactive_service
from bot.process_client import ProcessClient, provide_slot
from bot.references import ReferenceStore
from bot.references.capture import ReferenceCapture
from bot.schedules import process_service as schedule_slot
from bot.schedules.process_service import schedule_service as schedule_service
from bot.schema import ConversationReference
from bot.settings import get_settings
from bot.state import BotStateMiddleware
from bot.telemetry import TurnTelemetry
from bot.turn import ActivityHandler, BotAdapter, TurnLogic

if TYPE_CHECKING:
    from bot.broadcast.fanout import FanOut
    from bot.broadcast.service import BroadcastService
    from bot.broadcast.store import OperationStore
    from bot.delivery import DeliveryLedger
    from bot.proactive.queue_sender import QueueMessageLike, QueueSender
    from bot.proactive.service import ProactiveService
    from bot.schedules.service import ScheduleService
    from bot.schedules.store import ScheduleStore
    from bot.schedules.tick import TickReport
    from bot.throttling.governor import RateGovernor

GOVERNOR_SLOT = "bot.throttling.governor.rate_governor"
"""``bot.throttling.governor.SLOT``, named here so that importing the root does not import
the governor (an instance woken by ``/api/messages`` may never send through it)."""


def _create_governor() -> RateGovernor:
    from bot.throttling.budget_leases import BudgetLeases
    from bot.throttling.config import load_governor_config
    from bot.throttling.governor import RateGovernor
    from bot.throttling.send_logs import SendLogs
    from bot.throttling.store import ThrottleRecords

    config = load_governor_config()
    records = ThrottleRecords(cache_seconds=config.record_cache_seconds)
    if not (config.enabled and config.lease_seconds > 0):
        return RateGovernor(config, records=records)
    return RateGovernor(
        config,
        records=records,
        leases=BudgetLeases(lease_seconds=config.lease_seconds, tenant_shares=config.tenant_shares),
        logs=SendLogs(),
    )


provide_slot(GOVERNOR_SLOT, _create_governor)


def _create_reference_store() -> ReferenceStore:
    return ReferenceStore()


reference_store: ProcessClient[ReferenceStore] = ProcessClient(_create_reference_store)
"""The process's one reference store: ``reference_store.get()``.

Capture, the proactive service, schedules, broadcast audiences and the references route all
use it: a conversation retired by a send must be forgotten by the store whose memory of
recent captures would otherwise keep it.
"""


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
    from bot.state.store import CosmosStateStorage

    # Capture first, so a handler that sends proactively finds its own conversation stored;
    # state loads lazily and saves once, at the end of the turn.
    references = reference_store.get()
    adapter = BotAdapter(
        ConnectorSender(),
        middleware=[
            TurnTelemetry(),
            ReferenceCapture(references, team_channels=_team_channel_ids),
            BotStateMiddleware(CosmosStateStorage()),
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
    from bot.delivery.computed_sends import ComputedSends
    from bot.delivery.sent_cards import SentCards
    from bot.proactive.service import ProactiveService

    return ProactiveService(
        store=reference_store.get(),
        ledger=delivery_ledger.get(),
        computed=ComputedSends(),
        sent_cards=SentCards(),
        adapter=application_turns,
    )


provide_slot(process_service.SLOT, _create_proactive_service)


def _create_queue_sender() -> QueueSender:
    from bot.broadcast.outcomes import BroadcastProgress
    from bot.proactive.queue_sender import QueueSender

    # Broadcast progress hears every recipient's outcome: the queue sender sits below
    # broadcasts and cannot reach them itself.
    return QueueSender(
        proactive_service.get(), listeners=[BroadcastProgress(operation_store.get())]
    )


proactive_queue_sender: ProcessClient[QueueSender] = ProcessClient(_create_queue_sender)
"""The process-wide queue sender: ``proactive_queue_sender.get()``."""


async def handle_queue_message(message: QueueMessageLike) -> None:
    """The proactive queue trigger's body: ``await handle_queue_message(msg)``."""
    await proactive_queue_sender.get().process(
        message.get_body(), dequeue_count=message.dequeue_count
    )


def _create_schedule_store() -> ScheduleStore:
    from bot.schedules.store import ScheduleStore

    return ScheduleStore()


schedule_store: ProcessClient[ScheduleStore] = ProcessClient(_create_schedule_store)
"""The process-wide schedule store: ``schedule_store.get()``."""


def _create_schedule_service() -> ScheduleService:
    from bot.schedules.service import ScheduleService

    return ScheduleService(store=schedule_store.get(), references=reference_store.get())


provide_slot(schedule_slot.SLOT, _create_schedule_service)


async def run_schedule_tick() -> TickReport:
    """The schedule timer's body: one tick over the process's schedule store."""
    from bot.schedules.tick import run_tick

    return await run_tick(schedule_store.get())


def _create_operation_store() -> OperationStore:
    from bot.broadcast.store import OperationStore

    return OperationStore()


operation_store: ProcessClient[OperationStore] = ProcessClient(_create_operation_store)
"""The process-wide store of broadcast operations: ``operation_store.get()``."""


def _create_fanout() -> FanOut:
    from bot.broadcast.audience import AudienceReader
    from bot.broadcast.fanout import FanOut

    return FanOut(operations=operation_store.get(), audience=AudienceReader(reference_store.get()))


fanout: ProcessClient[FanOut] = ProcessClient(_create_fanout)
"""The process-wide broadcast fan-out: ``fanout.get()``."""


async def handle_fanout_message(message: QueueMessageLike) -> None:
    """The fan-out queue trigger's body: ``await handle_fanout_message(msg)``."""
    await fanout.get().process(message.get_body())


def _create_broadcast_service() -> BroadcastService:
    from bot.broadcast.audience import AudienceReader
    from bot.broadcast.service import BroadcastService

    return BroadcastService(
        operations=operation_store.get(),
        audience=AudienceReader(reference_store.get()),
        fan_out=fanout.get,
    )


broadcast_service: ProcessClient[BroadcastService] = ProcessClient(_create_broadcast_service)
"""The process-wide broadcast service: ``broadcast_service.get()``."""
