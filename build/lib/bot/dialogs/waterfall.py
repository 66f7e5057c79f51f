"""Waterfalls: a dialog made of a list of async steps, run one after another.

Each step receives a :class:`WaterfallStep` and returns what happens next::

    async def ask_name(step: WaterfallStep) -> StepAction:
        return step.prompt("text", "What is your name?")

    async def ask_age(step: WaterfallStep) -> StepAction:
        step.values["name"] = step.result
        return step.prompt("number", "How old are you?", retry_prompt="A number, please.")

    async def done(step: WaterfallStep) -> StepAction:
        await step.send(f"Thanks {step.values['name']}, {step.result}.")
        return step.end(step.result)

    profile = Waterfall("profile", [ask_name, ask_age, done])

A step returns :meth:`~WaterfallStep.next` (run the next step now), :meth:`~WaterfallStep.prompt`
or :meth:`~WaterfallStep.begin` (begin a child dialog; the next step runs with its result when
it ends, possibly turns later), :meth:`~WaterfallStep.end`, :meth:`~WaterfallStep.replace` (a
loop) or :meth:`~WaterfallStep.cancel_all`. Steps return these plain values rather than
awaiting them, so a step reads as a decision and is easy to test.

``values`` and ``options`` are kept on the dialog stack as JSON, across turns and restarts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python

from bot.dialogs.choices import Choice
from bot.dialogs.context import DialogContext
from bot.dialogs.dialog import WAITING, Dialog, DialogInstance, DialogTurnResult
from bot.dialogs.prompts.options import PromptOptions
from bot.schema import Activity, ActivityTypes, ResourceResponse
from bot.state import BotState
from bot.turn import TurnContext


@dataclass(frozen=True)
class Next:
    """Run the next step now, with ``result`` as its :attr:`WaterfallStep.result`."""

    result: Any = None


@dataclass(frozen=True)
class Begin:
    """Begin a child dialog; the next step runs with its result when it ends."""

    dialog_id: str
    options: Any = None


@dataclass(frozen=True)
class End:
    """End the waterfall with ``result``."""

    result: Any = None


@dataclass(frozen=True)
class Replace:
    """End the waterfall and begin ``dialog_id`` in its place (``None``: this waterfall)."""

    dialog_id: str | None = None
    options: Any = None


@dataclass(frozen=True)
class CancelAll:
    """Clear the whole dialog stack."""


StepAction = Next | Begin | End | Replace | CancelAll
"""What a step returns."""

StepFunction = Callable[["WaterfallStep"], Awaitable[StepAction]]
"""An ``async def step(step: WaterfallStep) -> StepAction``."""

_STEP = "step"
_VALUES = "values"
_OPTIONS = "options"


class WaterfallStep:
    """What a step knows, and how it says what happens next.

    Attributes:
        dc: The dialog context.
        index: The step's position (0 for the first).
        result: What the previous step passed on, or the result of the child it began.
    """

    def __init__(
        self, dc: DialogContext, instance: DialogInstance, index: int, result: Any
    ) -> None:
        self.dc = dc
        self.index = index
        self.result = result
        self._instance = instance

    @property
    def context(self) -> TurnContext:
        """The turn."""
        return self.dc.context

    @property
    def state(self) -> BotState:
        """The turn's bot state."""
        return self.dc.state

    @property
    def options(self) -> Any:
        """What the waterfall was begun with, as JSON (the same in every turn)."""
        return self._instance.state.get(_OPTIONS)

    @property
    def values(self) -> dict[str, Any]:
        """The waterfall's memory across steps and turns; keep JSON values in it."""
        values: dict[str, Any] = self._instance.state.setdefault(_VALUES, {})
        return values

    async def send(self, activity_or_text: Activity | str) -> ResourceResponse:
        """Send an activity or a text message."""
        return await self.dc.send(activity_or_text)

    def next(self, result: Any = None) -> Next:
        """Go on to the next step now."""
        return Next(result)

    def begin(self, dialog_id: str, options: Any = None) -> Begin:
        """Begin a child dialog; its result comes to the next step."""
        return Begin(dialog_id, options)

    def prompt(
        self,
        dialog_id: str,
        prompt: str | Activity,
        *,
        retry_prompt: str | Activity | None = None,
        choices: Sequence[str | Choice] = (),
        max_attempts: int | None = None,
    ) -> Begin:
        """Ask the user through a prompt dialog; the answer comes to the next step.

        Args:
            dialog_id: The prompt's id in the dialog set.
            prompt: The question.
            retry_prompt: Said after an answer that is not understood or not valid; the
                question again when omitted.
            choices: The options of a choice prompt.
            max_attempts: Give up after this many answers: the next step gets ``None``.
        """
        options = PromptOptions(
            prompt=prompt,
            retry_prompt=retry_prompt,
            choices=[Choice.of(choice) for choice in choices],
            max_attempts=max_attempts,
        )
        return Begin(dialog_id, options)

    def end(self, result: Any = None) -> End:
        """End the waterfall; ``result`` goes to the dialog that began it."""
        return End(result)

    def replace(self, dialog_id: str | None = None, options: Any = None) -> Replace:
        """End the waterfall and begin a dialog in its place: itself by default (a loop)."""
        return Replace(dialog_id, options)

    def cancel_all(self) -> CancelAll:
        """Clear the whole dialog stack (this waterfall and every dialog below it)."""
        return CancelAll()


