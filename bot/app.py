"""The composition root: which bot runs, with which middleware, sending through what.

Everything here is built once per process, on first use, and shared by every invocation: the
adapter, its middleware (reference capture, with its memory of recent captures) and the
Connector sender (one pooled HTTP session and one MSAL token cache).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.connector.sender import ConnectorSender
from bot.echo_bot import EchoBot
from bot.process_client import ProcessClient
from bot.references.capture import ReferenceCapture
from bot.turn import ActivityHandler, BotAdapter


@dataclass(frozen=True)
class BotApplication:
    """The bot and the adapter that runs its turns.

    Attributes:
        adapter: Runs turns: middleware, then the bot; sends through the Connector.
        bot: The turn handler of inbound and proactive turns.
    """

    adapter: BotAdapter
    bot: ActivityHandler


def _create_application() -> BotApplication:
    adapter = BotAdapter(ConnectorSender(), middleware=[ReferenceCapture()])
    return BotApplication(adapter=adapter, bot=EchoBot())


bot_application: ProcessClient[BotApplication] = ProcessClient(_create_application)
"""The process-wide application: ``bot_application.get()``."""
