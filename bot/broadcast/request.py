"""What a broadcast is asked to do: the body of ``POST /api/broadcasts``.

::

    {"audience": {"channelId": "msteams", "tenantId": "..."},        # every active conversation
                                                                      # of the tenant
     "audience": {"channelId": "msteams"},                            # ... of the channel
     "audience": {"channelId": "msteams", "users": ["29:1...", ...]}, # these users' personal
                                                                      # conversations
     "audience": {"channelId": "msteams", "tenantId": "...",          # only channels (or
                  "conversationTypes": ["channel"]},                  # personal, groupChat)
     "audience": {"channelId": "msteams", "tenantId": "...",          # these Entra users, 1:1
                  "aadObjectIds": ["6f1b...", ...]},                  # (chats started as needed)
     "audience": {"channelId": "msteams", "tenantId": "...",          # everyone in the team,
                  "teamId": "19:...@thread.tacv2"},                   # one to one
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
from typing import Annotated, Any, Literal, Self

from pydantic import (
    Field,
    model_validator,
)

from bot.broadcast.ids import OPERATION_ID_PATTERN
from bot.delivery import DeliveryMode
from bot.proactive.message import (
    MAX_ACTIVITIES,
    TEAMS_CHANNEL_ID,
    AadObjectId,
    ChannelText,
    SendableActivity,
    UtcTime,
    check_send_window,
)
from bot.request_model import RequestModel
from bot.schema import Activity

MAX_USERS = 10_000
"""Users one broadcast may list (they are kept in the operation's document)."""


ConversationType = Literal["personal", "groupChat", "channel"]
"""A Teams conversation type, as stored with each reference."""


class Audience(RequestModel):
    """Who a broadcast goes to.

    Without a list: every active stored conversation of the channel and/or tenant (at least
    one of the two), optionally only of some ``conversationTypes`` (a channel counts once,
    however many threads the bot was mentioned in). With ``users`` (and ``channelId``): each
    user's latest personal conversation on the channel; a user without one is counted
    ``failed`` (``ConversationNotFound``). With ``aadObjectIds`` or ``teamId`` (Teams, with
    ``tenantId``): each listed user, or each member of the team (read from the team's roster
    when the broadcast fans out), one to one, their chat started where missing.
    """

    channel_id: ChannelText | None = None
    tenant_id: ChannelText | None = None
    users: Annotated[list[ChannelText] | None, Field(min_length=1, max_length=MAX_USERS)] = None
    aad_object_ids: Annotated[
        list[AadObjectId] | None, Field(min_length=1, max_length=MAX_USERS)
    ] = None
    team_id: ChannelText | None = None
    conversation_types: Annotated[
        list[ConversationType] | None, Field(min_length=1, max_length=3)
    ] = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        lists = [
            name
            for name, value in (
                ("users", self.users),
                ("aadObjectIds", self.aad_object_ids),
                ("teamId", self.team_id),
            )
            if value is not None
        ]
        if len(lists) > 1:
            raise ValueError(f"give at most one of users, aadObjectIds, teamId (found: {lists})")
        if lists and self.conversation_types is not None:
            raise ValueError("conversationTypes: only for channel and tenant audiences")
        if self.users is not None:
            if self.channel_id is None:
                raise ValueError("users need the channelId they are users of")
            if self.tenant_id is not None:
                raise ValueError("tenantId does not apply to a list of users")
        elif lists:
            if self.tenant_id is None:
                raise ValueError(f"tenantId: required with {lists[0]}")
            if self.channel_id not in (None, TEAMS_CHANNEL_ID):
                raise ValueError(f"channelId: {lists[0]} is only supported on {TEAMS_CHANNEL_ID}")
        elif self.channel_id is None and self.tenant_id is None:
            raise ValueError("name a channelId, a tenantId or a list of users")
        return self

    def unique_users(self) -> list[str]:
        """The users (or object ids), each once, in the order given."""
        return list(dict.fromkeys(self.users or self.aad_object_ids or ()))

    def to_wire(self) -> dict[str, Any]:
        """The audience as a JSON object (users each once)."""
        wire = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        if self.users is not None:
            wire["users"] = self.unique_users()
        if self.aad_object_ids is not None:
            wire["aadObjectIds"] = self.unique_users()
        if self.aad_object_ids is not None or self.team_id is not None:
            wire["channelId"] = TEAMS_CHANNEL_ID
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
