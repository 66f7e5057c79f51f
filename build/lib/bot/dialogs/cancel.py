"""The top-level "cancel": the user can abandon whatever dialog they are in, after confirming.

While a dialog is active, a message that is only a cancel word ("cancel", "quit", "never
mind"...) begins a confirmation on top of it. "Yes" clears the dialog stack; "no" returns to
where the user was: the interrupted dialog asks its question again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.dialogs.context import DialogContext
from bot.dialogs.dialog import Dialog, DialogTurnResult
from bot.dialogs.prompts.confirm import ConfirmPrompt
from bot.dialogs.waterfall import StepAction, Waterfall, WaterfallStep
from bot.dialogs.words import normalized
from bot.schema import ActivityTypes

CANCEL_WORDS: tuple[str, ...] = ("cancel", "quit", "abort", "never mind", "nevermind")
"""What counts as "cancel" by default: the whole message, case and punctuation ignored."""

CONFIRM_TEXT = "Do you want to cancel what we are doing?"
RETRY_TEXT = "Please answer yes or no. Do you want to cancel what we are doing?"
CANCELLED_TEXT = "Cancelled."


class CancelInterruption:
    """Confirms, then cancels every active dialog.

    Args:
        words: The messages that mean cancel.
        confirm_text: The confirmation question.
        retry_text: Said when the answer is neither yes nor no.
        cancelled_text: Said after cancelling.
        resumed_text: Said after "no", before the interrupted dialog asks again; nothing
            when omitted.
        dialog_id: The id of the confirmation dialog (its prompt is ``<id>.confirm``).
    """

    def __init__(
        self,
        *,
        words: Iterable[str] = CANCEL_WORDS,
        confirm_text: str = CONFIRM_TEXT,
        retry_text: str = RETRY_TEXT,
        cancelled_text: str = CANCELLED_TEXT,
        resumed_text: str | None = None,
        dialog_id: str = "cancel",
    ) -> None:
        self._words = frozenset(normalized(word) for word in words)
        self._confirm_text = confirm_text
        self._retry_text = retry_text
        self._cancelled_text = cancelled_text
        self._resumed_text = resumed_text
        self._dialog_id = dialog_id
        self._prompt_id = f"{dialog_id}.confirm"
        self._dialogs: tuple[Dialog, ...] = (
            Waterfall(dialog_id, [self._ask, self._decide]),
            ConfirmPrompt(self._prompt_id),
        )

    @property
    def dialogs(self) -> Sequence[Dialog]:
        """The confirmation waterfall and its yes/no prompt."""
        return self._dialogs

    async def interrupt(self, dc: DialogContext) -> DialogTurnResult | None:
        """Begin the confirmation when the message is a cancel word and a dialog is active."""
        activity = dc.context.activity
        if activity.type != ActivityTypes.MESSAGE or not dc.stack:
            return None
        if normalized(activity.text) not in self._words:
            return None
        if any(instance.id == self._dialog_id for instance in dc.stack):
            return None  # already confirming: the prompt judges the answer
        return await dc.begin_dialog(self._dialog_id, interruption=True)

    async def _ask(self, step: WaterfallStep) -> StepAction:
        return step.prompt(self._prompt_id, self._confirm_text, retry_prompt=self._retry_text)

    async def _decide(self, step: WaterfallStep) -> StepAction:
        if step.result:
            await step.send(self._cancelled_text)
            return step.cancel_all()
        if self._resumed_text:
            await step.send(self._resumed_text)
        return step.end()
