"""Choices offered to the user, and finding which one an answer means.

An answer picks a choice by its number in the list (``2``, ``#2``, ``number 2``), by an
ordinal (``second``, ``the last one``), by its text or a synonym (case, spacing and
punctuation ignored), or by words that name one choice and no other (``the red one`` when
only one choice says ``red``).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from bot.dialogs.words import normalized, words


class Choice(BaseModel):
    """One option.

    Attributes:
        value: What is shown and what the answer resolves to.
        synonyms: Other ways to say it.
    """

    value: str = Field(min_length=1)
    synonyms: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, choice: str | Choice) -> Choice:
        """A choice from its text, or the choice itself."""
        return choice if isinstance(choice, Choice) else cls(value=choice)


class FoundChoice(BaseModel):
    """The choice an answer picked.

    Attributes:
        value: The choice's value.
        index: Its position in the list, from 0.
    """

    value: str
    index: int


_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
    "5th": 5,
    "6th": 6,
    "7th": 7,
    "8th": 8,
    "9th": 9,
    "10th": 10,
}
_FILLER = frozenset({"the", "one", "number", "no", "option", "choice", "please", "i", "want"})


def render_choices(text: str, choices: Sequence[Choice]) -> str:
    """The question followed by the numbered choices, one per line."""
    lines = [text] if text else []
    lines.extend(f"{number}. {choice.value}" for number, choice in enumerate(choices, 1))
    return "\n".join(lines)


def find_choice(answer: str | None, choices: Sequence[Choice]) -> FoundChoice | None:
    """The choice ``answer`` picks, or ``None`` when it picks none or is ambiguous."""
    if not choices:
        return None
    said = normalized(answer)
    if not said:
        return None
    # The choice's own text first: a choice may itself be a number ("2 people").
    for index, choice in enumerate(choices):
        if said in {normalized(option) for option in (choice.value, *choice.synonyms)}:
            return FoundChoice(value=choice.value, index=index)
    position = _position(words(answer), len(choices))
    if position is not None:
        return FoundChoice(value=choices[position].value, index=position)
    return _by_words(set(words(answer)) - _FILLER, choices)


def _position(said: tuple[str, ...], count: int) -> int | None:
    meaningful = [word for word in said if word not in _FILLER]
    if len(meaningful) != 1:
        return None
    word = meaningful[0]
    if word == "last":
        return count - 1
    number = int(word) if word.isdigit() else _ORDINALS.get(word)
    if number is None or not 1 <= number <= count:
        return None
    return number - 1


def _by_words(said: set[str], choices: Sequence[Choice]) -> FoundChoice | None:
    if not said:
        return None
    named = [
        index
        for index, choice in enumerate(choices)
        if any(
            set(words(option)) and set(words(option)) <= said
            for option in (choice.value, *choice.synonyms)
        )
    ]
    if len(named) == 1:
        return FoundChoice(value=choices[named[0]].value, index=named[0])
    if named:
        return None
    # "blue" for "Dark blue": every word said belongs to one choice only.
    within = [
        index
        for index, choice in enumerate(choices)
        if any(said <= set(words(option)) for option in (choice.value, *choice.synonyms))
    ]
    if len(within) == 1:
        return FoundChoice(value=choices[within[0]].value, index=within[0])
    return None
