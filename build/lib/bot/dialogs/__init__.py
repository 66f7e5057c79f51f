"""Dialogs: conversations that span turns, kept on a stack in conversation state.

* :class:`Dialog`: the base (begin, continue, resume with a child's result, end);
* :class:`Waterfall`: a list of async steps;
* prompts: :class:`TextPrompt`, :class:`NumberPrompt`, :class:`ConfirmPrompt`,
  :class:`ChoicePrompt`, with validators and retry prompts;
* :class:`DialogManager`: runs a main dialog each turn, with interruptions such as
  :class:`CancelInterruption`.

The stack lives in bot state (:mod:`bot.state`), so the adapter needs
:class:`~bot.state.BotStateMiddleware`.
"""

from bot.dialogs.cancel import CANCEL_WORDS, CancelInterruption
from bot.dialogs.choices import Choice, FoundChoice, find_choice, render_choices
from bot.dialogs.context import DialogContext
from bot.dialogs.dialog import (
    WAITING,
    Dialog,
    DialogInstance,
    DialogReason,
    DialogTurnResult,
    DialogTurnStatus,
)
from bot.dialogs.dialog_set import DialogSet
from bot.dialogs.errors import DialogNotFoundError
from bot.dialogs.manager import DialogManager, Interruption
from bot.dialogs.prompts import (
    ChoicePrompt,
    ConfirmPrompt,
    NumberPrompt,
    Prompt,
    PromptAnswer,
    PromptOptions,
    TextPrompt,
    Validator,
)
from bot.dialogs.stack import DIALOG_STACK, DialogStack
from bot.dialogs.waterfall import (
    Begin,
    CancelAll,
    End,
    Next,
    Replace,
    StepAction,
    StepFunction,
    Waterfall,
    WaterfallStep,
)

__all__ = [
    "CANCEL_WORDS",
    "DIALOG_STACK",
    "WAITING",
    "Begin",
    "CancelAll",
    "CancelInterruption",
    "Choice",
    "ChoicePrompt",
    "ConfirmPrompt",
    "Dialog",
    "DialogContext",
    "DialogInstance",
    "DialogManager",
    "DialogNotFoundError",
    "DialogReason",
    "DialogSet",
    "DialogStack",
    "DialogTurnResult",
    "DialogTurnStatus",
    "End",
    "FoundChoice",
    "Interruption",
    "Next",
    "NumberPrompt",
    "Prompt",
    "PromptAnswer",
    "PromptOptions",
    "Replace",
    "StepAction",
    "StepFunction",
    "TextPrompt",
    "Validator",
    "Waterfall",
    "WaterfallStep",
    "find_choice",
    "render_choices",
]
