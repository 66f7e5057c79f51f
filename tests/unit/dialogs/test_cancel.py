"""The top-level "cancel": confirm, then clear the stack; "no" resumes where the user was."""

from __future__ import annotations

from bot.dialogs import (
    CancelInterruption,
    DialogTurnStatus,
    NumberPrompt,
    StepAction,
    TextPrompt,
    Waterfall,
    WaterfallStep,
)
from tests.unit.dialogs.conversation import Conversation

CONFIRM = "Do you want to cancel what we are doing?"


async def ask_name(step: WaterfallStep) -> StepAction:
    return step.prompt("text", "Your name?")


async def ask_age(step: WaterfallStep) -> StepAction:
    step.values["name"] = step.result
    return step.prompt("age", "Your age?", retry_prompt="A number, please.")


async def done(step: WaterfallStep) -> StepAction:
    await step.send(f"{step.values['name']} is {step.result}.")
    return step.end()


def conversation(**options: object) -> Conversation:
    return Conversation(
        lambda: Waterfall("profile", [ask_name, ask_age, done]),
        dialogs=lambda: [TextPrompt(), NumberPrompt("age", int)],
        interruptions=lambda: [CancelInterruption(**options)],  # type: ignore[arg-type]
    )


async def test_yes_clears_the_stack() -> None:
    talk = conversation()
    await talk.say("hi")
    await talk.say("Ada")

    assert await talk.say("Cancel!") == [CONFIRM]
    assert await talk.say("yes") == ["Cancelled."]
    assert talk.last.status is DialogTurnStatus.CANCELLED
    assert await talk.say("hi again") == ["Your name?"]  # a fresh start


async def test_no_resumes_where_the_user_was() -> None:
    talk = conversation()
    await talk.say("hi")
    await talk.say("Ada")

    assert await talk.say("cancel") == [CONFIRM]
    assert await talk.say("no") == ["Your age?"]  # asked again
    assert talk.last.status is DialogTurnStatus.WAITING
    assert await talk.say("36") == ["Ada is 36."]  # the values survived


async def test_an_unclear_answer_asks_again_and_cancel_does_not_nest() -> None:
    talk = conversation(resumed_text="OK, let's go on.")
    await talk.say("hi")

    assert await talk.say("quit") == [CONFIRM]
    assert await talk.say("hmm") == ["Please answer yes or no. " + CONFIRM]
    assert await talk.say("cancel") == ["Please answer yes or no. " + CONFIRM]
    assert await talk.say("nope") == ["OK, let's go on.", "Your name?"]


async def test_cancel_with_nothing_active_goes_to_the_dialogs() -> None:
    talk = conversation()

    assert await talk.say("cancel") == ["Your name?"]  # no dialog to cancel: the main begins


async def test_cancel_inside_a_sentence_is_an_answer() -> None:
    talk = conversation()
    await talk.say("hi")

    assert await talk.say("I want to cancel my order") == ["Your age?"]


async def test_custom_words_and_texts() -> None:
    talk = conversation(
        words=["stop"], confirm_text="Stop?", cancelled_text="Stopped.", dialog_id="stopper"
    )
    await talk.say("hi")

    assert await talk.say("cancel") == ["Your age?"]  # not a cancel word any more
    assert await talk.say("stop") == ["Stop?"]
    assert await talk.say("y") == ["Stopped."]