class Waterfall(Dialog):
    """A dialog that runs its steps in order.

    Ending the last step without :meth:`WaterfallStep.end` ends the waterfall with the last
    result. While a child dialog is active the waterfall waits below it; a message that
    reaches the waterfall itself (no child active) is the next step's result, as text.

    Args:
        dialog_id: The dialog's id.
        steps: The steps.
        dependencies: Dialogs the steps begin, added to a dialog set with the waterfall.
    """

    def __init__(
        self,
        dialog_id: str,
        steps: Sequence[StepFunction],
        *,
        dependencies: Sequence[Dialog] = (),
    ) -> None:
        super().__init__(dialog_id)
        if not steps:
            raise ValueError(f"waterfall {dialog_id!r} has no steps")
        self.steps = tuple(steps)
        self._dependencies = tuple(dependencies)

    @property
    def dependencies(self) -> Sequence[Dialog]:
        """The dialogs given at construction."""
        return self._dependencies

    async def begin_dialog(self, dc: DialogContext, options: Any = None) -> DialogTurnResult:
        """Run the first step."""
        instance = _own_instance(dc, self)
        instance.state = {
            _STEP: 0,
            _VALUES: {},
            _OPTIONS: to_jsonable_python(options, by_alias=True),
        }
        return await self._run(dc, instance, 0, None)

    async def continue_dialog(self, dc: DialogContext) -> DialogTurnResult:
        """A message with no child active: the next step runs with its text."""
        activity = dc.context.activity
        if activity.type != ActivityTypes.MESSAGE:
            return WAITING
        instance = _own_instance(dc, self)
        return await self._run(dc, instance, _step_of(instance) + 1, activity.text)

    async def resume_dialog(self, dc: DialogContext, result: Any) -> DialogTurnResult:
        """The child ended: the next step runs with its result."""
        instance = _own_instance(dc, self)
        return await self._run(dc, instance, _step_of(instance) + 1, result)

    async def _run(
        self, dc: DialogContext, instance: DialogInstance, index: int, result: Any
    ) -> DialogTurnResult:
        # Steps that go straight on (next) run in this loop rather than by recursion.
        while index < len(self.steps):
            instance.state[_STEP] = index
            action = await self.steps[index](WaterfallStep(dc, instance, index, result))
            match action:
                case Next(result=next_result):
                    index, result = index + 1, next_result
                case Begin(dialog_id=dialog_id, options=options):
                    return await dc.begin_dialog(dialog_id, options)
                case End(result=end_result):
                    return await dc.end_dialog(end_result)
                case Replace(dialog_id=dialog_id, options=options):
                    return await dc.replace_dialog(dialog_id or self.id, options)
                case CancelAll():
                    return await dc.cancel_all_dialogs()
                case _:
                    raise TypeError(
                        f"step {index} of waterfall {self.id!r} returned {action!r}; a step "
                        "returns step.next(), step.prompt(), step.begin(), step.end(), "
                        "step.replace() or step.cancel_all()"
                    )
        return await dc.end_dialog(result)


def _own_instance(dc: DialogContext, dialog: Dialog) -> DialogInstance:
    instance = dc.active
    if instance is None or instance.id != dialog.id:
        raise RuntimeError(f"dialog {dialog.id!r} was called while not on top of the stack")
    return instance


def _step_of(instance: DialogInstance) -> int:
    step = instance.state.get(_STEP)
    return step if isinstance(step, int) else 0
