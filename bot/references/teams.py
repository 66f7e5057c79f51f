"""Where a Teams conversation sits: its team and channel, and a channel's threads.

In a Teams channel every thread is addressed as ``<channel id>;messageid=<root id>``, and the
bot hears each thread it is mentioned in under that id. Stored as they come, a channel would be
one "conversation" per thread, and a broadcast to every conversation would reply into every old
thread. So a channel is stored once, under its own id (the thread part removed): a send to the
channel starts a new thread, and a reply into a thread names it explicitly (``replyToId``,
docs/targets.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.schema.reference import ConversationReference

THREAD_MARKER = ";messageid="
"""What Teams appends to a channel's conversation id to name one thread of it."""


@dataclass(frozen=True)
class TeamsPlace:
    """The team and channel of a Teams conversation (from the activity's ``channelData``).

    Attributes:
        team_id: The team (``19:...@thread.tacv2``; also the id of its General channel).
        channel_id: The Teams channel, when the conversation is one.
    """

    team_id: str | None = None
    channel_id: str | None = None

    @classmethod
    def of(cls, channel_data: Any) -> TeamsPlace | None:
        """The place named by a Teams activity's ``channelData``; ``None`` when it names none."""
        if not isinstance(channel_data, Mapping):
            return None
        team = channel_data.get("team")
        channel = channel_data.get("channel")
        team_id = team.get("id") if isinstance(team, Mapping) else None
        channel_id = channel.get("id") if isinstance(channel, Mapping) else None
        if not isinstance(team_id, str) or not team_id:
            team_id = None
        if not isinstance(channel_id, str) or not channel_id:
            channel_id = None
        if team_id is None and channel_id is None:
            return None
        return cls(team_id, channel_id)


def channel_root(conversation_id: str) -> str:
    """A channel thread's conversation id without its thread part (others unchanged)."""
    return conversation_id.split(THREAD_MARKER, 1)[0]


def root_reference(reference: ConversationReference) -> ConversationReference:
    """The reference of the channel itself when ``reference`` names one of its threads
    (a Teams ``channel`` conversation; any other id is kept as it is)."""
    conversation = reference.conversation
    if (
        conversation is None
        or conversation.conversation_type != "channel"
        or not conversation.id
        or THREAD_MARKER not in conversation.id
    ):
        return reference
    root = reference.model_copy(deep=True)
    assert root.conversation is not None
    root.conversation.id = channel_root(conversation.id)
    return root
