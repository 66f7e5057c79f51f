"""The three scopes of bot state and the storage id each one has for a turn.

* user: a user on a channel, across all their conversations with the bot;
* conversation: a conversation (shared by everyone in it);
* private conversation: one user in one conversation.

Ids are :func:`bot.storage.keys.storage_id` HMACs of the channel, the tenant (conversations
only: two tenants' conversations never share state) and the ids, so a document id never holds a
raw user or conversation id.
"""

from __future__ import annotations

from enum import StrEnum

from bot.schema import Activity
from bot.state.errors import StateScopeUnavailableError
from bot.storage.keys import storage_id


class StateScope(StrEnum):
    """Whose state a property belongs to."""

    USER = "user"
    CONVERSATION = "conversation"
    PRIVATE_CONVERSATION = "privateConversation"


_KEY_KINDS: dict[StateScope, str] = {
    StateScope.USER: "user-state",
    StateScope.CONVERSATION: "conversation-state",
    StateScope.PRIVATE_CONVERSATION: "private-conversation-state",
}


def scope_id(scope: StateScope, activity: Activity, *, secret: bytes | None = None) -> str:
    """The storage id of a scope for the turn of ``activity``.

    Works for proactive turns too: their continuation activity carries the reference's
    conversation and user.

    Args:
        scope: The scope.
        activity: The turn's incoming activity.
        secret: The HMAC key; ``KEY_HASH_SECRET`` when omitted.

    Returns:
        ``v1-`` and 64 hex digits.

    Raises:
        StateScopeUnavailableError: The activity lacks the channel, conversation or user id
            the scope is keyed on.
    """
    channel_id = activity.channel_id
    if not channel_id:
        raise StateScopeUnavailableError(f"no {scope} state: the activity has no channelId")
    if scope is StateScope.USER:
        return storage_id(_KEY_KINDS[scope], channel_id, _user_id(scope, activity), secret=secret)
    conversation = activity.conversation
    if conversation is None or not conversation.id:
        raise StateScopeUnavailableError(f"no {scope} state: the activity has no conversation id")
    parts = [channel_id, conversation.tenant_id or "", conversation.id]
    if scope is StateScope.PRIVATE_CONVERSATION:
        parts.append(_user_id(scope, activity))
    return storage_id(_KEY_KINDS[scope], *parts, secret=secret)


def _user_id(scope: StateScope, activity: Activity) -> str:
    sender = activity.from_
    if sender is None or not sender.id:
        raise StateScopeUnavailableError(f"no {scope} state: the activity has no from.id")
    return sender.id
