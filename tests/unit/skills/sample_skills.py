"""Skills for tests, importable by path from skills files the tests write."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.dialogs import StepAction, TextPrompt, Waterfall, WaterfallStep
from bot.skills import Skill, SkillEndReason, SkillManifest, skill_turn
from bot.state import bot_state
from bot.turn import TurnContext, handles_event

ENDED: list[tuple[str, SkillEndReason]] = []
"""Every ``on_skill_end`` call, for the tests to check."""


class EchoSkill(Skill):
    """Echoes once and ends."""

    async def on_message_activity(self, context: TurnContext) -> None:
        await context.send_activity(f"echo: {context.activity.text}")
        await self.end(context, {"echoed": context.activity.text})


class CountingSkill(Skill):
    """Counts its turns in its own namespace, and stays active until "done"."""

    def __init__(self, manifest: SkillManifest, configuration: BaseModel | None = None) -> None:
        super().__init__(manifest, configuration)
        self.count = self.conversation_property("count", int, default=0)

    async def on_message_activity(self, context: TurnContext) -> None:
        current = await bot_state(context).get(self.count) + 1
        await bot_state(context).set(self.count, current)
        await context.send_activity(f"{self.id} count {current}")
        if context.activity.text == "done":
            await self.end(context)

    @handles_event("Ping")
    async def on_ping(self, context: TurnContext) -> None:
        turn = skill_turn(context)
        trigger = turn.trigger if turn else None
        await context.send_activity(f"{self.id} got Ping ({trigger})")
        await self.end(context)  # no effect: an event does not make a skill active


class AskingSkill(Skill):
    """Asks a question over two turns, with dialogs in its namespace."""

    def __init__(self, manifest: SkillManifest, configuration: BaseModel | None = None) -> None:
        super().__init__(manifest, configuration)
        self.use_dialogs(
            Waterfall("ask", [self._ask, self._thank]), dialogs=[TextPrompt("ask.name")]
        )

    async def on_message_activity(self, context: TurnContext) -> None:
        if context.activity.text == "explode":
            raise RuntimeError(f"cannot handle {context.activity.text!r}")
        await self.run_dialogs(context)

    @handles_event("Ping")
    async def on_ping(self, context: TurnContext) -> None:
        raise RuntimeError("ping failed")

    async def on_skill_end(self, context: TurnContext, reason: SkillEndReason) -> None:
        ENDED.append((self.id, reason))
        await super().on_skill_end(context, reason)

    async def _ask(self, step: WaterfallStep) -> StepAction:
        return step.prompt("ask.name", "What is your name?")

    async def _thank(self, step: WaterfallStep) -> StepAction:
        await step.send(f"Thanks, {step.result}.")
        return step.end(step.result)


class ExplodingSkill(Skill):
    """Raises on messages and on its event."""

    async def on_message_activity(self, context: TurnContext) -> None:
        await context.send_activity("about to fail")
        # The exception quotes the user's text, as real ones do: it must not reach the log.
        raise RuntimeError(f"cannot handle {context.activity.text!r}")

    @handles_event("Ping")
    async def on_ping(self, context: TurnContext) -> None:
        raise RuntimeError("ping failed")

    async def on_skill_end(self, context: TurnContext, reason: SkillEndReason) -> None:
        ENDED.append((self.id, reason))
        await super().on_skill_end(context, reason)


class Tuning(BaseModel):
    model_config = ConfigDict(extra="forbid")

    volume: int = Field(5, ge=0, le=10)


class ConfiguredSkill(Skill):
    """Takes a configuration."""

    configuration_model = Tuning


class BrokenSkill(Skill):
    """Cannot be built."""

    def __init__(self, manifest: SkillManifest, configuration: BaseModel | None = None) -> None:
        raise OSError("no device")


class NotASkill:
    """Not a skill at all."""


class ParametersSkill(Skill):
    """Says the parameters it got, on messages and on its event."""

    async def on_message_activity(self, context: TurnContext) -> None:
        await self._say(context)
        await self.end(context)

    @handles_event("Ping")
    async def on_ping(self, context: TurnContext) -> None:
        await self._say(context)

    async def _say(self, context: TurnContext) -> None:
        turn = skill_turn(context)
        parameters = dict(turn.parameters) if turn else {}
        await context.send_activity(
            ", ".join(f"{name}={parameters[name]}" for name in sorted(parameters))
        )
