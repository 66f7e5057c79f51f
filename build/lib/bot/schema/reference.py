"""The address of a conversation, kept to message it later."""

from __future__ import annotations

from bot.schema.accounts import ChannelAccount, ConversationAccount
from bot.schema.wire_model import WireModel


class ConversationReference(WireModel):
    """Where a conversation lives: enough to send into it later (proactively).

    The wire name of the bot's account is ``bot`` (the Agents SDK calls it ``agent``; stored
    references use the Bot Framework name).
    """

    activity_id: str | None = None
    """The activity this reference was taken from; outgoing replies name it in ``replyToId``."""
    user: ChannelAccount | None = None
    bot: ChannelAccount | None = None
    conversation: ConversationAccount | None = None
    channel_id: str | None = None
    service_url: str | None = None
    """The Connector endpoint of the conversation; checked against the allow-list before use."""
    locale: str | None = None
