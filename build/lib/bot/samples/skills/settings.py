"""The assistant sample's settings: a view over :class:`bot.settings.Settings`.

The settings themselves (names, defaults, validation) are fields of
:class:`~bot.settings.Settings`; this view adds what the assistant derives from them. A
relative path is relative to the app's root (the folder of ``function_app.py``), wherever the
host was started from.

* ``SKILLS_CONFIG_PATH``: the skills file (``config/skills.json``);
* ``EVENTS_CONFIG_PATH``: the event map file (``config/events.json``);
* ``CALENDAR_SOURCE_PATH``: the calendar skill's meetings, ``.json`` or ``.ics``
  (``config/calendar.sample.json``);
* ``CALENDAR_REMINDER_LEAD_MINUTES``: how long before a meeting its reminder comes (``10``;
  ``0``: no reminders);
* ``CALENDAR_REMINDER_LEAD_SECONDS``: the same in seconds; wins when set (tests use it);
* ``DEFAULT_TIMEZONE``: the IANA zone of users whose zone is not known (``UTC``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.settings import Settings, get_settings

APP_ROOT = Path(__file__).resolve().parents[3]
"""The folder of ``function_app.py``: relative paths in settings start here."""


@dataclass(frozen=True)
class AssistantSettings:
    """What the assistant sample and its skills take from the settings.

    Attributes:
        settings: The validated settings this is a view of.
    """

    settings: Settings

    @property
    def skills_path(self) -> Path:
        """The skills file (``SKILLS_CONFIG_PATH``)."""
        return resolve_path(self.settings.skills_config_path)

    @property
    def events_path(self) -> Path:
        """The event map file (``EVENTS_CONFIG_PATH``)."""
        return resolve_path(self.settings.events_config_path)

    @property
    def calendar_path(self) -> Path:
        """The calendar file (``CALENDAR_SOURCE_PATH``)."""
        return resolve_path(self.settings.calendar_source_path)

    @property
    def reminder_lead(self) -> timedelta:
        """How long before a meeting its reminder comes."""
        seconds = self.settings.calendar_reminder_lead_seconds
        if seconds is not None:
            return timedelta(seconds=seconds)
        return timedelta(minutes=self.settings.calendar_reminder_lead_minutes)

    @property
    def default_timezone(self) -> str:
        """The IANA zone of users whose zone is not known (``DEFAULT_TIMEZONE``)."""
        return self.settings.default_timezone


def resolve_path(value: str) -> Path:
    """A setting's path: as given when absolute, else under :data:`APP_ROOT`."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else APP_ROOT / path


def load_assistant_settings(settings: Settings | None = None) -> AssistantSettings:
    """The assistant's view of the settings.

    Args:
        settings: The settings; the process-wide :func:`bot.settings.get_settings` when
            omitted.

    Raises:
        SettingsError: A setting is missing or invalid (only when ``settings`` is omitted and
            they are read now); the message names the setting.
    """
    return AssistantSettings(get_settings() if settings is None else settings)
