"""The dialog context: one turn's view of the dialog stack, and the operations on it.

Operations return a :class:`~bot.dialogs.dialog.DialogTurnResult` and chain within the turn:
ending a dialog resumes its parent at once (which may begin another dialog, or end too), so a
whole cascade runs before the turn ends, and the stack is saved with the turn's state.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.dialogs.dialog import (
    WAITING,
    Dialog,
    DialogInstance,
    DialogReason,
    DialogTurnResult,
    DialogTurnStatus,
)
from bot.dialogs.errors import DialogNotFoundError
from bot.schema import Activity, ResourceResponse
from bot.state import BotState, bot_state
from bot.turn import TurnContext

if TYPE_CHECKING:
    from bot.dialogs.dialog_set import DialogSet

logger = logging.getLogger(__name__)

EMPTY = DialogTurnResult(DialogTurnStatus.EMPTY)
CANCELLED = DialogTurnResult(DialogTurnStatus.CANCELLED)


class DialogContext:
    """The dialog stack of one turn.

    Args:
        dialogs: The dialogs that can be begun.
        context: The turn.
        stack: The stack (bottom first); changed in place, so it is saved with the state.
    """

    def __init__(
        self, dialogs: DialogSet, context: TurnContext, stack: list[DialogInstance]
    ) -> None:
        self.dialogs = dialogs
        self.context = context
        self.stack = stack

    @property
    def state(self) -> BotState:
        """The turn's bot state."""
        return bot_state(self.context)

    @property
    def active(self) -> DialogInstance | None:
        """The instance on top of the stack: the dialog the user is talking to."""
        return self.stack[-1] if self.stack else None

    def find(self, dialog_id: str) -> Dialog:
        """The dialog with this id.

        Raises:
            DialogNotFoundError: There is none.
        """
        dialog = self.dialogs.find(dialog_id)
        if dialog is None:
            raise DialogNotFoundError(dialog_id)
        return dialog

    async def send(self, activity_or_text: Activity | str) -> ResourceResponse:
        """Send an activity or a text message in the turn."""
        return await self.context.send_activity(activity_or_text)

    async def begin_dialog(
        self, dialog_id: str, options: Any = None, *, interruption: bool = False
    ) -> DialogTurnResult:
        """Push a dialog onto the stack and begin it.

        Args:
            dialog_id: The dialog.
            options: What it is begun with (JSON-able: it may be kept on the stack).
            interruption: When it ends, the dialog below reprompts rather than resumes.

        Raises:
            DialogNotFoundError: No dialog has this id.
        """
        dialog = self.find(dialog_id)
        self.stack.append(DialogInstance(id=dialog_id, interruption=interruption))
        return await dialog.begin_dialog(self, options)

    async def continue_dialog(self) -> DialogTurnResult:
        """Give the turn to the active dialog; ``EMPTY`` when there is none.

        A stack naming a dialog this bot no longer has (it was renamed or removed in a new
        version) cannot go on: it is cleared, with a warning, and the turn sees ``EMPTY``.
        """
        instance = self.active
        if instance is None:
            return EMPTY
        dialog = self.dialogs.find(instance.id)
        if dialog is None:
            logger.warning(
                "the dialog stack names a dialog this bot does not have; the stack is cleared"
            )
            self.stack.clear()
            return EMPTY
        return await dialog.continue_dialog(self)

    async def end_dialog(self, result: Any = None) -> DialogTurnResult:
        """End the active dialog and resume its parent with ``result``.

        Returns:
            The parent's outcome, or ``COMPLETE`` with ``result`` when the stack is now empty.
            A dialog begun as an interruption does not hand its result down: the dialog below
            reprompts, and the turn is ``WAITING``.
        """
        if self.stack:
            instance = self.stack.pop()
            await self._on_end(instance, DialogReason.ENDED)
            parent = self.active
            if parent is not None:
                parent_dialog = self.dialogs.find(parent.id)
                if parent_dialog is None:
                    return await self.continue_dialog()  # clears the stale stack
                if instance.interruption:
                    await parent_dialog.reprompt_dialog(self)
                    return WAITING
                return await parent_dialog.resume_dialog(self, result)
        return DialogTurnResult(DialogTurnStatus.COMPLETE, result)

    async def replace_dialog(self, dialog_id: str, options: Any = None) -> DialogTurnResult:
        """End the active dialog and begin another in its place (its parent is not resumed).

        Replacing a dialog with itself is how a dialog loops.
        """
        interruption = False
        if self.stack:
            instance = self.stack.pop()
            interruption = instance.interruption
            await self._on_end(instance, DialogReason.REPLACED)
        return await self.begin_dialog(dialog_id, options, interruption=interruption)

    async def cancel_all_dialogs(self) -> DialogTurnResult:
        """Clear the stack, top first; ``CANCELLED``, or ``EMPTY`` when it was empty."""
        if not self.stack:
            return EMPTY
        while self.stack:
            await self._on_end(self.stack.pop(), DialogReason.CANCELLED)
        return CANCELLED

    async def reprompt_dialog(self) -> None:
        """Ask the active dialog to repeat its question."""
        instance = self.active
        if instance is not None:
            dialog = self.dialogs.find(instance.id)
            if dialog is not None:
                await dialog.reprompt_dialog(self)

    async def _on_end(self, instance: DialogInstance, reason: DialogReason) -> None:
        dialog = self.dialogs.find(instance.id)
        if dialog is not None:
            await dialog.on_end(self, instance, reason)
