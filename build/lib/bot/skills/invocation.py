"""Running one turn of a skill in process: the skill's own turn context, over the assistant's.

The Virtual Assistant invokes a skill through a lightweight adapter that keeps the Bot
Framework protocol, so the skill is written like any bot. Here the skill gets a
:class:`~bot.turn.TurnContext` of its own for the assistant's activity:

* what it sends goes out through the assistant's turn (the assistant's send hooks, and its
  buffering of ``expectReplies``, apply), except ``endOfConversation``, which is the skill
  telling the assistant it is done and never reaches the channel;
* it shares the assistant's bot state (its properties live in its own namespace, see
  :mod:`bot.skills.scope`), and carries a :class:`~bot.skills.skill.SkillTurn`.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.schema import Activity, ActivityTypes, ConversationReference, ResourceResponse
from bot.skills.skill import SKILL_TURN, Skill, SkillTrigger, SkillTurn
from bot.state import BOT_STATE
from bot.turn import TurnContext

logger = logging.getLogger(__name__)

SkillAction = Callable[[TurnContext], Awaitable[None]]
"""What runs in the skill's context: its ``on_turn`` by default."""


@dataclass
class SkillOutcome:
    """What a skill's turn came to.

    Attributes:
        ended: The skill sent ``endOfConversation``.
        result: The ``value`` of its ``endOfConversation``.
        responded: It sent something to the user.
    """

    ended: bool = False
    result: Any = None
    responded: bool = False


class ForwardingSender:
    """An activity sender that sends through another turn context (its hooks, its buffering).

    Args:
        parent: The turn the activities go out through.
    """

    def __init__(self, parent: TurnContext) -> None:
        self.parent = parent

    async def send_activities(
        self, reference: ConversationReference, activities: Sequence[Activity]
    ) -> list[ResourceResponse]:
        """Send through the parent turn (which addresses them the same way)."""
        del reference
        return await self.parent.send_activities(list(activities))

    async def update_activity(
        self, reference: ConversationReference, activity: Activity
    ) -> ResourceResponse:
        """Update through the parent turn."""
        del reference
        return await self.parent.update_activity(activity)

    async def delete_activity(self, reference: ConversationReference, activity_id: str) -> None:
        """Delete through the parent turn."""
        del reference
        await self.parent.delete_activity(activity_id)


class _AssistantSender(ForwardingSender):
    """Sends the skill's activities through the assistant's turn; keeps ``endOfConversation``."""

    def __init__(self, parent: TurnContext) -> None:
        super().__init__(parent)
        self.outcome = SkillOutcome()

    async def send_activities(
        self, reference: ConversationReference, activities: Sequence[Activity]
    ) -> list[ResourceResponse]:
        responses = [ResourceResponse() for _ in activities]
        forwarded: list[int] = []
        for index, activity in enumerate(activities):
            if activity.type == ActivityTypes.END_OF_CONVERSATION:
                self.outcome.ended = True
                self.outcome.result = activity.value
            else:
                forwarded.append(index)
        if forwarded:
            sent = await super().send_activities(
                reference, [activities[index] for index in forwarded]
            )
            for index, response in zip(forwarded, sent, strict=True):
                responses[index] = response
            self.outcome.responded = True
        return responses


def derive_context(context: TurnContext, activity: Activity) -> TurnContext:
    """A turn context for another activity (a changed copy of the turn's) that sends, and
    keeps state, through ``context``.

    For code that takes its input from the activity, given input of the skill's making.
    """
    derived = TurnContext(activity, ForwardingSender(context), context.identity)
    state = context.state.get(BOT_STATE)
    if state is not None:
        derived.state[BOT_STATE] = state
    turn = context.state.get(SKILL_TURN)
    if turn is not None:
        derived.state[SKILL_TURN] = turn
    return derived


async def run_skill_turn(
    skill: Skill,
    context: TurnContext,
    *,
    trigger: SkillTrigger,
    parameters: Mapping[str, str | None] | None = None,
    action: SkillAction | None = None,
) -> SkillOutcome:
    """Run a turn of ``skill`` for the assistant's turn ``context``.

    Args:
        skill: The skill.
        context: The assistant's turn.
        trigger: Why the skill has the turn.
        parameters: The skill's parameters for the turn.
        action: What to run in the skill's context; ``skill.on_turn`` when omitted.

    Returns:
        Whether the skill ended, with what, and whether it answered.

    Raises:
        Exception: Whatever the skill raised (the caller decides what the user is told).
    """
    sender = _AssistantSender(context)
    # A copy: buffering of expectReplies is the assistant's turn's business, not the skill's.
    activity = context.activity.model_copy(deep=True)
    activity.delivery_mode = None
    skill_context = TurnContext(activity, sender, context.identity)
    state = context.state.get(BOT_STATE)
    if state is not None:
        skill_context.state[BOT_STATE] = state
    skill_context.state[SKILL_TURN] = SkillTurn(skill.id, trigger, dict(parameters or {}))
    await (action or skill.on_turn)(skill_context)
    return sender.outcome


def log_skill_failure(skill: Skill, activity: Activity, error: BaseException) -> None:
    """Log a skill's failure: the skill, the exception's type and the stack, no message text.

    The exception's message can quote user input, so it is left out (as the adapter does);
    values are repr'd so a crafted one cannot forge log lines.
    """
    frames = "".join(traceback.format_tb(error.__traceback__))
    logger.error(
        "skill %r failed: %s while handling a %r activity from channel %r\n%s",
        skill.id,
        type(error).__name__,
        activity.type,
        activity.channel_id,
        frames,
    )
