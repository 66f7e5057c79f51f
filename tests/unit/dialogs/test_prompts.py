"""Prompts: recognising answers, validators, retry prompts, attempts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.dialogs import (
    Choice,
    ChoicePrompt,
    ConfirmPrompt,
    DialogTurnStatus,
    FoundChoice,
    NumberPrompt,
    PromptAnswer,
    StepAction,
    TextPrompt,
    Waterfall,
    WaterfallStep,
    find_choice,
)
from bot.dialogs.prompts import find_confirmation, find_number
from tests.unit.dialogs.conversation import Conversation


def ask(prompt_id: str, question: str, **options: object) -> Waterfall:
    """A waterfall that asks once and reports the answer's repr."""

    async def asking(step: WaterfallStep) -> StepAction:
        return step.prompt(prompt_id, question, **options)  # type: ignore[arg-type]

    async def reporting(step: WaterfallStep) -> StepAction:
        await step.send(f"got {step.result!r}")
        return step.end(step.result)

    return Waterfall("ask", [asking, reporting])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("Yes!", True),
        ("YEP", True),
        ("yeah sure", True),
        ("sure", True),
        ("ok", True),
        ("of course", True),
        ("yes please, reset it", True),
        ("\U0001f44d", True),
        ("no", False),
        ("No.", False),
        ("nope", False),
        ("nah", False),
        ("no thanks", False),
        ("not now", False),
        ("\U0001f44e", False),
        ("maybe", None),
        ("nobody", None),
        ("I guess not, or yes", None),
        ("", None),
        ("\U0001f44d\U0001f44e", None),
    ],
)
def test_confirm_phrasings(text: str, expected: bool | None) -> None:
    assert find_confirmation(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", Decimal(42)),
        ("I am 42.", Decimal(42)),
        ("-3", Decimal(-3)),
        ("1,500", Decimal(1500)),
        ("about 1,234.5 km", Decimal("1234.5")),
        (".5", Decimal("0.5")),
        ("twelve", Decimal(12)),
        ("3 or 4", None),
        ("1,5", None),
        ("room 12b", None),
        ("none", None),
    ],
)
def test_numbers_in_text(text: str, expected: Decimal | None) -> None:
    assert find_number(text) == expected


COLOURS = [Choice(value="Red"), Choice(value="Dark blue", synonyms=["navy"]), Choice(value="Green")]


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("2", 1),
        ("#3", 2),
        ("number 1", 0),
        ("second", 1),
        ("the last one", 2),
        ("red", 0),
        ("DARK BLUE!", 1),
        ("navy", 1),
        ("the green one", 2),
        ("blue", 1),
        ("4", None),
        ("purple", None),
        ("red or green", None),
        ("", None),
    ],
)
def test_choice_answers(text: str, index: int | None) -> None:
    found = find_choice(text, COLOURS)

    assert (found.index if found else None) == index


def test_a_choice_that_is_a_number_wins_over_positions() -> None:
    people = [Choice(value="2"), Choice(value="1")]

    assert find_choice("2", people) == FoundChoice(value="2", index=0)


async def test_text_prompt() -> None:
    talk = Conversation(lambda: ask("text", "Your name?"), dialogs=lambda: [TextPrompt()])

    assert await talk.say("hi") == ["Your name?"]
    waiting = talk.last
    assert await talk.say("  Ada  ") == ["got 'Ada'"]
    complete = talk.last

    assert waiting.status is DialogTurnStatus.WAITING
    assert complete.status is DialogTurnStatus.COMPLETE
    assert complete.result == "Ada"


async def test_number_prompt_retries_until_it_understands() -> None:
    talk = Conversation(
        lambda: ask("age", "How old are you?", retry_prompt="A number, please."),
        dialogs=lambda: [NumberPrompt("age", int)],
    )

    await talk.say("start")
    assert await talk.say("old enough") == ["A number, please."]
    assert await talk.say("2.5") == ["A number, please."]  # not an int
    assert await talk.say("I'm 36") == ["got 36"]


async def test_float_number_prompt() -> None:
    talk = Conversation(
        lambda: ask("amount", "How much?"), dialogs=lambda: [NumberPrompt("amount", float)]
    )

    await talk.say("start")
    assert await talk.say("nope") == ["How much?"]  # no retry prompt: the question again
    assert await talk.say("12.75") == ["got 12.75"]


async def test_validators_accept_reject_or_explain() -> None:
    async def adult(answer: PromptAnswer[int]) -> bool | str:
        if answer.value > 150:
            return False
        assert answer.attempt >= 1
        return answer.value >= 18 or f"{answer.value} is too young; you must be 18."

    talk = Conversation(
        lambda: ask("age", "Age?", retry_prompt="A real age, please."),
        dialogs=lambda: [NumberPrompt("age", int, validator=adult)],
    )

    await talk.say("start")
    assert await talk.say("12") == ["12 is too young; you must be 18."]
    assert await talk.say("200") == ["A real age, please."]
    assert await talk.say("nothing") == ["A real age, please."]  # not recognised: no validator
    assert await talk.say("30") == ["got 30"]


async def test_max_attempts_ends_the_prompt_with_none() -> None:
    talk = Conversation(
        lambda: ask("confirm", "Sure?", retry_prompt="Yes or no?", max_attempts=2),
        dialogs=lambda: [ConfirmPrompt()],
    )

    await talk.say("start")
    assert await talk.say("hmm") == ["Yes or no?"]
    assert await talk.say("hmm") == ["got None"]


async def test_confirm_prompt() -> None:
    talk = Conversation(
        lambda: ask("confirm", "Reset?", retry_prompt="Didn't get that!"),
        dialogs=lambda: [ConfirmPrompt()],
    )

    assert await talk.say("start") == ["Reset?"]
    assert await talk.say("perhaps") == ["Didn't get that!"]
    assert await talk.say("nope") == ["got False"]


async def test_choice_prompt_lists_and_matches() -> None:
    talk = Conversation(
        lambda: ask("choice", "Pick a colour", choices=["Red", "Green"], retry_prompt="Which?"),
        dialogs=lambda: [ChoicePrompt()],
    )

    assert await talk.say("start") == ["Pick a colour\n1. Red\n2. Green"]
    assert await talk.say("blue") == ["Which?\n1. Red\n2. Green"]
    assert await talk.say("2") == ["got FoundChoice(value='Green', index=1)"]


async def test_non_message_activities_do_not_count_as_answers() -> None:
    talk = Conversation(lambda: ask("text", "Name?"), dialogs=lambda: [TextPrompt()])
    await talk.say("start")
    channel = talk.channel
    before = len(channel.sender.sent)

    await channel.send_event("somethingHappened", {"x": 1})

    assert len(channel.sender.sent) == before
    assert await talk.say("Ada") == ["got 'Ada'"]


async def test_a_prompt_can_be_begun_with_just_its_question() -> None:
    async def asking(step: WaterfallStep) -> StepAction:
        return step.begin("text", "What now?")

    async def done(step: WaterfallStep) -> StepAction:
        return step.end(step.result)

    talk = Conversation(lambda: Waterfall("w", [asking, done]), dialogs=lambda: [TextPrompt()])

    assert await talk.say("go") == ["What now?"]
    await talk.say("this")
    assert talk.last.result == "this"


def test_number_prompts_are_for_int_or_float() -> None:
    with pytest.raises(TypeError):
        NumberPrompt("n", Decimal)  # type: ignore[type-var]
