"""The assistant sample's settings, read as the Functions host reads app settings.

Until these names join :class:`bot.settings.Settings`, they are read here the same way: the
``Values`` of ``local.settings.json``, then the process environment (the environment wins),
with the same names in Azure app settings. A relative path is relative to the app's root (the
folder of ``function_app.py``), wherever the host was started from.

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

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.settings import SettingsError, read_local_values

APP_ROOT = Path(__file__).resolve().parents[3]
"""The folder of ``function_app.py``: relative paths in settings start here."""


class AssistantSettings(BaseModel):
    """The settings of the assistant sample and its skills, under their app-setting names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    skills_config_path: str = Field("config/skills.json", alias="SKILLS_CONFIG_PATH")
    events_config_path: str = Field("config/events.json", alias="EVENTS_CONFIG_PATH")
    calendar_source_path: str = Field("config/calendar.sample.json", alias="CALENDAR_SOURCE_PATH")
    calendar_reminder_lead_minutes: int = Field(
        10, ge=0, le=24 * 60, alias="CALENDAR_REMINDER_LEAD_MINUTES"
    )
    calendar_reminder_lead_seconds: int | None = Field(
        None, ge=0, le=24 * 3600, alias="CALENDAR_REMINDER_LEAD_SECONDS"
    )
    default_timezone: str = Field("UTC", alias="DEFAULT_TIMEZONE")

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value

    @property
    def skills_path(self) -> Path:
        """The skills file."""
        return resolve_path(self.skills_config_path)

    @property
    def events_path(self) -> Path:
        """The event map file."""
        return resolve_path(self.events_config_path)

    @property
    def calendar_path(self) -> Path:
        """The calendar file."""
        return resolve_path(self.calendar_source_path)

    @property
    def reminder_lead(self) -> timedelta:
        """How long before a meeting its reminder comes."""
        if self.calendar_reminder_lead_seconds is not None:
            return timedelta(seconds=self.calendar_reminder_lead_seconds)
        return timedelta(minutes=self.calendar_reminder_lead_minutes)


def resolve_path(value: str) -> Path:
    """A setting's path: as given when absolute, else under :data:`APP_ROOT`."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else APP_ROOT / path


def load_assistant_settings(environ: Mapping[str, str] | None = None) -> AssistantSettings:
    """Read the settings: ``local.settings.json`` ``Values``, then the environment.

    Args:
        environ: The environment; ``os.environ`` when omitted.

    Raises:
        SettingsError: A value is invalid; the message names the setting.
    """
    values = {**read_local_values(), **(os.environ if environ is None else environ)}
    names = {field.alias for field in AssistantSettings.model_fields.values() if field.alias}
    # An empty value means "not set", as for the other settings.
    given = {name: value for name, value in values.items() if name in names and value != ""}
    try:
        return AssistantSettings.model_validate(given)
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False, include_input=False):
            location = ".".join(str(part) for part in item["loc"])
            problems.append(f"{location}: {str(item['msg']).removeprefix('Value error, ')}")
        raise SettingsError("Invalid settings: " + "; ".join(problems)) from None
