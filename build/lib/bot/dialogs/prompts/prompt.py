"""The prompt dialog: ask, recognise the answer, validate it, ask again until it is good.

A prompt is begun with :class:`~bot.dialogs.prompts.options.PromptOptions` (a waterfall step
builds them with ``step.prompt(...)``), sends the question and waits. Each message is
recognised (text → value); a recognised value goes to the prompt's validator, if any. A good
answer ends the prompt with the value; otherwise the retry prompt is sent (or the validator's
own message) and the prompt waits again. Activities other than messages are ignored.

Validators are ``async def check(answer: PromptAnswer[T]) -> bool | str``: ``True`` accepts,
``False`` retries with the retry prompt, a string retries with that string as the message::

    async def adult(answer: PromptAnswer[int]) -> bool | str:
        return answer.value >= 18 or "You need to be 18 or over."

    NumberPrompt("age", int, validator=adult)
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.dialogs.context import DialogContext
from bot.dialogs.dialog import WAITING, Dialog, DialogInstance, DialogTurnResult
from bot.dialogs.prompts.options import PromptOptions
from bot.schema import Activity, ActivityTypes, remove_recipient_mention
from bot.turn import TurnContext

T = TypeVar("T")

_OPTIONS = "options"
_ATTEMPTS = "attempts"


@dataclass(frozen=True)
class PromptAnswer(Generic[T]):
    """A recognised answer, for a validator to judge.

    Attributes:
        context: The turn.
        value: The recognised value.
        attempt: Which answer this is (1 for the first).
        options: How the prompt asked.
    """

    context: TurnContext
    value: T
    attempt: int
    options: PromptOptions


Validator = Callable[[PromptAnswer[T]], Awaitable[bool | str]]
"""Accepts (``True``) or rejects (``False``, or the message to retry with) an answer."""


class Prompt(Dialog, Generic[T]):
    """Base of the prompts: subclasses say how text is recognised and how the question reads.

    Args:
        dialog_id: The prompt's id in the dialog set.
        validator: Judges recognised answers; every recognised answer is good when omitted.
    """

    def __init__(self, dialog_id: str, *, validator: Validator[T] | None = None) -> None:
        super().__init__(dialog_id)
        self.validator = validator

    @abstractmethod
    def recognize(self, context: TurnContext, options: PromptOptions) -> T | None:
        """The value the turn's message means, or ``None`` when it is not understood."""

    def render(self, options: PromptOptions, *, retry: bool) -> Activity | str:
        """The question (``retry``: the retry prompt, or the question again)."""
        if retry and options.retry_prompt is not None:
            return options.retry_prompt
        return options.prompt

    async def begin_dialog(self, dc: DialogContext, options: Any = None) -> DialogTurnResult:
        """Ask the question and wait.

        Args:
            dc: The dialog context.
            options: :class:`PromptOptions`, or their JSON, or just the question's text.
        """
        prompt_options = _prompt_options(options)
        instance = _instance(dc)
        instance.state = {
            _OPTIONS: prompt_options.model_dump(mode="json", by_alias=True, exclude_none=True),
            _ATTEMPTS: 0,
        }
        await dc.send(self.render(prompt_options, retry=False))
        return WAITING

    async def continue_dialog(self, dc: DialogContext) -> DialogTurnResult:
        """Judge the user's answer: end with its value, or ask again."""
        if dc.context.activity.type != ActivityTypes.MESSAGE:
            return WAITING
        instance = _instance(dc)
        options = PromptOptions.model_validate(instance.state.get(_OPTIONS, {}))
        attempt = int(instance.state.get(_ATTEMPTS, 0)) + 1
        instance.state[_ATTEMPTS] = attempt
        value = self.recognize(dc.context, options)
        verdict: bool | str = value is not None
        if value is not None and self.validator is not None:
            verdict = await self.validator(PromptAnswer(dc.context, value, attempt, options))
        if verdict is True:
            return await dc.end_dialog(value)
        if options.max_attempts is not None and attempt >= options.max_attempts:
            return await dc.end_dialog(None)
        await dc.send(verdict if isinstance(verdict, str) else self.render(options, retry=True))
        return WAITING

    async def resume_dialog(self, dc: DialogContext, result: Any) -> DialogTurnResult:
        """A dialog begun on top of the prompt ended: ask again, and wait."""
        await self.reprompt_dialog(dc)
        return WAITING

    async def reprompt_dialog(self, dc: DialogContext) -> None:
        """Ask the question again."""
        instance = _instance(dc)
        options = PromptOptions.model_validate(instance.state.get(_OPTIONS, {}))
        await dc.send(self.render(options, retry=False))


def answer_text(context: TurnContext) -> str:
    """The text of the turn's message, without the bot's @mention, trimmed ("" for none)."""
    return (remove_recipient_mention(context.activity) or "").strip()


def _prompt_options(options: Any) -> PromptOptions:
    if isinstance(options, PromptOptions):
        return options
    if isinstance(options, str | Activity):
        return PromptOptions(prompt=options)
    return PromptOptions.model_validate(options)


def _instance(dc: DialogContext) -> DialogInstance:
    instance = dc.active
    if instance is None:
        raise RuntimeError("a prompt was called with an empty dialog stack")
    return instance
