"""Builders shared by the turn tests: an incoming activity and its parties."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.schema import Activity

SERVICE_URL = "https://smba.trafficmanager.net/emea/"
BOT_ID = "28:bot"
USER_ID = "29:user"

ActivityFactory = Callable[..., Activity]


def build_activity(**overrides: Any) -> Activity:
    """An incoming Teams message; keyword arguments (wire names) replace its fields."""
    fields: dict[str, Any] = {
        "type": "message",
        "id": "incoming-1",
        "channelId": "msteams",
        "serviceUrl": SERVICE_URL,
        "from": {"id": USER_ID, "name": "Megan"},
        "recipient": {"id": BOT_ID, "name": "Bot"},
        "conversation": {"id": "a:conv", "tenantId": "tenant-1"},
        "locale": "en-US",
        "text": "hello",
    }
    fields.update(overrides)
    return Activity.model_validate(fields)
