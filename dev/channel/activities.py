"""Activities as the channel posts them to a bot, shaped like Teams'.

A user's first contact is a ``conversationUpdate`` with ``membersAdded`` [user, bot]; then
come ``message`` activities. Both carry the serviceUrl the bot must answer on, the tenant in
``conversation.tenantId`` and ``channelData.tenant.id``, and optionally the user's time zone
(``localTimezone`` and a ``clientInfo`` entity).
"""

from __future__ import annotations

import datetime
import itertools
import time
from typing import Any
from zoneinfo import ZoneInfo

from dev.channel.conversations import Conversation, Member

_activity_numbers = itertools.count(int(time.time() * 1000))


def new_activity_id() -> str:
    """A unique inbound activity id (Teams uses millisecond timestamps)."""
    return str(next(_activity_numbers))


def _timestamps(timezone: str | None) -> dict[str, str]:
    now = datetime.datetime.now(datetime.UTC)
    stamps = {"timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    if timezone:
        local = now.astimezone(ZoneInfo(timezone))
        stamps["localTimestamp"] = local.isoformat(timespec="milliseconds")
        stamps["localTimezone"] = timezone
    return stamps


def _base(
    activity_type: str,
    *,
    conversation: Conversation,
    sender: Member,
    recipient: Member,
    service_url: str,
    timezone: str | None,
    locale: str,
) -> dict[str, Any]:
    activity: dict[str, Any] = {
        "type": activity_type,
        "id": new_activity_id(),
        **_timestamps(timezone),
        "serviceUrl": service_url,
        "channelId": conversation.channel_id,
        "from": sender.channel_account(),
        "conversation": conversation.account(),
        "recipient": recipient.channel_account(),
        "locale": locale,
    }
    if conversation.channel_id == "msteams":
        activity["channelData"] = {"tenant": {"id": conversation.tenant_id}}
    if timezone:
        activity["entities"] = [
            {"type": "clientInfo", "locale": locale, "platform": "Web", "timezone": timezone}
        ]
    return activity


def conversation_update(
    conversation: Conversation,
    *,
    user: Member,
    bot: Member,
    service_url: str,
    timezone: str | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """The ``conversationUpdate`` that adds the user and the bot to a conversation."""
    activity = _base(
        "conversationUpdate",
        conversation=conversation,
        sender=user,
        recipient=bot,
        service_url=service_url,
        timezone=timezone,
        locale=locale,
    )
    activity["membersAdded"] = [user.channel_account(), bot.channel_account()]
    if conversation.channel_id == "msteams":
        activity["channelData"]["eventType"] = "conversationUpdate"
    return activity


def message(
    conversation: Conversation,
    *,
    user: Member,
    bot: Member,
    service_url: str,
    text: str,
    timezone: str | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """A plain-text ``message`` from the user to the bot."""
    activity = _base(
        "message",
        conversation=conversation,
        sender=user,
        recipient=bot,
        service_url=service_url,
        timezone=timezone,
        locale=locale,
    )
    activity.update({"text": text, "textFormat": "plain", "attachments": []})
    return activity


def as_invoke(event_activity: dict[str, Any], reply_to_id: str | None) -> dict[str, Any]:
    """An :func:`event` turned into the ``invoke`` of the same name (``adaptiveCard/action``
    when a card button is pressed), about the message ``reply_to_id`` (the card's)."""
    activity = {**event_activity, "type": "invoke"}
    if reply_to_id is not None:
        activity["replyToId"] = reply_to_id
    return activity


def event(
    conversation: Conversation,
    *,
    user: Member,
    bot: Member,
    service_url: str,
    name: str,
    value: Any = None,
    timezone: str | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """An ``event`` named ``name`` from the user's client (a device, a page) to the bot."""
    activity = _base(
        "event",
        conversation=conversation,
        sender=user,
        recipient=bot,
        service_url=service_url,
        timezone=timezone,
        locale=locale,
    )
    activity["name"] = name
    if value is not None:
        activity["value"] = value
    return activity
