"""Proactive delivery: the bot speaks first.

- :mod:`bot.proactive.service`: :class:`ProactiveService` (the process's: ``bot.app``): send
  to a stored conversation, a user or a reference; run a full proactive turn; start a
  conversation; update and delete sent activities. Each operation has its module:
  :mod:`bot.proactive.sends`, :mod:`bot.proactive.turns`, :mod:`bot.proactive.conversations`,
  :mod:`bot.proactive.activity_changes`, :mod:`bot.proactive.edits`.
- :mod:`bot.proactive.message`: the queue message (docs/queue-message.md) and the targets.
- :mod:`bot.proactive.enqueue`: :func:`enqueue`, validated and base64-encoded;
  ``python -m bot.proactive`` does the same from the command line.
- :mod:`bot.proactive.queue_sender`: the queue trigger's logic (retries, poison, receipts);
  :mod:`bot.proactive.listeners`: who hears of each message's final outcome (broadcasts).
- :mod:`bot.proactive.delivery`: one delivery under the idempotency ledger.
- :mod:`bot.proactive.targets`, :mod:`bot.proactive.failures`, :mod:`bot.proactive.backoff`,
  :mod:`bot.proactive.poison`, :mod:`bot.proactive.clouds`: the parts.

Only the light modules are imported here; the service and the queue sender (which load the
Connector client) are imported from their modules.
"""

from bot.proactive.clouds import TEAMS_SERVICE_URLS, TeamsCloud
from bot.proactive.errors import (
    AmbiguousConversationError,
    ConversationInactiveError,
    InvalidTargetError,
    ProactiveError,
    ServiceUrlMismatchError,
    ServiceUrlRefusedError,
    UnknownConversationError,
)
from bot.proactive.message import (
    ConversationTarget,
    FieldError,
    InvalidMessageError,
    ProactiveMessage,
    Target,
    UserTarget,
    message_json_schema,
    parse_message,
)

__all__ = [
    "TEAMS_SERVICE_URLS",
    "AmbiguousConversationError",
    "ConversationInactiveError",
    "ConversationTarget",
    "FieldError",
    "InvalidMessageError",
    "InvalidTargetError",
    "ProactiveError",
    "ProactiveMessage",
    "ServiceUrlMismatchError",
    "ServiceUrlRefusedError",
    "Target",
    "TeamsCloud",
    "UnknownConversationError",
    "UserTarget",
    "message_json_schema",
    "parse_message",
]
