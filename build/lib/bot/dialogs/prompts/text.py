"""Asks for any text."""

from __future__ import annotations

from bot.dialogs.prompts.options import PromptOptions
from bot.dialogs.prompts.prompt import Prompt, Validator, answer_text
from bot.turn import TurnContext


class TextPrompt(Prompt[str]):
    """Asks for text: any message with text is an answer (without the bot's @mention,
    trimmed); a message without text (only an attachment) is not.

    Args:
        dialog_id: The prompt's id.
        validator: Judges answers (length, format...).
    """

    def __init__(self, dialog_id: str = "text", *, validator: Validator[str] | None = None) -> None:
        super().__init__(dialog_id, validator=validator)

    def recognize(self, context: TurnContext, options: PromptOptions) -> str | None:
        """The message's text; ``None`` when it has none."""
        return answer_text(context) or None
