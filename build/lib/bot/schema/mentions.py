"""@mentions: Teams and Slack put ``<at>Bot</at>`` in the text of channel messages."""

from __future__ import annotations

from bot.schema.activity import Activity

MENTION_ENTITY_TYPE = "mention"


def remove_recipient_mention(activity: Activity) -> str | None:
    """The activity's text without the mentions of its recipient (the bot), trimmed.

    In a Teams channel a user must @mention the bot, so its text reads
    ``<at>Bot</at> hello``; the mention entity says which part of the text names whom.

    Args:
        activity: An incoming message.

    Returns:
        The text without the bot's mentions, or ``None`` when the activity has no text.
    """
    text = activity.text
    if text is None:
        return None
    bot_id = activity.recipient.id if activity.recipient else None
    for entity in activity.entities or []:
        if entity.type != MENTION_ENTITY_TYPE:
            continue
        fields = entity.model_extra or {}
        mentioned = fields.get("mentioned")
        mention_text = fields.get("text")
        if (
            isinstance(mentioned, dict)
            and bot_id is not None
            and mentioned.get("id") == bot_id
            and isinstance(mention_text, str)
            and mention_text
        ):
            text = text.replace(mention_text, "")
    return text.strip()
