"""The assistant sample as the composition root picks it: settings, catalog, start-up check."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import get_args

import pytest

from bot.samples.assistant import Assistant
from bot.samples.catalog import SAMPLES, create_sample, validate_sample
from bot.samples.skills.settings import APP_ROOT, load_assistant_settings
from bot.settings import Settings, SettingsError, get_settings, load_settings
from bot.skills import SkillConfigError

ASSISTANT_SETTINGS = (
    "SKILLS_CONFIG_PATH",
    "EVENTS_CONFIG_PATH",
    "CALENDAR_SOURCE_PATH",
    "CALENDAR_REMINDER_LEAD_MINUTES",
    "CALENDAR_REMINDER_LEAD_SECONDS",
    "DEFAULT_TIMEZONE",
)


@pytest.fixture(autouse=True)
def _configured(configured: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid settings from the environment only, none of the assistant's set."""
    for name in ASSISTANT_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()


def settings(**values: str) -> Settings:
    """Valid settings (local development) with these values."""
    return load_settings(
        BOT_AUTH_DISABLED="true",
        COSMOS_ENDPOINT="https://127.0.0.1:8081",
        AzureWebJobsStorage="UseDevelopmentStorage=true",
        **values,
    )


def test_the_defaults_point_at_the_shipped_files() -> None:
    assistant = load_assistant_settings()

    assert assistant.skills_path == APP_ROOT / "config" / "skills.json"
    assert assistant.events_path == APP_ROOT / "config" / "events.json"
    assert assistant.calendar_path == APP_ROOT / "config" / "calendar.sample.json"
    assert assistant.reminder_lead == timedelta(minutes=10)
    assert assistant.default_timezone == "UTC"
    assert assistant.calendar_path.is_file()


def test_seconds_win_over_minutes_and_empty_values_mean_unset() -> None:
    assistant = load_assistant_settings(
        settings(
            CALENDAR_REMINDER_LEAD_MINUTES="5",
            CALENDAR_REMINDER_LEAD_SECONDS="717",
            DEFAULT_TIMEZONE="",
            SKILLS_CONFIG_PATH="",
            CALENDAR_SOURCE_PATH="/data/calendar.ics",
        )
    )

    assert assistant.reminder_lead == timedelta(seconds=717)
    assert assistant.default_timezone == "UTC"
    assert assistant.skills_path == APP_ROOT / "config" / "skills.json"
    assert assistant.calendar_path == Path("/data/calendar.ics")


def test_without_an_argument_the_process_settings_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("CALENDAR_REMINDER_LEAD_MINUTES", "3")
    get_settings.cache_clear()

    assistant = load_assistant_settings()

    assert assistant.default_timezone == "Europe/Paris"
    assert assistant.reminder_lead == timedelta(minutes=3)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEFAULT_TIMEZONE", "Mars/Base"),
        ("CALENDAR_REMINDER_LEAD_MINUTES", "-1"),
        ("CALENDAR_REMINDER_LEAD_SECONDS", "soon"),
    ],
)
def test_a_bad_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        settings(**{name: value})


def test_the_catalog_has_every_sample_the_setting_allows() -> None:
    assert sorted(SAMPLES) == sorted(get_args(Settings.model_fields["bot_sample"].annotation))


def test_the_catalog_has_the_assistant() -> None:
    assert "assistant" in SAMPLES
    assert SAMPLES["assistant"] is Assistant
    assistant = create_sample("assistant")

    assert isinstance(assistant, Assistant)
    assert [skill.id for skill in assistant.skills.skills] == ["calendar", "reminders", "briefing"]


def test_validating_the_sample_fails_on_a_malformed_skills_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    skills = tmp_path / "skills.json"
    skills.write_text(json.dumps({"skills": [{"id": "calendar", "name": "Calendar"}]}), "utf-8")
    monkeypatch.setenv("SKILLS_CONFIG_PATH", str(skills))
    get_settings.cache_clear()

    with pytest.raises(SkillConfigError) as caught:
        validate_sample("assistant")

    assert caught.value.file == skills
    assert caught.value.entry == "skills[0] (id 'calendar')"
    assert caught.value.reason == "class: is required"


def test_validating_the_sample_fails_on_a_malformed_event_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = tmp_path / "events.json"
    events.write_text(json.dumps({"skillEvents": [{"event": "DeviceStart", "skillIds": ["cal"]}]}))
    monkeypatch.setenv("EVENTS_CONFIG_PATH", str(events))
    get_settings.cache_clear()

    with pytest.raises(SkillConfigError, match="no skill has the id 'cal'"):
        validate_sample("assistant")


def test_the_other_samples_validate_without_configuration() -> None:
    validate_sample("echo")
    validate_sample("counter")
    with pytest.raises(ValueError, match="no sample bot 'nope'"):
        validate_sample("nope")


def test_the_echo_sample_does_not_import_the_assistant() -> None:
    # Cold start: the catalog imports only the chosen sample's module.
    code = (
        "import sys\n"
        "from bot.samples.catalog import validate_sample\n"
        "validate_sample('echo')\n"
        "print(sorted(m for m in sys.modules if m.startswith(('bot.skills', "
        "'bot.samples.assistant', 'bot.samples.skills'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=APP_ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
