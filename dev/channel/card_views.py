"""What a user's client shows of a card message, with the automatic refresh Teams runs.

Teams renders a message's Adaptive Card as sent, except for the users its ``refresh.userIds``
lists: for them the client sends the card's ``refresh.action`` (an ``Action.Execute``) as an
``adaptiveCard/action`` invoke with ``trigger`` ``automatic`` and shows the card the bot
answers. ``POST /_channel/view`` plays that for one user; this module holds the pure part:
which card a message shows now, and whether a user's view of it refreshes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dev.channel.recorder import RecordedRequest

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
SHOWING_OPERATIONS = ("sendToConversation", "replyToActivity", "updateActivity")


def shown_card(records: Iterable[RecordedRequest], activity_id: str) -> dict[str, Any] | None:
    """The Adaptive Card message ``activity_id`` shows now (its latest accepted send or
    update); ``None`` when it shows none or was deleted."""
    card: dict[str, Any] | None = None
    for record in records:
        if record.activity_id != activity_id or not record.accepted:
            continue
        if record.operation == "deleteActivity":
            card = None
        elif record.operation in SHOWING_OPERATIONS:
            card = _card_of(record.activity or {})
    return card


def refresh_invoke_value(card: Mapping[str, Any], user_id: str) -> dict[str, Any] | None:
    """The automatic invoke's ``value`` when ``user_id``'s view of ``card`` refreshes."""
    refresh = card.get("refresh")
    if not isinstance(refresh, Mapping):
        return None
    action, user_ids = refresh.get("action"), refresh.get("userIds")
    if not isinstance(action, Mapping) or action.get("type") != "Action.Execute":
        return None
    # Teams refreshes only for the users listed (at most 60); none listed means no one here.
    if not isinstance(user_ids, list) or user_id not in user_ids:
        return None
    return {"action": dict(action), "trigger": "automatic"}


def answered_card(body: Any) -> dict[str, Any] | None:
    """The card of an ``adaptiveCard/action`` invoke response, if it answered one."""
    if (
        isinstance(body, Mapping)
        and body.get("statusCode") == 200
        and body.get("type") == ADAPTIVE_CARD
        and isinstance(body.get("value"), dict)
    ):
        return dict(body["value"])
    return None


def _card_of(activity: Mapping[str, Any]) -> dict[str, Any] | None:
    for attachment in activity.get("attachments") or ():
        if isinstance(attachment, Mapping) and attachment.get("contentType") == ADAPTIVE_CARD:
            content = attachment.get("content")
            return dict(content) if isinstance(content, dict) else None
    return None
