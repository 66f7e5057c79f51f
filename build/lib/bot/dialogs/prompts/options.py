"""What a prompt is begun with: the question, the retry, the choices."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from bot.dialogs.choices import Choice
from bot.schema import Activity


class PromptOptions(BaseModel):
    """How a prompt asks. Kept on the dialog stack (as JSON) while the prompt waits.

    Attributes:
        prompt: The question: a text or an activity (a card...).
        retry_prompt: Said after an answer that is not understood or not valid; the
            question again when omitted.
        choices: The options of a choice prompt, listed under the question.
        max_attempts: After this many answers that are not understood or not valid, the
            prompt gives up and ends with ``None``; never when omitted.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    prompt: str | Activity
    retry_prompt: str | Activity | None = None
    choices: list[Choice] = Field(default_factory=list)
    max_attempts: int | None = Field(default=None, ge=1)
