"""Running dialogs for a bot: one call per turn.

    dialogs = DialogManager(
        main_dialog, dialogs=[ConfirmPrompt()], interruptions=[CancelInterruption()]
    )

    class MyBot(ActivityHandler):
        async def on_message_activity(self, context: TurnContext) -> None:
            await dialogs.run(context)

Each turn, interruptions look at the message first (only while a dialog is active); then the
active dialog continues; when no dialog is active, the main dialog begins with the turn.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from bot.dialogs.context import DialogContext
from bot.dialogs.dialog import Dialog, DialogTurnResult, DialogTurnStatus
from bot.dialogs.dialog_set import DialogSet
from bot.dialogs.stack import DIALOG_STACK, DialogStack
from bot.state import StateProperty
from bot.turn import TurnContext


class Interruption(Protocol):
    """Something the user can say at any point of a dialog ("cancel", "help")."""

    @property
    def dialogs(self) -> Sequence[Dialog]:
        """The dialogs the interruption begins."""
        ...

    async def interrupt(self, dc: DialogContext) -> DialogTurnResult | None:
        """Handle the turn and return its outcome, or ``None`` to let the dialogs have it."""
        ...


class DialogManager:
    """Runs a main dialog, with interruptions, over the dialog stack in bot state.

    Args:
        main: Begun whenever a turn finds no active dialog.
        dialogs: Other dialogs the main dialog begins (prompts...); dependencies of dialogs
            are added automatically.
        interruptions: Checked in order at the start of each turn with an active dialog.
        stack: The state property holding the stack (conversation state by default).
        main_options: What the main dialog is begun with.
    """

    def __init__(
        self,
        main: Dialog,
        *,
        dialogs: Iterable[Dialog] = (),
        interruptions: Iterable[Interruption] = (),
        stack: StateProperty[DialogStack] = DIALOG_STACK,
        main_options: Any = None,
    ) -> None:
        self.main = main
        self.interruptions = tuple(interruptions)
        self.dialogs = DialogSet([main, *dialogs])
        for interruption in self.interruptions:
            for dialog in interruption.dialogs:
                self.dialogs.add(dialog)
        self._stack = stack
        self._main_options = main_options

    async def create_context(self, context: TurnContext) -> DialogContext:
        """The turn's dialog context, for bots that drive the stack themselves."""
        return await self.dialogs.create_context(context, stack=self._stack)

    async def run(self, context: TurnContext) -> DialogTurnResult:
        """Take the turn: interruptions, then the active dialog, else the main dialog."""
        dc = await self.create_context(context)
        if dc.stack:
            for interruption in self.interruptions:
                outcome = await interruption.interrupt(dc)
                if outcome is not None:
                    return outcome
        result = await dc.continue_dialog()
        if result.status is DialogTurnStatus.EMPTY:
            result = await dc.begin_dialog(self.main.id, self._main_options)
        return result
