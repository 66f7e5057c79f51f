"""The sample bot: welcomes new members, takes reminder commands, echoes the rest.

It is the bot ``/api/messages`` runs; replace it with your own :class:`ActivityHandler`.
"""

from __future__ import annotations

from bot.schedules.chat import handle_schedule_command
from bot.schema import ChannelAccount, remove_recipient_mention
from bot.turn import ActivityHandler, TurnContext

WELCOME_TEXT = "Welcome! Send me a message and I will echo it back."
ECHO_PREFIX = "You said: "
NO_TEXT_REPLY = "I can only echo text messages."


class EchoBot(ActivityHandler):
    """Welcomes members once per conversation update and echoes text messages."""

    async def on_members_added(self, context: TurnContext, members: list[ChannelAccount]) -> None:
        """Say welcome once, however many members joined at the same time."""
        del members
        await context.send_activity(WELCOME_TEXT)

    async def on_message_activity(self, context: TurnContext) -> None:
        """Reminder commands ("remind me every day at 8:30 to stretch"), else echo the text.

        The echo leaves out the @mention of the bot that channel messages carry.
        """
        if await handle_schedule_command(context):
            return
        text = remove_recipient_mention(context.activity)
        await context.send_activity(f"{ECHO_PREFIX}{text}" if text else NO_TEXT_REPLY)
