"""Asks for a number."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from bot.dialogs.prompts.options import PromptOptions
from bot.dialogs.prompts.prompt import Prompt, Validator, answer_text
from bot.dialogs.words import words
from bot.turn import TurnContext

NumberT = TypeVar("NumberT", bound=float)  # int or float (int is accepted as float)

# 1,234.5 (thousands separators only in groups of three) or 1234.5 or .5, with a sign; not
# part of a word or of a longer number ("1,5" is not read as 1 and 5).
_NUMBER = re.compile(r"(?<![\w.,])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?!\w|[.,]\d)")
_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        (
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        )
    )
}


def find_number(text: str) -> Decimal | None:
    """The one number in a text (``"42"``, ``"about 1,500.5 km"``, ``"twelve"``).

    ``None`` when there is none, or more than one (``"3 or 4"`` is not an answer).
    """
    found = [
        match.group() for match in _NUMBER.finditer(text) if any(c.isdigit() for c in match.group())
    ]
    if len(found) == 1:
        try:
            return Decimal(found[0].replace(",", ""))
        except InvalidOperation:
            return None
    if found:
        return None
    named = [_NUMBER_WORDS[word] for word in words(text) if word in _NUMBER_WORDS]
    return Decimal(named[0]) if len(named) == 1 else None


class NumberPrompt(Prompt[NumberT]):
    """Asks for a number: an ``int`` (a decimal answer is not understood) or a ``float``.

    English only: digits with optional ``,`` thousands separators and ``.`` decimals, or the
    words zero to twenty.

    Args:
        dialog_id: The prompt's id.
        number_type: ``int`` or ``float``.
        validator: Judges answers (range...).
    """

    def __init__(
        self,
        dialog_id: str,
        number_type: type[NumberT],
        *,
        validator: Validator[NumberT] | None = None,
    ) -> None:
        super().__init__(dialog_id, validator=validator)
        if number_type not in (int, float):
            raise TypeError("a number prompt asks for an int or a float")
        self.number_type: type[NumberT] = number_type

    def recognize(self, context: TurnContext, options: PromptOptions) -> NumberT | None:
        """The number in the message; ``None`` when there is not exactly one."""
        number = find_number(answer_text(context))
        if number is None or not number.is_finite():
            return None
        if self.number_type is int:
            if number != number.to_integral_value():
                return None
            return self.number_type(int(number))
        return self.number_type(float(number))
