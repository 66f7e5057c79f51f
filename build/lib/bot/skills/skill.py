"""The skill: a bot the assistant runs in process, written like any other bot.

A skill is an :class:`~bot.turn.ActivityHandler`: it gets messages in
``on_message_activity`` and events through ``@handles_event``, sends with the turn context, and
can be tested like any bot. What makes it a skill:

* it is declared in the skills file and built from it (``Skill(manifest, configuration)``);
* it stays active, getting every message of the user, until it sends ``endOfConversation``
  (:meth:`Skill.end`); the assistant keeps it on its dialog stack meanwhile;
* its state lives in its own namespace (:meth:`Skill.conversation_property`...);
* it gets the parameters it declared (:meth:`Skill.parameter`) and the reason for the turn
  (:func:`skill_turn`).

::

    class EchoSkill(Skill):
        async def on_message_activity(self, context: TurnContext) -> None:
            await context.send_activity(f"echo: {context.activity.text}")
            await self.end(context)

Multi-turn skills use dialogs, with the stack in their own namespace::

    class Survey(Skill):
        def __init__(self, manifest: SkillManifest, configuration: BaseModel | None = None):
            super().__init__(manifest, configuration)
            self.use_dialogs(Waterfall("survey", [ask, thank]), dialogs=[TextPrompt()])

        async def on_message_activity(self, context: TurnContext) -> None:
            await self.run_dialogs(context)  # ends the skill when the waterfall ends
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import UnionType
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from bot.dialogs import (
    Dialog,
    DialogInstance,
    DialogManager,
    DialogTurnResult,
    DialogTurnStatus,
)
from bot.schema import Activity, ActivityTypes, EndOfConversationCodes
from bot.skills.manifest import SkillManifest
from bot.skills.scope import skill_property
from bot.state import BOT_STATE, StateProperty, StateScope
from bot.turn import ActivityHandler, StateKey, TurnContext

T = TypeVar("T")
_UNSET: Any = object()


class SkillTrigger(StrEnum):
    """Why a skill has the turn."""

    DISPATCH = "dispatch"
    """The assistant routed the user's message to the skill: the skill's first turn."""
    CONTINUE = "continue"
    """The skill is active: the user's next activity."""
    EVENT = "event"
    """An event the event map routes to the skill: one turn, the skill is not made active."""
    REPROMPT = "reprompt"
    """An interruption ("help") is over: ask the user again."""
    END = "end"
    """The skill is torn down without having ended itself."""


class SkillEndReason(StrEnum):
    """Why the assistant tore a skill down (:meth:`Skill.on_skill_end`)."""

    CANCELLED = "cancelled"
    """The user cancelled (the top-level "cancel"), or the conversation ended."""
    SWITCHED = "switched"
    """The user asked for another skill."""
    FAILED = "failed"
    """The skill raised; the user was told."""


@dataclass(frozen=True)
class SkillTurn:
    """What a skill is told about its turn.

    Attributes:
        skill_id: The skill.
        trigger: Why it has the turn.
        parameters: The parameters it declared, with their values (``None``: unknown),
            and, for events, the event map entry's parameters.
    """

    skill_id: str
    trigger: SkillTrigger
    parameters: Mapping[str, str | None] = field(default_factory=dict)


SKILL_TURN = StateKey[SkillTurn]("skill_turn")
"""Where the skill's turn context keeps its :class:`SkillTurn`."""


def skill_turn(context: TurnContext) -> SkillTurn | None:
    """The skill turn of a context; ``None`` when the skill runs as a bot of its own."""
    return context.state.get(SKILL_TURN)


