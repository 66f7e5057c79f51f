"""What a dialog is: something that begins, continues with each user turn, resumes with a
child's result, and ends.

A dialog object holds no per-conversation state: it is code, shared by every conversation.
What a conversation's dialog remembers lives in its :class:`DialogInstance` on the dialog
stack, which is kept in conversation state (JSON), so a conversation resumes on any host, after
any restart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from bot.dialogs.context import DialogContext


class DialogTurnStatus(StrEnum):
    """Where the dialog stack stands after a turn."""

    EMPTY = "empty"
    """No dialog was active (and none was begun)."""
    WAITING = "waiting"
    """A dialog is waiting for the user's next message."""
    COMPLETE = "complete"
    """The last dialog on the stack ended; the result is its result."""
    CANCELLED = "cancelled"
    """The stack was cleared."""


@dataclass(frozen=True)
class DialogTurnResult:
    """The outcome of a dialog operation.

    Attributes:
        status: Where the stack stands.
        result: The result of the dialog that completed (``COMPLETE`` only).
    """

    status: DialogTurnStatus
    result: Any = None


WAITING = DialogTurnResult(DialogTurnStatus.WAITING)
"""What a dialog returns when it waits for the user."""


class DialogReason(StrEnum):
    """Why a dialog ended (passed to :meth:`Dialog.on_end`)."""

    ENDED = "ended"
    """It ended itself (:meth:`DialogContext.end_dialog`)."""
    REPLACED = "replaced"
    """Another dialog took its place (:meth:`DialogContext.replace_dialog`)."""
    CANCELLED = "cancelled"
    """The stack was cleared (:meth:`DialogContext.cancel_all_dialogs`)."""


class DialogInstance(BaseModel):
    """One dialog on the stack: which dialog, and what it remembers.

    Attributes:
        id: The dialog's id in the dialog set.
        state: The dialog's own JSON state (a prompt's options and attempts, a waterfall's
            step and values).
        interruption: It was begun as an interruption: when it ends, the dialog below is
            asked to reprompt instead of being resumed with a result.
    """

    model_config = ConfigDict(extra="allow")

    id: str
    state: dict[str, Any] = Field(default_factory=dict)
    interruption: bool = False


class Dialog(ABC):
    """Base of every dialog.

    Subclasses implement :meth:`begin_dialog` and usually :meth:`continue_dialog`; each
    method returns what :class:`DialogContext` operations return (``return await
    dc.end_dialog(result)``, ``return WAITING``...).

    Args:
        dialog_id: The dialog's id; unique in its dialog set, and stored on the stack, so
            renaming a dialog orphans conversations that are in it.
    """

    def __init__(self, dialog_id: str) -> None:
        if not dialog_id:
            raise ValueError("a dialog needs an id")
        self.id = dialog_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r})"

    @property
    def dependencies(self) -> Sequence[Dialog]:
        """Dialogs this one begins, added to a dialog set along with it."""
        return ()

    @abstractmethod
    async def begin_dialog(self, dc: DialogContext, options: Any = None) -> DialogTurnResult:
        """Start: the dialog's instance is on top of the stack (``dc.active``)."""

    async def continue_dialog(self, dc: DialogContext) -> DialogTurnResult:
        """The user's next activity, while this dialog is on top. Ends it by default."""
        return await dc.end_dialog()

    async def resume_dialog(self, dc: DialogContext, result: Any) -> DialogTurnResult:
        """A child dialog this one began ended with ``result``. Ends it with it by default."""
        return await dc.end_dialog(result)

    async def reprompt_dialog(self, dc: DialogContext) -> None:  # noqa: B027 - optional hook
        """Ask the user again for what the dialog waits for (after an interruption)."""

    async def on_end(  # noqa: B027 - optional hook
        self, dc: DialogContext, instance: DialogInstance, reason: DialogReason
    ) -> None:
        """The dialog's instance left the stack; clean up what it started."""
