"""The skill dialog: a skill on the assistant's dialog stack, active until it ends itself.

As the Virtual Assistant's ``SkillDialog``: when the dispatcher picks a skill, the assistant
begins its dialog, which hands the turn to the skill (:func:`~bot.skills.invocation.run_skill_turn`)
and stays on the stack, so every later message of the user goes to the skill, until the skill
sends ``endOfConversation``. Top-level interruptions still come first: "cancel" tears the skill
down (:meth:`~bot.skills.skill.Skill.on_skill_end`), "help" answers and then asks the skill to
ask again (:meth:`~bot.skills.skill.Skill.reprompt`), and :class:`SkillSwitch` moves to another
skill on a strong dispatch match.

A skill that raises never breaks the conversation: the error is logged (no message text), the
user gets an apology, the skill is torn down (its own dialog stack cleared) and taken off the
stack, and the assistant has the next turn. The turn itself succeeds, so its state is saved:
what the skill sent before it raised was sent, and other values it changed in its namespace
stay changed (a skill that must not leave half-made changes makes them last).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from bot.dialogs import (
    WAITING,
    Dialog,
    DialogContext,
    DialogInstance,
    DialogReason,
    DialogTurnResult,
)
from bot.dialogs.prompts import answer_text
from bot.schema import ActivityTypes
from bot.skills.dispatch import Dispatcher, MatchStrength
from bot.skills.invocation import SkillAction, SkillOutcome, log_skill_failure, run_skill_turn
from bot.skills.parameters import resolve_parameters
from bot.skills.skill import Skill, SkillEndReason, SkillTrigger
from bot.turn import StateKey, TurnContext

logger = logging.getLogger(__name__)

SKILL_DIALOG_PREFIX = "skill:"
FAILED_TEXT = "Sorry, {name} ran into a problem, so I stopped it. Please try again."
"""What the user is told when a skill raises (``{name}``: the skill's name)."""

_END_REASON = StateKey[SkillEndReason]("skill_end_reason")


def skill_dialog_id(skill_id: str) -> str:
    """The id of a skill's dialog on the assistant's stack: ``skill:<id>``."""
    return SKILL_DIALOG_PREFIX + skill_id


def is_skill_dialog(dialog_id: str) -> bool:
    """Whether a stack entry is a skill."""
    return dialog_id.startswith(SKILL_DIALOG_PREFIX)


class SkillDialog(Dialog):
    """Runs one skill on the assistant's dialog stack.

    Args:
        skill: The skill.
        default_timezone: The ``timezone`` parameter of users whose zone is not known.
        failed_text: The apology when the skill raises (``{name}``: its name).
    """

    def __init__(
        self, skill: Skill, *, default_timezone: str = "UTC", failed_text: str = FAILED_TEXT
    ) -> None:
        super().__init__(skill_dialog_id(skill.id))
        self.skill = skill
        self._default_timezone = default_timezone
        self._failed_text = failed_text

    async def begin_dialog(self, dc: DialogContext, options: Any = None) -> DialogTurnResult:
        """The skill's first turn, with the message that was dispatched to it."""
        del options
        return await self._turn(dc, SkillTrigger.DISPATCH)

    async def continue_dialog(self, dc: DialogContext) -> DialogTurnResult:
        """The user's next activity goes to the skill."""
        return await self._turn(dc, SkillTrigger.CONTINUE)

    async def reprompt_dialog(self, dc: DialogContext) -> None:
        """An interruption is over: the skill asks again."""
        try:
            await self._run(dc.context, SkillTrigger.REPROMPT, self.skill.reprompt)
        except Exception as error:
            await self._fail(dc.context, error)
            await self._remove(dc)

    async def on_end(
        self, dc: DialogContext, instance: DialogInstance, reason: DialogReason
    ) -> None:
        """Cancelled or replaced from outside: the skill is torn down.

        A skill that ended itself is not (it is done), nor one that failed (it already was).
        """
        del instance
        if reason is DialogReason.ENDED:
            return
        default = SkillEndReason.SWITCHED if reason is DialogReason.REPLACED else None
        end_reason = dc.context.state.get(_END_REASON, default) or SkillEndReason.CANCELLED
        await self._tear_down(dc.context, end_reason)

    async def run_event(
        self, dc: DialogContext, parameters: Mapping[str, str] | None = None
    ) -> SkillOutcome | None:
        """Give the skill an event of the event map: one turn; the stack is not changed.

        An ``endOfConversation`` sent in an event turn has no effect: the event did not make
        the skill active.

        Returns:
            What the turn came to; ``None`` when the skill raised (the user was told, and the
            skill, if it was active, was taken off the stack).
        """
        try:
            return await self._run(dc.context, SkillTrigger.EVENT, None, parameters)
        except Exception as error:
            await self._fail(dc.context, error)
            await self._remove(dc)
            return None

    async def _turn(self, dc: DialogContext, trigger: SkillTrigger) -> DialogTurnResult:
        try:
            outcome = await self._run(dc.context, trigger, None)
        except Exception as error:
            await self._fail(dc.context, error)
            return await dc.end_dialog()
        if outcome.ended:
            return await dc.end_dialog(outcome.result)
        return WAITING

    async def _run(
        self,
        context: TurnContext,
        trigger: SkillTrigger,
        action: SkillAction | None,
        extra: Mapping[str, str] | None = None,
    ) -> SkillOutcome:
        parameters = await resolve_parameters(
            context, self.skill.manifest.parameters, default_timezone=self._default_timezone
        )
        if extra:
            parameters = {**extra, **parameters}
        return await run_skill_turn(
            self.skill, context, trigger=trigger, parameters=parameters, action=action
        )

    async def _fail(self, context: TurnContext, error: Exception) -> None:
        log_skill_failure(self.skill, context.activity, error)
        try:
            await context.send_activity(self._failed_text.format(name=self.skill.name))
        except Exception as send_error:
            # The apology can fail as the skill did (the Connector is down): the stack must
            # still be made consistent.
            log_skill_failure(self.skill, context.activity, send_error)
        await self._tear_down(context, SkillEndReason.FAILED)

    async def _tear_down(self, context: TurnContext, reason: SkillEndReason) -> None:
        async def end(skill_context: TurnContext) -> None:
            await self.skill.on_skill_end(skill_context, reason)

        try:
            await self._run(context, SkillTrigger.END, end)
        except Exception as error:
            log_skill_failure(self.skill, context.activity, error)

    async def _remove(self, dc: DialogContext) -> None:
        """Take the skill off the stack, with whatever was begun on top of it."""
        positions = [index for index, item in enumerate(dc.stack) if item.id == self.id]
        if not positions:
            return
        del dc.stack[positions[0] + 1 :]
        await dc.end_dialog()


class SkillSwitch:
    """The interruption that moves from the active skill to another one the user asks for.

    Only a strong dispatch match (a pattern) switches, and only while a skill itself is on top
    of the stack (not while, say, "cancel" waits for a yes or no).

    Args:
        dispatcher: The assistant's dispatcher.
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    @property
    def dialogs(self) -> Sequence[Dialog]:
        """None: the skill dialogs are the assistant's."""
        return ()

    async def interrupt(self, dc: DialogContext) -> DialogTurnResult | None:
        """Tear down the active skill and begin the other with this message."""
        active = dc.active
        if dc.context.activity.type != ActivityTypes.MESSAGE or active is None:
            return None
        if not is_skill_dialog(active.id):
            return None
        match = self._dispatcher.dispatch(answer_text(dc.context))
        if match is None or match.strength is not MatchStrength.STRONG:
            return None
        target = skill_dialog_id(match.skill_id)
        if target == active.id or target not in dc.dialogs:
            return None
        dc.context.state[_END_REASON] = SkillEndReason.SWITCHED
        try:
            await dc.cancel_all_dialogs()
        finally:
            del dc.context.state[_END_REASON]
        logger.info("switched from %s to %s", active.id, target)
        return await dc.begin_dialog(target)