class EmptyConfiguration(BaseModel):
    """The configuration of a skill that takes none: any field is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Skill(ActivityHandler):
    """Base of every skill.

    Args:
        manifest: Its entry in the skills file.
        configuration: Its configuration, already validated; validated from the manifest's
            ``configuration`` with :attr:`configuration_model` when omitted.

    Raises:
        pydantic.ValidationError: The manifest's configuration does not fit.
    """

    configuration_model: ClassVar[type[BaseModel]] = EmptyConfiguration
    """What the skill's ``configuration`` must look like (validated at start-up)."""
    extra_events: ClassVar[frozenset[str]] = frozenset()
    """Events the skill handles other than through ``@handles_event`` (in ``on_event``)."""

    def __init__(self, manifest: SkillManifest, configuration: BaseModel | None = None) -> None:
        self.manifest = manifest
        self.configuration: BaseModel = (
            configuration
            if configuration is not None
            else self.configuration_model.model_validate(manifest.configuration)
        )
        self.dialog_stack: StateProperty[list[DialogInstance]] = self.conversation_property(
            "dialogStack", list[DialogInstance], default_factory=list
        )
        """Where the skill's own dialogs wait (see :meth:`use_dialogs`)."""
        self._dialogs: DialogManager | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r})"

    @property
    def id(self) -> str:
        """The skill's id."""
        return self.manifest.id

    @property
    def name(self) -> str:
        """The skill's name, as users see it."""
        return self.manifest.name

    @classmethod
    def handled_events(cls) -> frozenset[str]:
        """The events the skill can take: its ``@handles_event`` names and :attr:`extra_events`."""
        return frozenset(cls._event_routes) | cls.extra_events

    def conversation_property(
        self,
        name: str,
        value_type: type[T] | UnionType,
        *,
        default: T = _UNSET,
        default_factory: Callable[[], T] | None = None,
    ) -> StateProperty[T]:
        """A property of the conversation in the skill's namespace."""
        return self._property(StateScope.CONVERSATION, name, value_type, default, default_factory)

    def user_property(
        self,
        name: str,
        value_type: type[T] | UnionType,
        *,
        default: T = _UNSET,
        default_factory: Callable[[], T] | None = None,
    ) -> StateProperty[T]:
        """A property of the user in the skill's namespace."""
        return self._property(StateScope.USER, name, value_type, default, default_factory)

    def private_conversation_property(
        self,
        name: str,
        value_type: type[T] | UnionType,
        *,
        default: T = _UNSET,
        default_factory: Callable[[], T] | None = None,
    ) -> StateProperty[T]:
        """A property of the user in the conversation, in the skill's namespace."""
        return self._property(
            StateScope.PRIVATE_CONVERSATION, name, value_type, default, default_factory
        )

    def _property(
        self,
        scope: StateScope,
        name: str,
        value_type: type[T] | UnionType,
        default: T,
        default_factory: Callable[[], T] | None,
    ) -> StateProperty[T]:
        if default is _UNSET:
            return skill_property(self.id, scope, name, value_type, default_factory=default_factory)
        return skill_property(self.id, scope, name, value_type, default=default)

    def use_dialogs(self, main: Dialog, *, dialogs: Iterable[Dialog] = ()) -> DialogManager:
        """Run the skill's conversation as dialogs, kept in :attr:`dialog_stack`.

        No interruptions: "cancel" and "help" are the assistant's.

        Returns:
            The manager :meth:`run_dialogs` uses.
        """
        self._dialogs = DialogManager(main, dialogs=dialogs, stack=self.dialog_stack)
        return self._dialogs

    async def run_dialogs(self, context: TurnContext) -> DialogTurnResult:
        """Give the turn to the skill's dialogs; end the skill when they are done.

        A dispatched turn starts the main dialog afresh, whatever was left on the stack.

        Raises:
            RuntimeError: :meth:`use_dialogs` was not called.
        """
        if self._dialogs is None:
            raise RuntimeError(f"{self!r} runs dialogs without use_dialogs()")
        turn = skill_turn(context)
        state = context.state.get(BOT_STATE)
        if turn is not None and turn.trigger is SkillTrigger.DISPATCH and state is not None:
            await state.delete(self.dialog_stack)
        result = await self._dialogs.run(context)
        if result.status in (DialogTurnStatus.COMPLETE, DialogTurnStatus.CANCELLED):
            await self.end(context, result.result)
        return result

    def parameter(self, context: TurnContext, name: str) -> str | None:
        """A parameter the skill declared, for this turn (``None`` when unknown)."""
        turn = skill_turn(context)
        return turn.parameters.get(name) if turn is not None else None

    async def end(self, context: TurnContext, result: Any = None) -> None:
        """Say the skill is done: send ``endOfConversation``, so the assistant takes over.

        Args:
            context: The turn.
            result: What the skill hands back (JSON-able), as the activity's value.
        """
        await context.send_activity(
            Activity(
                type=ActivityTypes.END_OF_CONVERSATION,
                code=EndOfConversationCodes.COMPLETED_SUCCESSFULLY,
                value=result,
            )
        )

    async def reprompt(self, context: TurnContext) -> None:
        """After an interruption: ask again. Dialogs reprompt their active dialog."""
        if self._dialogs is not None:
            dc = await self._dialogs.create_context(context)
            await dc.reprompt_dialog()

    async def on_skill_end(self, context: TurnContext, reason: SkillEndReason) -> None:
        """The assistant tore the skill down; by default its dialog stack is cleared.

        Override to clean up more (call ``super()``). What is sent here reaches the user.
        """
        del reason
        state = context.state.get(BOT_STATE)
        if state is not None:
            await state.delete(self.dialog_stack)
