"""The reference documents and the decisions about them, free of I/O.

A conversation document::

    {"id": "v1-<hmac>", "kind": "conversation",
     "channelId", "conversationId", "tenantId", "userId", "userAadObjectId",
     "conversationType", "personal", "teamId", "teamsChannelId",
     "reference": {...wire ConversationReference, no activityId...},
     "claims": {"aud", "azp", "appid", "idtyp", "ver", "iss", "tid"},
     "active": true, "reason": null, "inactiveAt": null,
     "firstSeen", "lastSeen", "ttl"}

A user index document (``kind: "user"``) maps a channel's user to the document of their latest
personal conversation (``conversationKey``), so a send "to a user" is two point reads. There are
two per Teams user: one by the channel's user id, one by tenant and Entra object id.

Ordering rule: every change carries the time of the event behind it (``now``: when the turn was
received, or when the Connector refused a send). The stored state is the newest event's, not the
last writer's: a capture older than ``lastSeen`` changes nothing, an inactivation older than
``lastSeen`` changes nothing, and a capture revives an inactive reference only when it is newer
than ``inactiveAt``. So parallel turns of one conversation settle on the newest turn's reference
whatever order their writes reach the store in. Between two turns with equal times the last
writer wins; between a turn and an inactivation with equal times, the inactivation wins.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.references.records import (
    CONVERSATION_INDEX_KIND,
    CONVERSATION_KIND,
    USER_INDEX_KIND,
    CaptureOutcome,
    ReferenceKey,
    StoredReference,
)
from bot.references.teams import TeamsPlace
from bot.schema.reference import ConversationReference
from bot.storage.system_properties import without_system_properties
from bot.storage.timestamps import from_timestamp, to_timestamp

PERSISTED_CLAIMS = ("aud", "azp", "appid", "idtyp", "ver", "iss", "tid")
"""The identity claims kept with a reference: enough to act as the same bot later, no more
(the Agents SDK keeps the same set)."""

InactivePlan = Literal["missing", "stale", "unchanged", "write"]


def filter_claims(claims: Mapping[str, object] | None) -> dict[str, str]:
    """The persisted claims: :data:`PERSISTED_CLAIMS` with string values, nothing else."""
    if not claims:
        return {}
    return {name: value for name in PERSISTED_CLAIMS if isinstance(value := claims.get(name), str)}


def reference_wire(reference: ConversationReference) -> dict[str, Any]:
    """The reference as stored: wire format without ``activityId``.

    A proactive message is not a reply; a stored activity id would make every later send a
    reply to an old message (``replyToId``), and would change on every turn.
    """
    wire = reference.to_wire()
    wire.pop("activityId", None)
    return wire


def is_personal(wire: Mapping[str, Any]) -> bool:
    """Whether a (wire) reference is a 1:1 conversation with its user.

    Teams says so in ``conversationType``; other channels only say ``isGroup``.
    """
    conversation = wire.get("conversation")
    if not isinstance(conversation, Mapping):
        return False
    conversation_type = conversation.get("conversationType")
    if conversation_type is not None:
        return bool(conversation_type == "personal")
    return conversation.get("isGroup") is not True


def fingerprint(wire: Mapping[str, Any], claims: Mapping[str, str]) -> str:
    """A digest of what is material in a reference and its claims.

    Everything in the reference counts (serviceUrl, bot, conversation and its tenant, locale,
    fields the channel added) except ``activityId``, and except the user of a group
    conversation: there the user is just whoever spoke last, and counting it would rewrite the
    document on every turn of a busy group.
    """
    view = {key: value for key, value in wire.items() if key != "activityId"}
    if not is_personal(wire):
        view.pop("user", None)
    text = json.dumps(
        {"reference": view, "claims": dict(claims)},
        sort_keys=True,
        ensure_ascii=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def stored_fingerprint(document: Mapping[str, Any]) -> str:
    """The :func:`fingerprint` of what a conversation document holds."""
    stored = document.get("reference")
    claims = document.get("claims")
    return fingerprint(
        stored if isinstance(stored, Mapping) else {},
        claims if isinstance(claims, Mapping) else {},
    )


def plan_capture(
    existing: Mapping[str, Any] | None,
    new_fingerprint: str,
    now: datetime,
    refresh_interval: timedelta,
    place: TeamsPlace | None = None,
) -> CaptureOutcome:
    """Decide what a capture at ``now`` does to the stored document.

    Returns:
        ``CREATED``, ``UPDATED``, ``REFRESHED`` or ``REVIVED`` when it must write; ``UNCHANGED``
        or ``STALE`` when it must not.
    """
    if existing is None:
        return CaptureOutcome.CREATED
    last_seen = from_timestamp(existing["lastSeen"])
    if now < last_seen:
        return CaptureOutcome.STALE
    if existing.get("active") is False:
        inactive_at = existing.get("inactiveAt")
        if inactive_at is not None and now <= from_timestamp(inactive_at):
            return CaptureOutcome.STALE
        return CaptureOutcome.REVIVED
    if stored_fingerprint(existing) != new_fingerprint or _moved(existing, place):
        return CaptureOutcome.UPDATED
    if now - last_seen >= refresh_interval:
        return CaptureOutcome.REFRESHED
    return CaptureOutcome.UNCHANGED


def _moved(existing: Mapping[str, Any], place: TeamsPlace | None) -> bool:
    """Whether a capture names a team or channel the document does not hold yet."""
    if place is None:
        return False
    return bool(
        (place.team_id and place.team_id != existing.get("teamId"))
        or (place.channel_id and place.channel_id != existing.get("teamsChannelId"))
    )


def captured_document(
    existing: Mapping[str, Any] | None,
    key: ReferenceKey,
    wire: Mapping[str, Any],
    claims: Mapping[str, str],
    now: datetime,
    ttl_seconds: int,
    place: TeamsPlace | None = None,
) -> dict[str, Any]:
    """The conversation document after a capture at ``now`` (active, ``lastSeen = now``).

    Fields other code added to the document are kept, and so are the team and channel when
    this capture does not name them.
    """
    document = _body(existing)
    user = wire.get("user")
    user_fields = user if isinstance(user, Mapping) else {}
    conversation = wire.get("conversation")
    conversation_fields = conversation if isinstance(conversation, Mapping) else {}
    stamp = to_timestamp(now)
    document.update(
        {
            "id": key.id,
            "kind": CONVERSATION_KIND,
            "channelId": key.channel_id,
            "conversationId": key.conversation_id,
            "tenantId": key.tenant_id,
            "userId": user_fields.get("id"),
            "userAadObjectId": user_fields.get("aadObjectId"),
            "conversationType": conversation_fields.get("conversationType"),
            "personal": is_personal(wire),
            "teamId": (place.team_id if place else None) or document.get("teamId"),
            "teamsChannelId": (place.channel_id if place else None)
            or document.get("teamsChannelId"),
            "reference": dict(wire),
            "claims": dict(claims),
            "active": True,
            "reason": None,
            "inactiveAt": None,
            "firstSeen": document.get("firstSeen") or stamp,
            "lastSeen": stamp,
            "ttl": ttl_seconds,
        }
    )
    return document


def plan_inactive(existing: Mapping[str, Any] | None, reason: str, now: datetime) -> InactivePlan:
    """Decide what marking a conversation inactive at ``now`` for ``reason`` does."""
    if existing is None:
        return "missing"
    if now < from_timestamp(existing["lastSeen"]):
        # The conversation spoke after the event that would retire it (a re-install, a new
        # message): the newer event wins.
        return "stale"
    if existing.get("active") is False and existing.get("reason") == reason:
        return "unchanged"
    return "write"


def inactive_document(existing: Mapping[str, Any], reason: str, now: datetime) -> dict[str, Any]:
    """The conversation document marked inactive at ``now`` for ``reason``.

    ``ttl`` is left as it is: an inactive reference expires on the clock of its last activity.
    """
    document = _body(existing)
    document.update({"active": False, "reason": reason, "inactiveAt": to_timestamp(now)})
    return document


def revivable(existing: Mapping[str, Any], reasons: frozenset[str], now: datetime) -> bool:
    """Whether an event at ``now`` revives a conversation: only one retired for one of
    ``reasons``, and not after ``now``."""
    inactive_at = existing.get("inactiveAt")
    return (
        existing.get("active") is False
        and existing.get("reason") in reasons
        and (inactive_at is None or from_timestamp(inactive_at) <= now)
    )


def revived_document(existing: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The conversation document made active again at ``now`` (a team restored or unarchived).

    ``lastSeen`` moves to ``now`` so an older retirement arriving late changes nothing.
    """
    document = _body(existing)
    document.update(
        {"active": True, "reason": None, "inactiveAt": None, "lastSeen": to_timestamp(now)}
    )
    return document


