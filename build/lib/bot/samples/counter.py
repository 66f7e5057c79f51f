"""The counter of the Bot Framework dialogs docs (SDK v3 ``EchoDialog`` with state), in Python.

    user: hi               bot: 1: You said hi
    user: hello            bot: 2: You said hello
    user: reset            bot: Are you sure you want to reset the count?
    user: yes              bot: Reset count.           (the next message is 1 again)
                   or no   bot: Did not reset count.

The count is conversation state and the confirmation waits on the dialog stack, also in
conversation state: both are in Cosmos DB, so the conversation goes on across hosts and
restarts. While the confirmation is open, "cancel" asks whether to cancel it.
"""

from __future__ import annotations

from bot.dialogs import (
    CancelInterruption,
    ConfirmPrompt,
    DialogManager,
    StepAction,
    Waterfall,
    WaterfallStep,
)
from bot.dialogs.prompts import answer_text
from bot.dialogs.words import normalized
from bot.state import conversation_property
from bot.turn import ActivityHandler, TurnContext

NEXT_NUMBER = conversation_property("counter.next", int, default=1)
"""The number the next echoed message gets."""

RESET_WORD = "reset"
RESET_QUESTION = "Are you sure you want to reset the count?"
RESET_RETRY = "Didn't get that!"
RESET_DONE = "Reset count."
RESET_KEPT = "Did not reset count."
NO_TEXT_REPLY = "I can only count text messages."

COUNTER_DIALOG_ID = "counter"
CONFIRM_PROMPT_ID = "counter.confirm"


async def count_or_ask(step: WaterfallStep) -> StepAction:
    """Echo the message with its number, or ask before a reset."""
    text = answer_text(step.context)
    if normalized(text) == RESET_WORD:
        return step.prompt(CONFIRM_PROMPT_ID, RESET_QUESTION, retry_prompt=RESET_RETRY)
    if not text:
        await step.send(NO_TEXT_REPLY)
        return step.end()
    number = await step.state.get(NEXT_NUMBER)
    await step.send(f"{number}: You said {text}")
    await step.state.set(NEXT_NUMBER, number + 1)
    return step.end()


async def after_reset(step: WaterfallStep) -> StepAction:
    """Reset, or not, as the user confirmed."""
    if step.result:
        await step.state.set(NEXT_NUMBER, 1)
        await step.send(RESET_DONE)
    else:
        await step.send(RESET_KEPT)
    return step.end()


def counter_dialogs() -> DialogManager:
    """The counter's dialogs: the counting waterfall, its confirmation and "cancel"."""
    counter = Waterfall(
        COUNTER_DIALOG_ID,
        [count_or_ask, after_reset],
        dependencies=[ConfirmPrompt(CONFIRM_PROMPT_ID)],
    )
    return DialogManager(counter, interruptions=[CancelInterruption()])


class CounterBot(ActivityHandler):
    """Counts the messages of a conversation; "reset" starts again after a confirmation.

    Needs :class:`~bot.state.BotStateMiddleware` on the adapter.
    """

    def __init__(self) -> None:
        self.dialogs = counter_dialogs()

    async def on_message_activity(self, context: TurnContext) -> None:
        """Run the counter's dialogs."""
        await self.dialogs.run(context)
