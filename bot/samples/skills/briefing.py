"""The briefing skill: "Here's your daily briefing" as the user's device starts.

It subscribes to ``DeviceStart`` beside the calendar skill, so one event reaches two skills,
and shows the parameters a skill gets from the assistant: the user's name and time zone.
"Good morning" (or "briefing") asks for the same greeting in chat.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from bot.skills import Skill, SkillManifest
from bot.skills.parameters import TIMEZONE, USER_NAME
from bot.turn import TurnContext, handles_event

BRIEFING_TEXT = "{greeting}{name}! It's {moment} ({zone})."


def _utc_now() -> datetime:
    return datetime.now(UTC)


def greeting_for(local: datetime) -> str:
    """``Good morning`` before noon, ``Good afternoon`` before six, else ``Good evening``."""
    if local.hour < 12:
        return "Good morning"
    if local.hour < 18:
        return "Good afternoon"
    return "Good evening"


class BriefingSkill(Skill):
    """A greeting with the local day and time.

    Args:
        manifest: Its entry in the skills file.
        configuration: None is taken.
        clock: The current time.
    """

    def __init__(
        self,
        manifest: SkillManifest,
        configuration: BaseModel | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        super().__init__(manifest, configuration)
        self._clock = clock

    @handles_event("DeviceStart")
    async def on_device_start(self, context: TurnContext) -> None:
        """Greet the user whose device just started."""
        await context.send_activity(self.briefing(context))

    async def on_message_activity(self, context: TurnContext) -> None:
        """The same greeting, asked for in chat; then the skill ends."""
        await context.send_activity(self.briefing(context))
        await self.end(context)

    def briefing(self, context: TurnContext) -> str:
        """The greeting, in the user's zone."""
        zone_name = self.parameter(context, TIMEZONE) or "UTC"
        zone: tzinfo
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            zone, zone_name = UTC, "UTC"
        local = self._clock().astimezone(zone)
        user_name = self.parameter(context, USER_NAME)
        first_name = user_name.split()[0] if user_name and user_name.split() else ""
        return BRIEFING_TEXT.format(
            greeting=greeting_for(local),
            name=f", {first_name}" if first_name else "",
            moment=f"{local:%A} {local.day} {local:%B}, {local:%H:%M}",
            zone=zone_name,
        )