def plan_user_index(existing: Mapping[str, Any] | None, conversation: Mapping[str, Any]) -> bool:
    """Whether the user index must be written to point at ``conversation`` (a personal one).

    It points at the user's personal conversation seen last; a capture older than what the
    index already names leaves it alone.
    """
    if existing is None:
        return True
    indexed_seen = from_timestamp(existing["lastSeen"])
    conversation_seen = from_timestamp(conversation["lastSeen"])
    if existing.get("conversationKey") == conversation["id"]:
        return conversation_seen > indexed_seen
    return conversation_seen >= indexed_seen


def plan_conversation_index(
    existing: Mapping[str, Any] | None, conversation: Mapping[str, Any]
) -> bool:
    """Whether the conversation index must be written: it does not name ``conversation``'s
    document yet, or it would expire before it (its ``ttl`` counts from its last write)."""
    if existing is None:
        return True
    if conversation["id"] not in (existing.get("conversationKeys") or []):
        return True
    return bool(existing.get("lastSeen", "") < conversation["lastSeen"])


def conversation_index_document(
    existing: Mapping[str, Any] | None, index_id: str, conversation: Mapping[str, Any]
) -> dict[str, Any]:
    """The conversation index document naming ``conversation``'s document among the others
    (one per tenant with this conversation id)."""
    document = _body(existing)
    keys = [k for k in (existing or {}).get("conversationKeys") or [] if k != conversation["id"]]
    document.update(
        {
            "id": index_id,
            "kind": CONVERSATION_INDEX_KIND,
            "channelId": conversation["channelId"],
            "conversationKeys": [*keys, conversation["id"]],
            "lastSeen": max(str((existing or {}).get("lastSeen", "")), conversation["lastSeen"]),
            "ttl": conversation["ttl"],
        }
    )
    return document


