"""A dialog set: the dialogs a bot can run, by id."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bot.dialogs.context import DialogContext
from bot.dialogs.dialog import Dialog
from bot.dialogs.stack import DIALOG_STACK, DialogStack
from bot.state import StateProperty, bot_state
from bot.turn import TurnContext


class DialogSet:
    """Dialogs by id. Adding a dialog adds its :attr:`~Dialog.dependencies` too.

    Args:
        dialogs: The dialogs.

    Raises:
        ValueError: Two different dialogs have the same id.
    """

    def __init__(self, dialogs: Iterable[Dialog] = ()) -> None:
        self._dialogs: dict[str, Dialog] = {}
        for dialog in dialogs:
            self.add(dialog)

    def add(self, dialog: Dialog) -> DialogSet:
        """Add a dialog and its dependencies; returns the set.

        Raises:
            ValueError: A different dialog already has its id.
        """
        existing = self._dialogs.get(dialog.id)
        if existing is dialog:
            return self
        if existing is not None:
            raise ValueError(f"two dialogs have the id {dialog.id!r}: {existing!r} and {dialog!r}")
        self._dialogs[dialog.id] = dialog
        for dependency in dialog.dependencies:
            self.add(dependency)
        return self

    def find(self, dialog_id: str) -> Dialog | None:
        """The dialog with this id, or ``None``."""
        return self._dialogs.get(dialog_id)

    def __contains__(self, dialog_id: object) -> bool:
        return dialog_id in self._dialogs

    def __iter__(self) -> Iterator[Dialog]:
        return iter(tuple(self._dialogs.values()))

    def __len__(self) -> int:
        return len(self._dialogs)

    async def create_context(
        self, context: TurnContext, *, stack: StateProperty[DialogStack] = DIALOG_STACK
    ) -> DialogContext:
        """The dialog context of a turn, over the stack kept in bot state.

        Args:
            context: The turn (with :class:`~bot.state.BotStateMiddleware` installed).
            stack: The state property that holds the stack.
        """
        dialog_stack = await bot_state(context).get(stack)
        return DialogContext(self, context, dialog_stack)
