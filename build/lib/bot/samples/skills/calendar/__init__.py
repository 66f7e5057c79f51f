"""The calendar skill: meetings from a JSON or iCalendar file, the ``DeviceStart`` briefing
and proactive reminders before meetings."""

from bot.samples.skills.calendar.meetings import CalendarSourceError, Meeting, read_calendar
from bot.samples.skills.calendar.reminders import reminder_id, reminder_message
from bot.samples.skills.calendar.skill import CalendarConfiguration, CalendarSkill

__all__ = [
    "CalendarConfiguration",
    "CalendarSkill",
    "CalendarSourceError",
    "Meeting",
    "read_calendar",
    "reminder_id",
    "reminder_message",
]