def user_index_document(
    existing: Mapping[str, Any] | None, index_id: str, conversation: Mapping[str, Any]
) -> dict[str, Any]:
    """The user index document pointing at a personal ``conversation`` document."""
    document = _body(existing)
    document.update(
        {
            "id": index_id,
            "kind": USER_INDEX_KIND,
            "channelId": conversation["channelId"],
            "userId": conversation["userId"],
            "aadObjectId": conversation.get("userAadObjectId"),
            "conversationKey": conversation["id"],
            "conversationId": conversation["conversationId"],
            "tenantId": conversation.get("tenantId"),
            "lastSeen": conversation["lastSeen"],
            "ttl": conversation["ttl"],
        }
    )
    return document


def to_record(document: Mapping[str, Any]) -> StoredReference:
    """The typed view of a conversation document.

    Raises:
        ValueError: The document is not a conversation document.
    """
    if document.get("kind") != CONVERSATION_KIND:
        raise ValueError("not a conversation document")
    inactive_at = document.get("inactiveAt")
    claims = document.get("claims")
    return StoredReference(
        key=ReferenceKey(
            document["channelId"], document["conversationId"], document.get("tenantId")
        ),
        reference=ConversationReference.from_wire(document["reference"]),
        claims=dict(claims) if isinstance(claims, Mapping) else {},
        user_id=document.get("userId"),
        conversation_type=document.get("conversationType"),
        personal=bool(document.get("personal")),
        team_id=document.get("teamId"),
        active=document.get("active") is not False,
        reason=document.get("reason"),
        inactive_at=from_timestamp(inactive_at) if inactive_at else None,
        first_seen=from_timestamp(document["firstSeen"]),
        last_seen=from_timestamp(document["lastSeen"]),
        etag=str(document.get("_etag", "")),
    )


def _body(existing: Mapping[str, Any] | None) -> dict[str, Any]:
    if existing is None:
        return {}
    return without_system_properties(existing)
