"""Asks a yes/no question."""

from __future__ import annotations

from bot.dialogs.prompts.options import PromptOptions
from bot.dialogs.prompts.prompt import Prompt, Validator, answer_text
from bot.dialogs.words import words
from bot.turn import TurnContext

YES_PHRASES: frozenset[str] = frozenset(
    {
        "yes",
        "y",
        "yeah",
        "yea",
        "yep",
        "yup",
        "ya",
        "sure",
        "ok",
        "okay",
        "k",
        "of course",
        "absolutely",
        "definitely",
        "certainly",
        "correct",
        "right",
        "affirmative",
        "true",
        "go ahead",
        "do it",
        "please do",
        "sounds good",
    }
)
"""English phrases that mean yes (as :func:`~bot.dialogs.words.words`)."""

NO_PHRASES: frozenset[str] = frozenset(
    {
        "no",
        "n",
        "nope",
        "nah",
        "nay",
        "not really",
        "not now",
        "no thanks",
        "no thank you",
        "negative",
        "false",
        "don't",
        "do not",
        "no way",
        "not at all",
    }
)
"""English phrases that mean no."""

_EMOJI_YES = ("\U0001f44d", "\u2705", "\u2714")  # thumbs up, check marks
_EMOJI_NO = ("\U0001f44e", "\u274c", "\u2716")  # thumbs down, crosses


def find_confirmation(text: str) -> bool | None:
    """``True`` for yes, ``False`` for no, ``None`` when the text says neither (or both).

    A phrase counts when it is the whole answer or how the answer begins: ``"Yes!"``,
    ``"yes please"``, ``"no, keep it"``; but not ``"I guess not, or yes"`` or ``"nobody"``.
    """
    said = words(text)
    yes = _starts_with_phrase(said, YES_PHRASES)
    no = _starts_with_phrase(said, NO_PHRASES)
    if not said:
        yes = any(mark in text for mark in _EMOJI_YES)
        no = any(mark in text for mark in _EMOJI_NO)
    if yes == no:
        return None
    return yes


def _starts_with_phrase(said: tuple[str, ...], phrases: frozenset[str]) -> bool:
    return any(" ".join(said[:length]) in phrases for length in range(1, min(len(said), 3) + 1))


class ConfirmPrompt(Prompt[bool]):
    """Asks yes or no; the answer is ``True`` or ``False``.

    The question is sent as given (no "(yes/no)" is appended). English phrasings: yes,
    yeah, yep, sure, ok, of course... and no, nope, nah, no thanks, not now...; also 👍 / 👎.

    Args:
        dialog_id: The prompt's id.
        validator: Judges answers.
    """

    def __init__(
        self, dialog_id: str = "confirm", *, validator: Validator[bool] | None = None
    ) -> None:
        super().__init__(dialog_id, validator=validator)

    def recognize(self, context: TurnContext, options: PromptOptions) -> bool | None:
        """Yes, no, or not understood."""
        return find_confirmation(answer_text(context))
