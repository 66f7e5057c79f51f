"""Event activities as a user's client (a device, a web page) posts them, Teams-shaped."""

from __future__ import annotations

from typing import Any

from dev.channel import activities
from dev.channel.conversations import Conversation, Member


def event_activity(
    conversation: Conversation,
    *,
    user: Member,
    bot: Member,
    service_url: str,
    name: str,
    value: Any = None,
) -> dict[str, Any]:
    """An ``event`` named ``name`` from the user to the bot, addressed like their messages."""
    activity = activities.message(
        conversation, user=user, bot=bot, service_url=service_url, text=""
    )
    for message_only in ("text", "textFormat", "attachments"):
        activity.pop(message_only, None)
    activity.update({"type": "event", "name": name})
    if value is not None:
        activity["value"] = value
    return activity
