"""Reminders in chat: the turn handler behind "remind me every Monday at 12:00 to ...".

Wire it in front of the bot's own message handling::

    async def on_message_activity(self, context: TurnContext) -> None:
        if await handle_schedule_command(context):
            return
        ...

A reminder made in chat targets the conversation it was made in (its messages arrive there),
runs in the user's time zone (the activity's ``localTimezone``, else the ``timezone`` of its
``clientInfo`` entity, else ``default_zone``), and is listed and stopped by its number in
"list my reminders" (oldest first). The grammar is in :mod:`bot.schedules.commands`.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.proactive.message import ConversationTarget, ProactiveEvent
from bot.schedules.commands import (
    CREATE_EXAMPLE,
    ChangeReminder,
    Command,
    CreateReminder,
    ListReminders,
    NotUnderstood,
    ReminderHelp,
    parse_command,
)
from bot.schedules.process_service import schedule_service
from bot.schedules.records import UTC_ZONE, Schedule, ScheduleFields
from bot.schedules.service import ScheduleRequestError, ScheduleService
from bot.schema import Activity, ActivityTypes, remove_recipient_mention
from bot.time_zones import user_time_zone
from bot.turn import TurnContext

HELP_TEXT = (
    "I can send you repeating reminders in this chat:\n"
    "- remind me every Monday at 12:00 to submit my timesheet\n"
    "- every day at 8:30 send me a briefing\n"
    "- remind me to stretch every 2 hours on weekdays\n"
    "- list my reminders\n"
    "- stop reminder 2 (or pause / resume reminder 2)\n"
    "Times are in your time zone; days can be every day, every weekday, every Monday, "
    "every Mon, Wed and Fri, or every month on the 1st."
)
REMINDER_TEXT = "Reminder: {text}"
SEND_TEXT = "Scheduled message for {{weekday}}, {{localDate}}: {text}"
BRIEFING_EVENT = "Briefing"
"""The event a "send me a briefing" schedule fires with: the bot composes the briefing then."""
BRIEFING_NAMES = frozenset({"briefing", "a briefing", "my briefing", "the briefing"})
"""What a "send me ..." schedule sends; the doubled braces become placeholders."""


async def handle_schedule_command(
    context: TurnContext,
    *,
    service: ScheduleService | None = None,
    default_zone: str = UTC_ZONE,
) -> bool:
    """Answer a schedule command in a message.

    Args:
        context: The turn.
        service: The schedule operations; the process-wide one when omitted.
        default_zone: The zone of users whose activities name none.

    Returns:
        ``True`` when the message was a schedule command (answered, or told what was not
        understood); ``False`` when it was not one and the bot should handle it.
    """
    activity = context.activity
    if activity.type != ActivityTypes.MESSAGE:
        return False
    command = parse_command(remove_recipient_mention(activity))
    if command is None:
        return False
    if isinstance(command, NotUnderstood):
        await context.send_activity(
            f"Sorry, I did not understand that: {command.problem}.\n"
            f'For example: "{command.example}"'
        )
        return True
    answer = await _answer(command, context, service or schedule_service.get(), default_zone)
    await context.send_activity(answer)
    return True


async def _answer(
    command: Command, context: TurnContext, service: ScheduleService, default_zone: str
) -> str:
    activity = context.activity
    conversation = activity.conversation
    channel_id = activity.channel_id or ""
    conversation_id = conversation.id if conversation is not None and conversation.id else ""
    listing = _Listing(service, channel_id, conversation_id)
    if isinstance(command, ReminderHelp):
        return HELP_TEXT
    if isinstance(command, ListReminders):
        return await listing.describe()
    if isinstance(command, ChangeReminder):
        return await listing.change(command)
    zone = user_time_zone(activity, default_zone)
    target = ConversationTarget(
        channel_id=channel_id,
        conversation_id=conversation_id,
        tenant_id=conversation.tenant_id if conversation is not None else None,
    )
    return await _create(command, service, target, zone, listing)


async def _create(
    command: CreateReminder,
    service: ScheduleService,
    target: ConversationTarget,
    zone: str,
    listing: _Listing,
) -> str:
    template = REMINDER_TEXT if command.style == "remind" else SEND_TEXT
    content: dict[str, Any] = {
        "activities": [
            Activity(type=ActivityTypes.MESSAGE, text=template.format(text=command.text))
        ]
    }
    if command.style != "remind" and " ".join(command.text.lower().split()) in BRIEFING_NAMES:
        # Computed when it fires (the day's meetings), not fixed now.
        content = {"event": ProactiveEvent(name=BRIEFING_EVENT, value={"timeZone": zone})}
    fields = ScheduleFields(
        name=command.text,
        description=command.recurrence.description,
        conversation=target,
        cron=command.recurrence.cron,
        time_zone=zone,
        **content,
    )
    try:
        created = await service.create_fields(fields)
    except ScheduleRequestError as error:
        return (
            f"Sorry, I could not set that reminder: {error.message.removeprefix('cron: ')}.\n"
            f'For example: "{CREATE_EXAMPLE}"'
        )
    number = await listing.number_of(created.id)
    first = _local(created.next_run_at, created.zone) if created.next_run_at else "never"
    label = f"reminder {number}" if number else "a reminder"
    return (
        f'OK, {label}: {command.recurrence.description} ({zone}): "{command.text}". '
        f'The first one comes {first}. Say "list my reminders" to see them all.'
    )


class _Listing:
    """The conversation's schedules, numbered oldest first."""

    def __init__(self, service: ScheduleService, channel_id: str, conversation_id: str) -> None:
        self._service = service
        self._channel_id = channel_id
        self._conversation_id = conversation_id

    async def schedules(self) -> list[Schedule]:
        return await self._service.list_all(
            channel_id=self._channel_id, conversation_id=self._conversation_id
        )

    async def number_of(self, schedule_id: str) -> int | None:
        for number, schedule in enumerate(await self.schedules(), start=1):
            if schedule.id == schedule_id:
                return number
        return None

    async def describe(self) -> str:
        schedules = await self.schedules()
        if not schedules:
            return f'There are no reminders in this chat. For example: "{CREATE_EXAMPLE}"'
        lines = ["Reminders in this chat:"]
        lines.extend(
            f"{number}. {_summary(schedule)}" for number, schedule in enumerate(schedules, 1)
        )
        lines.append('Say "stop reminder N" to stop one.')
        return "\n".join(lines)

    async def change(self, command: ChangeReminder) -> str:
        schedules = await self.schedules()
        if not 1 <= command.number <= len(schedules):
            count = len(schedules)
            have = f"there is only {count}" if count == 1 else f"there are {count}"
            return (
                f"There is no reminder {command.number} here ({have}). "
                'Say "list my reminders" to see their numbers.'
            )
        schedule = schedules[command.number - 1]
        try:
            if command.action == "stop":
                await self._service.delete(schedule.id)
                return f"Stopped reminder {command.number}: {_summary(schedule)}."
            changed = await self._service.update(
                schedule.id, {"enabled": command.action == "resume"}
            )
        except ScheduleRequestError as error:
            return f"Sorry, I could not change reminder {command.number}: {error.message}."
        verb = "Resumed" if command.action == "resume" else "Paused"
        return f"{verb} reminder {command.number}: {_summary(changed)}."


def _summary(schedule: Schedule) -> str:
    when = schedule.description or f"cron {schedule.cron}"
    what = schedule.name or f"schedule {schedule.id}"
    text = f'{when} ({schedule.time_zone}): "{what}"'
    if not schedule.enabled:
        return text + " (paused)"
    if schedule.next_run_at is None:
        return text + " (finished)"
    return text + f", next {_local(schedule.next_run_at, schedule.zone)}"


def _local(moment: datetime, zone: tzinfo | None) -> str:
    local = moment.astimezone(zone or UTC)
    return f"on {local:%a %d %b %Y} at {local:%H:%M}"
