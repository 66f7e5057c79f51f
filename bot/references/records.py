"""What the reference store hands out: keys, stored references, pages and outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.schema.reference import ConversationReference
from bot.storage.keys import storage_id

CONVERSATION_KIND = "conversation"
"""``kind`` of a conversation document (and the key kind of its id)."""

USER_INDEX_KIND = "user"
"""``kind`` of a user index document: a user's latest personal conversation."""

AAD_USER_INDEX_KIND = "user-aad"
"""Key kind of the index by Entra object id (same document shape, ``kind: "user"``)."""


class InactiveReason(StrEnum):
    """Why a stored reference may no longer be messaged.

    The first two come from inbound activities, the rest are the Connector's error codes
    (HTTP 403, or 404 for ``ConversationNotFound``) answering a proactive send. Any other
    string is accepted too.
    """

    UNINSTALLED = "Uninstalled"
    """``installationUpdate`` with ``action: remove``."""
    BOT_REMOVED = "BotRemoved"
    """``conversationUpdate`` whose ``membersRemoved`` names the bot."""
    TEAM_DELETED = "TeamDeleted"
    """``conversationUpdate`` ``teamDeleted``: every conversation of the team."""
    TEAM_ARCHIVED = "TeamArchived"
    """``conversationUpdate`` ``teamArchived``: every conversation of the team, until
    ``teamUnarchived``."""
    CHANNEL_DELETED = "ChannelDeleted"
    """``conversationUpdate`` ``channelDeleted``: the channel."""
    BOT_NOT_IN_CONVERSATION_ROSTER = "BotNotInConversationRoster"
    CONVERSATION_BLOCKED_BY_USER = "ConversationBlockedByUser"
    BOT_DISABLED_BY_ADMIN = "BotDisabledByAdmin"
    MESSAGE_WRITES_BLOCKED = "MessageWritesBlocked"
    CONVERSATION_NOT_FOUND = "ConversationNotFound"


class CaptureOutcome(StrEnum):
    """What :meth:`ReferenceStore.capture` did."""

    CREATED = "Created"
    """First sight of the conversation: the document was created."""
    UPDATED = "Updated"
    """A material field changed (serviceUrl, bot, conversation, tenant, user, locale, claims)."""
    REFRESHED = "Refreshed"
    """Nothing changed, but ``lastSeen`` was older than the refresh interval; ``ttl`` restarts."""
    REVIVED = "Revived"
    """The stored reference was inactive; an inbound activity newer than that made it active."""
    UNCHANGED = "Unchanged"
    """One point read, no write."""
    CACHED = "Cached"
    """Seen unchanged by this process moments ago: no read, no write."""
    STALE = "Stale"
    """The store already holds a newer state (a later capture or a later inactivation)."""

    @property
    def wrote(self) -> bool:
        """Whether the outcome wrote the conversation document."""
        return self in _WRITING_OUTCOMES


_WRITING_OUTCOMES = frozenset(
    {
        CaptureOutcome.CREATED,
        CaptureOutcome.UPDATED,
        CaptureOutcome.REFRESHED,
        CaptureOutcome.REVIVED,
    }
)


@dataclass(frozen=True)
class ReferenceKey:
    """The natural key of a conversation: channel, tenant (when the channel has one) and id.

    Two tenants' conversations never share a document, even with equal conversation ids.
    """

    channel_id: str
    conversation_id: str
    tenant_id: str | None = None

    def __post_init__(self) -> None:
        # "" and None are the same absent tenant; one spelling keeps one id.
        if self.tenant_id == "":
            object.__setattr__(self, "tenant_id", None)

    @property
    def id(self) -> str:
        """The document id: the HMAC of the canonical key (no raw id in it)."""
        return storage_id(
            CONVERSATION_KIND, self.channel_id, self.tenant_id or "", self.conversation_id
        )

    @classmethod
    def of(cls, reference: ConversationReference) -> ReferenceKey:
        """The key of a reference.

        Raises:
            ValueError: The reference lacks ``channelId`` or ``conversation.id``.
        """
        conversation = reference.conversation
        if not reference.channel_id or conversation is None or not conversation.id:
            raise ValueError("a conversation reference needs channelId and conversation.id")
        return cls(reference.channel_id, conversation.id, conversation.tenant_id)


def user_index_id(channel_id: str, user_id: str) -> str:
    """The id of the user index document of a channel's user."""
    return storage_id(USER_INDEX_KIND, channel_id, user_id)


def aad_user_index_id(channel_id: str, tenant_id: str, aad_object_id: str) -> str:
    """The id of the user index document of a tenant's user by Entra object id."""
    return storage_id(AAD_USER_INDEX_KIND, channel_id, tenant_id, aad_object_id.lower())


@dataclass(frozen=True)
class StoredReference:
    """A conversation reference as stored, with its liveness.

    A sender must refuse to message a reference whose :attr:`active` is false; :attr:`reason`
    says why (an :class:`InactiveReason` value).
    """

    key: ReferenceKey
    reference: ConversationReference
    """The reference, wire format, without ``activityId`` (a proactive message replies to
    nothing)."""
    claims: dict[str, str]
    """The caller's identity claims, only ``aud, azp, appid, idtyp, ver, iss, tid``."""
    user_id: str | None
    conversation_type: str | None
    personal: bool
    """A 1:1 conversation with :attr:`user_id` (Teams ``personal``, or not a group)."""
    team_id: str | None
    """The Teams team the conversation belongs to (a channel of it), when known."""
    active: bool
    reason: str | None
    inactive_at: datetime | None
    first_seen: datetime
    last_seen: datetime
    etag: str = field(repr=False)

    @property
    def id(self) -> str:
        """The document id."""
        return self.key.id

    @property
    def channel_id(self) -> str:
        """The channel of the conversation."""
        return self.key.channel_id

    @property
    def conversation_id(self) -> str:
        """The channel's id of the conversation."""
        return self.key.conversation_id

    @property
    def tenant_id(self) -> str | None:
        """The tenant of the conversation, where the channel has tenants (Teams)."""
        return self.key.tenant_id


@dataclass(frozen=True)
class ReferencePage:
    """One page of :meth:`ReferenceStore.list`.

    ``continuation`` is opaque; pass it back for the next page. ``None`` means the last page.
    """

    items: list[StoredReference]
    continuation: str | None


class AmbiguousReferenceError(LookupError):
    """A conversation id without a tenant matches stored references of several tenants."""

    def __init__(self, matches: list[StoredReference]) -> None:
        super().__init__(f"{len(matches)} stored references match the conversation id")
        self.matches = matches


class ReferenceConflictError(RuntimeError):
    """Concurrent writers kept changing a document for longer than the retry bound."""
