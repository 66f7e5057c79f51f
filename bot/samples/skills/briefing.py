"""The briefing skill: "Here's your daily briefing" as the user's device starts.

It subscribes to ``DeviceStart`` beside the calendar skill, so one event reaches two skills,
and shows the parameters a skill gets from the assistant: the user's name and time zone.
"Good morning" (or "briefing") asks for the same greeting in chat.

The scheduled briefing ("every day at 8:30 send me a briefing") is a schedule whose occurrences
carry the ``Briefing`` event instead of fixed text: each one runs a proactive turn that
composes :func:`daily_briefing` then, with the meetings of that day (docs/delivery.md,
"Proactive turns"). The echo sample answers the event the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

from pydantic import BaseModel

from bot.schedules.chat import BRIEFING_EVENT
from bot.skills import Skill, SkillManifest
from bot.skills.parameters import TIMEZONE, USER_NAME
from bot.time_zones import find_zone
from bot.turn import TurnContext, handles_event

BRIEFING_TEXT = "{greeting}{name}! It's {moment} ({zone})."
DAILY_BRIEFING_TEXT = "{greeting}! Your briefing for {moment} ({zone}).\n{meetings}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def greeting_for(local: datetime) -> str:
    """``Good morning`` before noon, ``Good afternoon`` before six, else ``Good evening``."""
    if local.hour < 12:
        return "Good morning"
    if local.hour < 18:
        return "Good afternoon"
    return "Good evening"


async def daily_briefing(now: datetime, zone_name: str | None = None) -> str:
    """The scheduled briefing, computed at ``now``: a greeting and the rest of today's meetings
    from the calendar (``CALENDAR_SOURCE_PATH``)."""
    from bot.samples.skills.calendar.meetings import CalendarSourceError, read_calendar
    from bot.samples.skills.calendar.skill import UNREADABLE_TEXT, today_text
    from bot.samples.skills.settings import load_assistant_settings

    zone: tzinfo | None = find_zone(zone_name or "UTC")
    if zone is None:
        zone, zone_name = UTC, "UTC"
    local = now.astimezone(zone)
    try:
        meetings = await read_calendar(load_assistant_settings().calendar_path, floating_zone=zone)
        agenda = today_text(meetings, now, zone)
    except CalendarSourceError:
        agenda = UNREADABLE_TEXT
    return DAILY_BRIEFING_TEXT.format(
        greeting=greeting_for(local),
        moment=f"{local:%A} {local.day} {local:%B}, {local:%H:%M:%S}",
        zone=zone_name or "UTC",
        meetings=agenda,
    )


def event_zone(context: TurnContext) -> str | None:
    """The ``timeZone`` an event's value names, if any."""
    value = context.activity.value
    zone = value.get("timeZone") if isinstance(value, dict) else None
    return zone if isinstance(zone, str) else None


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

    @handles_event(BRIEFING_EVENT)
    async def on_scheduled_briefing(self, context: TurnContext) -> None:
        """A scheduled briefing fired: compose it now, with today's meetings."""
        zone = event_zone(context) or self.parameter(context, TIMEZONE)
        await context.send_activity(await daily_briefing(self._clock(), zone))

    async def on_message_activity(self, context: TurnContext) -> None:
        """The same greeting, asked for in chat; then the skill ends."""
        await context.send_activity(self.briefing(context))
        await self.end(context)

    def briefing(self, context: TurnContext) -> str:
        """The greeting, in the user's zone."""
        zone_name = self.parameter(context, TIMEZONE) or "UTC"
        zone: tzinfo | None = find_zone(zone_name)
        if zone is None:
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
