"""Mistakes in how dialogs are put together."""

from __future__ import annotations


class DialogNotFoundError(KeyError):
    """A dialog was begun by an id that is not in the dialog set."""

    def __init__(self, dialog_id: str) -> None:
        super().__init__(dialog_id)
        self.dialog_id = dialog_id

    def __str__(self) -> str:
        return f"no dialog with id {self.dialog_id!r} in the dialog set"
