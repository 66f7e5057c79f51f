"""The seam between a turn and the channel: how outgoing activities leave.

The Connector client (``bot.connector``) implements :class:`ActivitySender` over HTTP; tests
use :class:`~bot.turn.memory_sender.InMemorySender`. Nothing in ``bot.turn`` imports either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.schema import Activity, ConversationReference, ResourceResponse


class ActivitySender(Protocol):
    """Sends, updates and deletes activities in a conversation.

    ``reference`` is the conversation of the turn: its ``serviceUrl`` is where the Connector
    is (to be checked against the allow-list before any token is asked for) and its
    ``conversation.id`` names the conversation. Each activity is already addressed (channel,
    conversation, from, recipient); one with a ``replyToId`` is a reply to that activity.
    ``reference`` may be the turn's own object: a sender reads it and never changes it (one
    that keeps it copies it, as :class:`~bot.turn.memory_sender.InMemorySender` does).
    """

    async def send_activities(
        self, reference: ConversationReference, activities: Sequence[Activity]
    ) -> list[ResourceResponse]:
        """Send the activities in order; one response per activity, in the same order."""
        ...

    async def update_activity(
        self, reference: ConversationReference, activity: Activity
    ) -> ResourceResponse:
        """Replace the activity whose id is ``activity.id`` with ``activity``."""
        ...

    async def delete_activity(self, reference: ConversationReference, activity_id: str) -> None:
        """Delete the activity ``activity_id`` from the conversation."""
        ...
