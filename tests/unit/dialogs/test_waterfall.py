"""Waterfalls: steps, values and options across turns, next/prompt/begin/end/replace."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from bot.dialogs import (
    ConfirmPrompt,
    DialogTurnStatus,
    NumberPrompt,
    StepAction,
    TextPrompt,
    Waterfall,
    WaterfallStep,
)
from tests.unit.dialogs.conversation import Conversation


class Order(BaseModel):
    item: str
    quantity: int = 1


async def ask_name(step: WaterfallStep) -> StepAction:
    return step.prompt("text", "Your name?")


async def ask_age(step: WaterfallStep) -> StepAction:
    step.values["name"] = step.result
    return step.prompt("age", f"How old are you, {step.result}?")


async def confirm(step: WaterfallStep) -> StepAction:
    step.values["age"] = step.result
    return step.prompt("confirm", f"{step.values['name']}, {step.result}: right?")


async def finish(step: WaterfallStep) -> StepAction:
    if not step.result:
        await step.send("Let's start over.")
        return step.replace()
    await step.send("Saved.")
    return step.end(dict(step.values))


def profile() -> Waterfall:
    return Waterfall("profile", [ask_name, ask_age, confirm, finish])


def profile_dialogs() -> list[Any]:
    return [TextPrompt(), NumberPrompt("age", int), ConfirmPrompt()]


async def test_steps_run_in_order_across_turns_with_values_kept() -> None:
    talk = Conversation(profile, dialogs=profile_dialogs)

    assert await talk.say("hi") == ["Your name?"]
    assert await talk.say("Ada") == ["How old are you, Ada?"]
    assert await talk.say("36") == ["Ada, 36: right?"]
    assert await talk.say("yes") == ["Saved."]
    assert talk.last.status is DialogTurnStatus.COMPLETE
    assert talk.last.result == {"name": "Ada", "age": 36}


async def test_replace_loops_with_fresh_values() -> None:
    talk = Conversation(profile, dialogs=profile_dialogs)
    for text in ("hi", "Ada", "36"):
        await talk.say(text)

    assert await talk.say("no") == ["Let's start over.", "Your name?"]
    await talk.say("Grace")
    await talk.say("40")
    await talk.say("yes")

    assert talk.last.result == {"name": "Grace", "age": 40}


async def test_next_runs_the_following_step_in_the_same_turn() -> None:
    async def first(step: WaterfallStep) -> StepAction:
        await step.send("one")
        return step.next(2)

    async def second(step: WaterfallStep) -> StepAction:
        await step.send(f"two got {step.result}")
        return step.next(3)

    async def third(step: WaterfallStep) -> StepAction:
        return step.next(step.result * 10)

    talk = Conversation(lambda: Waterfall("w", [first, second, third]))

    assert await talk.say("go") == ["one", "two got 2"]
    assert talk.last.result == 30  # falling off the end ends with the last result


async def test_options_are_json_in_every_turn_and_results_go_to_the_parent() -> None:
    async def begin_child(step: WaterfallStep) -> StepAction:
        return step.begin("order", Order(item="tea", quantity=2))

    async def report(step: WaterfallStep) -> StepAction:
        await step.send(f"child said {step.result}")
        return step.end()

    seen: list[Any] = []

    async def child_first(step: WaterfallStep) -> StepAction:
        seen.append(step.options)
        return step.prompt("text", "Anything else?")

    async def child_second(step: WaterfallStep) -> StepAction:
        seen.append(step.options)
        return step.end(f"{step.options['quantity']} {step.options['item']} and {step.result}")

    talk = Conversation(
        lambda: Waterfall("parent", [begin_child, report]),
        dialogs=lambda: [Waterfall("order", [child_first, child_second]), TextPrompt()],
    )

    assert await talk.say("order") == ["Anything else?"]
    assert await talk.say("cake") == ["child said 2 tea and cake"]
    assert seen == [{"item": "tea", "quantity": 2}] * 2


async def test_children_that_end_at_once_resume_the_waterfall_in_the_same_turn() -> None:
    from bot.dialogs import Dialog, DialogContext, DialogTurnResult

    class Immediate(Dialog):
        """Ends as soon as it begins."""

        async def begin_dialog(self, dc: DialogContext, options: Any = None) -> DialogTurnResult:
            return await dc.end_dialog("immediate")

    async def first(step: WaterfallStep) -> StepAction:
        return step.begin("immediate")

    async def second(step: WaterfallStep) -> StepAction:
        await step.send(f"second got {step.result}")
        return step.begin("again")

    talk = Conversation(
        lambda: Waterfall("w", [first, second]),
        dialogs=lambda: [Immediate("immediate"), Immediate("again")],
    )

    assert await talk.say("go") == ["second got immediate"]
    assert talk.last.result == "immediate"


async def test_cancel_all_from_a_step() -> None:
    async def first(step: WaterfallStep) -> StepAction:
        return step.cancel_all()

    talk = Conversation(lambda: Waterfall("w", [first]))
    await talk.say("go")

    assert talk.last.status is DialogTurnStatus.CANCELLED


async def test_a_step_must_return_an_action() -> None:
    async def forgot(step: WaterfallStep) -> StepAction:
        return None  # type: ignore[return-value]

    talk = Conversation(lambda: Waterfall("w", [forgot]))

    assert await talk.say("go") == ["Sorry, something went wrong."]


def test_a_waterfall_needs_steps() -> None:
    with pytest.raises(ValueError, match="no steps"):
        Waterfall("empty", [])
