"""What a broadcast is asked to do: the body of ``POST /api/broadcasts``.

::

    {"audience": {"channelId": "msteams", "tenantId": "..."},        # every active conversation
                                                                      # of the tenant
     "audience": {"channelId": "msteams"},                            # ... of the channel
     "audience": {"channelId": "msteams", "users": ["29:1...", ...]}, # these users' personal
                                                                      # conversations
     "activities": [{"type": "message", "text": "..."}] | "activity": {...},
     "operationId"?: "release-2026-11",     # repeat-safe: the same id never sends twice
     "dryRun"?: false,                      # count the audience, send nothing
     "notBefore"?: "2026-11-22T09:00:00Z", "expiresAt"?: "2026-11-22T18:00:00Z"}

Unknown fields are refused, so a typo is a 400 rather than a broadcast to the wrong people.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Self

from pydantic import (
    Field,
    model_validator,
)

from bot.broadcast.ids import OPERATION_ID_PATTERN
from bot.delivery import DeliveryMode
from bot.proactive.message import (
    MAX_ACTIVITIES,
    ChannelText,
    SendableActivity,
    UtcTime,
    check_send_window,
)
from bot.request_model import RequestModel
from bot.schema import Activity

MAX_USERS = 10_000
"""Users one broadcast may list (they are kept in the operation's document)."""


class Audience(RequestModel):
    """Who a broadcast goes to.

    Without ``users``: every active stored conversation of the channel and/or tenant (at least
    one of the two). With ``users`` (and ``channelId``): each user's latest personal
    conversation on the channel; a user without one is counted ``failed``
    (``ConversationNotFound``).
    """

    channel_id: ChannelText | None = None
    tenant_id: ChannelText | None = None
    users: Annotated[list[ChannelText] | None, Field(min_length=1, max_length=MAX_USERS)] = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.users is not None:
            if self.channel_id is None:
                raise ValueError("users need the channelId they are users of")
            if self.tenant_id is not None:
                raise ValueError("tenantId does not apply to a list of users")
        elif self.channel_id is None and self.tenant_id is None:
            raise ValueError("name a channelId, a tenantId or a list of users")
        return self

    def unique_users(self) -> list[str]:
        """The users, each once, in the order given."""
        return list(dict.fromkeys(self.users or ()))

    def to_wire(self) -> dict[str, Any]:
        """The audience as a JSON object (users each once)."""
        wire = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        if self.users is not None:
            wire["users"] = self.unique_users()
        return wire


class BroadcastRequest(RequestModel):
    """The body of ``POST /api/broadcasts``."""

    audience: Audience
    activities: Annotated[
        list[SendableActivity] | None, Field(min_length=1, max_length=MAX_ACTIVITIES)
    ] = None
    activity: SendableActivity | None = None
    operation_id: Annotated[str | None, Field(pattern=OPERATION_ID_PATTERN)] = None
    dry_run: bool = False
    not_before: UtcTime | None = None
    expires_at: UtcTime | None = None
    delivery: DeliveryMode | None = None
    """Each recipient's message's ``delivery`` (docs/delivery.md); absent: ``atLeastOnce``."""

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.activities is None) == (self.activity is None):
            raise ValueError("give exactly one of activities (a list) and activity")
        check_send_window(self.not_before, self.expires_at)
        return self

    def activity_list(self) -> list[Activity]:
        """The activities each recipient gets, in order."""
        if self.activities is not None:
            return list(self.activities)
        return [self.activity] if self.activity is not None else []

    def payload_hash(self) -> str:
        """A digest of what is sent to whom, to tell a repeat from a reuse of the id."""
        document = {
            "audience": self.audience.to_wire(),
            "activities": [activity.to_wire() for activity in self.activity_list()],
            "notBefore": _text(self.not_before),
            "expiresAt": _text(self.expires_at),
        }
        text = json.dumps(document, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def _text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"
