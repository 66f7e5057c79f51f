"""The THROTTLE_* settings and the per-channel limits."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bot.channel_limits import NO_LIMITS, TEAMS_LIMITS, ChannelLimits, Window, parse_limits
from bot.settings import Settings, SettingsError, get_settings, load_settings
from bot.throttling.config import GovernorConfig, load_governor_config

THROTTLE_SETTINGS = (
    "THROTTLE_ENABLED",
    "THROTTLE_MAX_WAIT_SECONDS",
    "THROTTLE_MARGIN_SECONDS",
    "THROTTLE_RECORD_CACHE_SECONDS",
    "THROTTLE_LIMITS",
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No THROTTLE_* setting from the machine or a local.settings.json."""
    for name in THROTTLE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(tmp_path / "absent.json"))


def settings(**values: str) -> Settings:
    """Valid settings (local development) with these THROTTLE_* values."""
    return load_settings(
        BOT_AUTH_DISABLED="true",
        COSMOS_ENDPOINT="https://127.0.0.1:8081",
        AzureWebJobsStorage="UseDevelopmentStorage=true",
        **values,
    )


def test_defaults_are_teams_limits_for_msteams_and_none_elsewhere() -> None:
    config = load_governor_config(settings())

    assert config.enabled is True
    assert config.max_wait_seconds == 3.0
    assert config.margin_seconds == 0.02
    assert config.limits_for("msteams") == TEAMS_LIMITS
    assert config.limits_for("slack") == NO_LIMITS
    assert TEAMS_LIMITS.conversation == (
        Window(7, 1),
        Window(8, 2),
        Window(60, 30),
        Window(1800, 3600),
    )
    assert TEAMS_LIMITS.tenant == (Window(50, 1),)


def test_settings_override_the_defaults() -> None:
    config = load_governor_config(
        settings(
            THROTTLE_ENABLED="false",
            THROTTLE_MAX_WAIT_SECONDS="10",
            THROTTLE_MARGIN_SECONDS="0",
            THROTTLE_RECORD_CACHE_SECONDS="2.5",
            THROTTLE_LIMITS='{"msteams": {"conversation": [[7, 1]], "tenant": [[30, 1]]},'
            ' "*": {"conversation": [[1, 1]]}}',
        )
    )

    assert (config.enabled, config.max_wait_seconds, config.margin_seconds) == (False, 10.0, 0.0)
    assert config.record_cache_seconds == 2.5
    assert config.limits_for("msteams") == ChannelLimits((Window(7, 1),), (Window(30, 1),))
    assert config.limits_for("webchat") == ChannelLimits((Window(1, 1),))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("THROTTLE_ENABLED", "maybe", "THROTTLE_ENABLED"),
        ("THROTTLE_MAX_WAIT_SECONDS", "soon", "THROTTLE_MAX_WAIT_SECONDS"),
        ("THROTTLE_MARGIN_SECONDS", "-1", "THROTTLE_MARGIN_SECONDS"),
        ("THROTTLE_MARGIN_SECONDS", "inf", "THROTTLE_MARGIN_SECONDS"),
        ("THROTTLE_RECORD_CACHE_SECONDS", "nan", "THROTTLE_RECORD_CACHE_SECONDS"),
        ("THROTTLE_MAX_WAIT_SECONDS", "nan", "THROTTLE_MAX_WAIT_SECONDS"),
        ("THROTTLE_LIMITS", "[]", "THROTTLE_LIMITS"),
        ("THROTTLE_LIMITS", '{"msteams": {"tenant": [[0, 1]]}}', "msteams"),
        ("THROTTLE_LIMITS", '{"msteams": {"tenant": [["50", 1]]}}', "msteams"),
        ("THROTTLE_LIMITS", '{"msteams": {"tenants": []}}', "unknown field"),
        ("THROTTLE_LIMITS", "{not json", "not JSON"),
    ],
)
def test_an_invalid_setting_is_named(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings(**{name: value})


@pytest.mark.usefixtures("configured")
def test_an_invalid_setting_in_the_environment_stops_the_default_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("THROTTLE_LIMITS", "[]")
    get_settings.cache_clear()

    with pytest.raises(SettingsError, match="THROTTLE_LIMITS"):
        load_governor_config()


@pytest.mark.usefixtures("configured")
def test_without_an_argument_the_process_settings_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("THROTTLE_MAX_WAIT_SECONDS", "inf")
    monkeypatch.setenv("THROTTLE_ENABLED", "false")
    get_settings.cache_clear()

    config = load_governor_config()

    assert (config.enabled, config.max_wait_seconds) == (False, math.inf)


def test_empty_values_mean_the_defaults() -> None:
    config = load_governor_config(settings(**dict.fromkeys(THROTTLE_SETTINGS, "")))

    assert config == GovernorConfig()


def test_the_dataclass_defaults_are_the_settings_defaults() -> None:
    # GovernorConfig() is what tests and benchmarks build directly; it must mean the same.
    assert load_governor_config(settings()) == GovernorConfig()


def test_an_empty_channel_entry_means_no_windows() -> None:
    assert parse_limits('{"msteams": {}}')["msteams"] == NO_LIMITS


def test_an_infinite_wait_never_defers_but_nan_is_refused() -> None:
    assert GovernorConfig(max_wait_seconds=math.inf).max_wait_seconds == math.inf
    with pytest.raises(ValueError, match="max_wait_seconds"):
        GovernorConfig(max_wait_seconds=math.nan)
