"""Asks the user to pick one of a list."""

from __future__ import annotations

from bot.dialogs.choices import FoundChoice, find_choice, render_choices
from bot.dialogs.prompts.options import PromptOptions
from bot.dialogs.prompts.prompt import Prompt, Validator, answer_text
from bot.schema import Activity
from bot.turn import TurnContext


class ChoicePrompt(Prompt[FoundChoice]):
    """Lists numbered choices under the question; the answer is the :class:`FoundChoice`.

    A text question (and a text retry prompt) is followed by the choices, one per line
    (``1. Red``); an activity question is sent as it is. Answers: the number, an ordinal,
    the text or a synonym, or words naming one choice only (see :mod:`bot.dialogs.choices`).

    Args:
        dialog_id: The prompt's id.
        validator: Judges answers.
    """

    def __init__(
        self, dialog_id: str = "choice", *, validator: Validator[FoundChoice] | None = None
    ) -> None:
        super().__init__(dialog_id, validator=validator)

    def render(self, options: PromptOptions, *, retry: bool) -> Activity | str:
        """The question with the numbered choices."""
        question = super().render(options, retry=retry)
        if isinstance(question, Activity):
            return question
        return render_choices(question, options.choices)

    def recognize(self, context: TurnContext, options: PromptOptions) -> FoundChoice | None:
        """The choice picked; ``None`` when none or several match."""
        return find_choice(answer_text(context), options.choices)
