"""The reminders skill: the chat commands of :mod:`bot.schedules.chat` as a skill.

"remind me every Monday at 12:00 to submit my timesheet", "list my reminders", "stop reminder
2", "help reminders": each is answered at once, in the user's zone (the ``timezone``
parameter), and the skill ends. "set a reminder" (or just "remind me") asks what and when over
two turns, the skill staying active until the reminder is made; "cancel" and "help" work in
between, and "no" to "cancel" brings the question back.
"""

from __future__ import annotations

from pydantic import BaseModel

from bot.dialogs import PromptAnswer, StepAction, TextPrompt, Waterfall, WaterfallStep
from bot.dialogs.prompts import answer_text
from bot.dialogs.words import normalized
from bot.schedules.chat import HELP_TEXT, handle_schedule_command
from bot.schedules.commands import RecurrenceError, parse_recurrence
from bot.schedules.records import UTC_ZONE
from bot.schedules.service import ScheduleService
from bot.skills import Skill, SkillManifest, SkillTrigger, derive_context, skill_turn
from bot.skills.parameters import TIMEZONE
from bot.state import BOT_STATE
from bot.turn import TurnContext

START_PHRASES: frozenset[str] = frozenset(
    normalized(phrase)
    for phrase in (
        "remind me",
        "reminder",
        "a reminder",
        "new reminder",
        "set a reminder",
        "set reminder",
        "add a reminder",
        "add reminder",
        "create a reminder",
        "create reminder",
    )
)
"""What starts the guided reminder: the whole message, case and punctuation ignored."""
WHAT_QUESTION = "What should I remind you about?"
WHEN_QUESTION = 'When? For example "every Monday at 12:00" or "every weekday at 9".'
WHEN_RETRY = 'Sorry, I did not understand when: {problem}. Try "every Monday at 12:00".'

_FLOW = "reminders.new"
_WHAT = "reminders.what"
_WHEN = "reminders.when"


async def _valid_when(answer: PromptAnswer[str]) -> bool | str:
    try:
        parse_recurrence(answer.value)
    except RecurrenceError as error:
        return WHEN_RETRY.format(problem=error)
    return True


class RemindersSkill(Skill):
    """Repeating reminders in this chat.

    Args:
        manifest: Its entry in the skills file.
        configuration: None is taken.
        service: The schedule operations; the process-wide ones when omitted.
    """

    def __init__(
        self,
        manifest: SkillManifest,
        configuration: BaseModel | None = None,
        *,
        service: ScheduleService | None = None,
    ) -> None:
        super().__init__(manifest, configuration)
        self._service = service
        self.use_dialogs(
            Waterfall(_FLOW, [self._ask_what, self._ask_when, self._create]),
            dialogs=[TextPrompt(_WHAT), TextPrompt(_WHEN, validator=_valid_when)],
        )

    async def on_message_activity(self, context: TurnContext) -> None:
        """A command is answered at once; "set a reminder" asks what and when first."""
        if await self._asking(context) or normalized(answer_text(context)) in START_PHRASES:
            await self.run_dialogs(context)
            return
        if not await handle_schedule_command(
            context, service=self._service, default_zone=self._zone(context)
        ):
            await context.send_activity(HELP_TEXT)
        await self.end(context)

    async def _asking(self, context: TurnContext) -> bool:
        turn = skill_turn(context)
        state = context.state.get(BOT_STATE)
        if turn is None or turn.trigger is SkillTrigger.DISPATCH or state is None:
            return False
        stack = await state.get(self.dialog_stack)
        return len(stack) > 0

    def _zone(self, context: TurnContext) -> str:
        return self.parameter(context, TIMEZONE) or UTC_ZONE

    async def _ask_what(self, step: WaterfallStep) -> StepAction:
        return step.prompt(_WHAT, WHAT_QUESTION)

    async def _ask_when(self, step: WaterfallStep) -> StepAction:
        step.values["what"] = step.result
        return step.prompt(_WHEN, WHEN_QUESTION)

    async def _create(self, step: WaterfallStep) -> StepAction:
        # The command parser takes the whole sentence: say it as the user could have.
        command = f"remind me {step.result} to {step.values['what']}"
        activity = step.context.activity.model_copy(update={"text": command, "entities": None})
        await handle_schedule_command(
            derive_context(step.context, activity),
            service=self._service,
            default_zone=self._zone(step.context),
        )
        return step.end()
