"""The composition root: which bot runs, with which middleware, sending through what.

Everything here is built once per process, on first use, and shared by every invocation: the
adapter, its middleware (reference capture, with its memory of recent captures) and the
Connector sender (one pooled HTTP session and one MSAL token cache).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.connector.sender import ConnectorSender
from bot.process_client import ProcessClient
from bot.references import ReferenceStore
from bot.references.capture import ReferenceCapture
from bot.schema import ConversationReference
from bot.settings import get_settings
from bot.state import BotStateMiddleware
from bot.telemetry import TurnTelemetry
from bot.turn import ActivityHandler, BotAdapter


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
    references = ReferenceStore()
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
