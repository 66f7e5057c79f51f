"""The dialog stack: begin, continue, resume with a child's result, end, replace, cancel."""

from __future__ import annotations

from typing import Any

import pytest

from bot.dialogs import (
    WAITING,
    Dialog,
    DialogContext,
    DialogInstance,
    DialogNotFoundError,
    DialogReason,
    DialogSet,
    DialogTurnResult,
    DialogTurnStatus,
)
from tests.unit.dialogs.conversation import Conversation

ENDINGS: list[tuple[str, DialogReason]] = []


class Collect(Dialog):
    """Collects messages until "done", then ends with them (state on the stack only)."""

    async def begin_dialog(self, dc: DialogContext, options: Any = None) -> DialogTurnResult:
        assert dc.active is not None
        dc.active.state["items"] = []
        await dc.send(f"{self.id}: go on ({options})")
        return WAITING

    async def continue_dialog(self, dc: DialogContext) -> DialogTurnResult:
        assert dc.active is not None
        text = dc.context.activity.text or ""
        if text == "done":
            return await dc.end_dialog(dc.active.state["items"])
        if text == "nest":
            return await dc.begin_dialog("inner", "nested")
        if text == "swap":
            return await dc.replace_dialog("inner", "swapped")
        if text == "stop":
            return await dc.cancel_all_dialogs()
        dc.active.state["items"].append(text)
        return WAITING

    async def resume_dialog(self, dc: DialogContext, result: Any) -> DialogTurnResult:
        assert dc.active is not None
        dc.active.state["items"].append(result)
        await dc.send(f"{self.id}: back with {result}")
        return WAITING

    async def on_end(
        self, dc: DialogContext, instance: DialogInstance, reason: DialogReason
    ) -> None:
        ENDINGS.append((instance.id, reason))


@pytest.fixture(autouse=True)
def clear_endings() -> None:
    ENDINGS.clear()


def conversation() -> Conversation:
    return Conversation(lambda: Collect("outer"), dialogs=lambda: [Collect("inner")])


async def test_the_main_dialog_begins_when_the_stack_is_empty() -> None:
    talk = conversation()

    assert await talk.say("hello") == ["outer: go on (None)"]
    assert talk.last.status is DialogTurnStatus.WAITING


async def test_continue_keeps_state_across_turns_and_end_completes() -> None:
    talk = conversation()
    await talk.say("hello")
    await talk.say("a")
    await talk.say("b")

    await talk.say("done")

    assert talk.last == DialogTurnResult(DialogTurnStatus.COMPLETE, ["a", "b"])
    assert ENDINGS == [("outer", DialogReason.ENDED)]
    assert await talk.say("again") == ["outer: go on (None)"]  # the stack was empty


async def test_a_child_resumes_its_parent_with_its_result() -> None:
    talk = conversation()
    await talk.say("hello")
    await talk.say("a")

    assert await talk.say("nest") == ["inner: go on (nested)"]
    await talk.say("x")
    assert await talk.say("done") == ["outer: back with ['x']"]
    await talk.say("done")

    assert talk.last.result == ["a", ["x"]]
    assert ENDINGS == [("inner", DialogReason.ENDED), ("outer", DialogReason.ENDED)]


async def test_replace_does_not_resume_the_parent() -> None:
    talk = conversation()
    await talk.say("hello")

    assert await talk.say("swap") == ["inner: go on (swapped)"]
    await talk.say("y")
    await talk.say("done")

    assert talk.last == DialogTurnResult(DialogTurnStatus.COMPLETE, ["y"])
    assert ENDINGS[0] == ("outer", DialogReason.REPLACED)


async def test_cancel_all_ends_every_dialog_top_first() -> None:
    talk = conversation()
    await talk.say("hello")
    await talk.say("nest")

    await talk.say("stop")

    assert talk.last.status is DialogTurnStatus.CANCELLED
    assert ENDINGS == [("inner", DialogReason.CANCELLED), ("outer", DialogReason.CANCELLED)]


async def test_a_stack_naming_a_removed_dialog_starts_over() -> None:
    inner_exists = True
    talk = Conversation(
        lambda: Collect("outer"), dialogs=lambda: [Collect("inner")] if inner_exists else []
    )
    await talk.say("hello")
    await talk.say("nest")

    inner_exists = False  # a new version of the bot, over the same stored stack

    assert await talk.say("anything") == ["outer: go on (None)"]


def test_a_dialog_set_refuses_two_dialogs_with_one_id() -> None:
    with pytest.raises(ValueError, match="two dialogs"):
        DialogSet([Collect("a"), Collect("a")])


def test_a_dialog_set_adds_dependencies() -> None:
    inner = Collect("inner")

    class WithChild(Collect):
        @property
        def dependencies(self) -> list[Dialog]:
            return [inner]

    dialogs = DialogSet([WithChild("outer")])

    assert "inner" in dialogs
    assert dialogs.find("inner") is inner
    assert len(dialogs) == 2


async def test_beginning_an_unknown_dialog_is_an_error() -> None:
    talk = Conversation(lambda: Collect("outer"))
    await talk.say("hello")

    # The turn fails, and the adapter apologises.
    assert await talk.say("nest") == ["Sorry, something went wrong."]
    assert str(DialogNotFoundError("inner")) == "no dialog with id 'inner' in the dialog set"
