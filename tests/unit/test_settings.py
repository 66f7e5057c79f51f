"""The settings loader: sources, precedence, and errors that name the setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.settings import DEFAULT_ALLOWED_SERVICE_URLS, Settings, SettingsError, load_settings

REQUIRED = {
    "MicrosoftAppId": "app-id",
    "MicrosoftAppPassword": "secret",
    "KEY_HASH_SECRET": "hmac-key-of-at-least-thirty-two-bytes",
    "COSMOS_ENDPOINT": "https://127.0.0.1:8081",
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
}


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the machine, and no local.settings.json is found by accident."""
    for field in Settings.model_fields.values():
        assert field.alias
        monkeypatch.delenv(field.alias, raising=False)
    monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(tmp_path / "absent.json"))


def write_local_settings(path: Path, values: dict[str, str]) -> Path:
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values}), encoding="utf-8")
    return path


class TestSources:
    def test_reads_values_from_local_settings(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        file = write_local_settings(tmp_path / "local.settings.json", REQUIRED)
        monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(file))

        settings = load_settings()

        assert settings.app_id == "app-id"
        assert settings.cosmos_endpoint == "https://127.0.0.1:8081"

    def test_environment_wins_over_the_file(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        file = write_local_settings(
            tmp_path / "local.settings.json", {**REQUIRED, "REFERENCE_TTL_DAYS": "30"}
        )
        monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(file))
        monkeypatch.setenv("REFERENCE_TTL_DAYS", "7")

        assert load_settings().reference_ttl_days == 7

    def test_defaults_follow_the_contract(self) -> None:
        settings = load_settings(**REQUIRED)

        assert settings.app_type == "MultiTenant"
        assert settings.cosmos_database == "bot"
        assert settings.cosmos_verify_tls is True
        assert settings.proactive_queue_name == "proactive-sends"
        assert settings.schedule_timer == "0 * * * * *"
        assert settings.schedule_min_interval_seconds == 60
        assert settings.reference_ttl_days == 90
        assert settings.auth_disabled is False
        assert settings.allowed_service_urls == DEFAULT_ALLOWED_SERVICE_URLS
        assert settings.oauth_scope == "https://api.botframework.com/.default"
        assert settings.oauth_authority == "https://login.microsoftonline.com/botframework.com"

    def test_single_tenant_authority_uses_the_tenant(self) -> None:
        settings = load_settings(
            **REQUIRED, MicrosoftAppType="SingleTenant", MicrosoftAppTenantId="tenant-1"
        )

        assert settings.oauth_authority == "https://login.microsoftonline.com/tenant-1"

    def test_allowed_service_urls_is_a_comma_list(self) -> None:
        settings = load_settings(
            **REQUIRED, BOT_ALLOWED_SERVICE_URLS=" https://a.example , http://127.0.0.1:* "
        )

        assert settings.allowed_service_urls == ("https://a.example", "http://127.0.0.1:*")


class TestMissingAndInvalid:
    @pytest.mark.parametrize(
        "name", ["MicrosoftAppId", "KEY_HASH_SECRET", "COSMOS_ENDPOINT", "AzureWebJobsStorage"]
    )
    def test_missing_required_setting_is_named(self, name: str) -> None:
        values = {key: value for key, value in REQUIRED.items() if key != name}

        with pytest.raises(SettingsError, match=name):
            load_settings(**values)

    def test_missing_secret_is_named_unless_a_certificate_is_given(self) -> None:
        values = {key: value for key, value in REQUIRED.items() if key != "MicrosoftAppPassword"}

        with pytest.raises(SettingsError, match="MicrosoftAppPassword"):
            load_settings(**values)
        assert load_settings(**values, MicrosoftAppCertificatePath="/cert.pem")

    def test_managed_identity_needs_no_secret(self) -> None:
        values = {key: value for key, value in REQUIRED.items() if key != "MicrosoftAppPassword"}

        assert load_settings(**values, MicrosoftAppType="UserAssignedMSI").app_password is None

    def test_single_tenant_needs_a_tenant(self) -> None:
        with pytest.raises(SettingsError, match="MicrosoftAppTenantId"):
            load_settings(**REQUIRED, MicrosoftAppType="SingleTenant")

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("REFERENCE_TTL_DAYS", "ninety"),
            ("REFERENCE_TTL_DAYS", "0"),
            ("SCHEDULE_MIN_INTERVAL_SECONDS", "-5"),
            ("MicrosoftAppType", "Anonymous"),
            ("BOT_AUTH_DISABLED", "maybe"),
            ("COSMOS_VERIFY_TLS", "sometimes"),
        ],
    )
    def test_invalid_value_is_named(self, name: str, value: str) -> None:
        with pytest.raises(SettingsError, match=name):
            load_settings(**{**REQUIRED, name: value})

    def test_invalid_value_in_the_environment_is_named(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("REFERENCE_TTL_DAYS", "soon")

        with pytest.raises(SettingsError, match="REFERENCE_TTL_DAYS"):
            load_settings(**REQUIRED)

    def test_broken_local_settings_file_is_named(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        file = tmp_path / "local.settings.json"
        file.write_text("{not json", encoding="utf-8")
        monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(file))

        with pytest.raises(SettingsError, match=r"local\.settings\.json"):
            load_settings(**REQUIRED)

    def test_auth_disabled_needs_no_app_id_or_hash_key(self) -> None:
        settings = load_settings(
            BOT_AUTH_DISABLED="true",
            COSMOS_ENDPOINT="https://127.0.0.1:8081",
            AzureWebJobsStorage="UseDevelopmentStorage=true",
        )

        assert settings.auth_disabled is True
        assert settings.app_id == ""


def test_allowed_service_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_ALLOWED_SERVICE_URLS", "http://127.0.0.1:*,https://x.example")

    assert load_settings(**REQUIRED).allowed_service_urls == (
        "http://127.0.0.1:*",
        "https://x.example",
    )


@pytest.mark.parametrize("name", ["KEY_HASH_SECRET", "MicrosoftAppPassword", "COSMOS_KEY"])
def test_unresolved_key_vault_reference_is_refused(name: str) -> None:
    reference = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x/)"

    with pytest.raises(SettingsError, match=f"{name}.*Key Vault"):
        load_settings(**{**REQUIRED, name: reference})


NEW_SETTINGS_EMPTY = {
    "SKILLS_CONFIG_PATH": "",
    "EVENTS_CONFIG_PATH": "",
    "CALENDAR_SOURCE_PATH": "",
    "CARD_TEMPLATES_PATH": "",
    "CALENDAR_REMINDER_LEAD_MINUTES": "",
    "CALENDAR_REMINDER_LEAD_SECONDS": "",
    "DEFAULT_TIMEZONE": "",
    "THROTTLE_ENABLED": "",
    "THROTTLE_MAX_WAIT_SECONDS": "",
    "THROTTLE_MARGIN_SECONDS": "",
    "THROTTLE_RECORD_CACHE_SECONDS": "",
    "THROTTLE_LIMITS": " ",
}


def test_the_edit_wait_is_a_setting() -> None:
    assert load_settings(**REQUIRED).proactive_edit_wait_seconds == 600.0
    assert (
        load_settings(**REQUIRED, PROACTIVE_EDIT_WAIT_SECONDS="30").proactive_edit_wait_seconds
        == 30.0
    )
    with pytest.raises(SettingsError, match="PROACTIVE_EDIT_WAIT_SECONDS"):
        load_settings(**REQUIRED, PROACTIVE_EDIT_WAIT_SECONDS="-1")


class TestAssistantAndThrottleSettings:
    def test_defaults(self) -> None:
        settings = load_settings(**REQUIRED)

        assert settings.bot_sample == "echo"
        assert settings.skills_config_path == "config/skills.json"
        assert settings.events_config_path == "config/events.json"
        assert settings.calendar_source_path == "config/calendar.sample.json"
        assert settings.calendar_reminder_lead_minutes == 10
        assert settings.calendar_reminder_lead_seconds is None
        assert settings.default_timezone == "UTC"
        assert settings.throttle_enabled is True
        assert settings.throttle_max_wait_seconds == 3.0
        assert settings.throttle_margin_seconds == 0.02
        assert settings.throttle_record_cache_seconds == 1.0
        assert settings.throttle_limits == ""

    def test_values_are_read(self) -> None:
        settings = load_settings(
            **REQUIRED,
            BOT_SAMPLE="assistant",
            CALENDAR_REMINDER_LEAD_SECONDS="30",
            DEFAULT_TIMEZONE="Europe/Berlin",
            THROTTLE_ENABLED="false",
            THROTTLE_MAX_WAIT_SECONDS="inf",
            THROTTLE_LIMITS='{"msteams": {"tenant": [[30, 1]]}}',
        )

        assert settings.bot_sample == "assistant"
        assert settings.calendar_reminder_lead_seconds == 30
        assert settings.default_timezone == "Europe/Berlin"
        assert settings.throttle_enabled is False
        assert settings.throttle_max_wait_seconds == float("inf")
        assert settings.throttle_limits == '{"msteams": {"tenant": [[30, 1]]}}'

    def test_empty_values_in_the_environment_mean_unset(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for name, value in NEW_SETTINGS_EMPTY.items():
            monkeypatch.setenv(name, value)

        self._assert_defaults(load_settings(**REQUIRED))

    def test_empty_values_in_local_settings_mean_unset(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        file = write_local_settings(
            tmp_path / "local.settings.json", {**REQUIRED, **NEW_SETTINGS_EMPTY}
        )
        monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(file))

        self._assert_defaults(load_settings())

    @staticmethod
    def _assert_defaults(settings: Settings) -> None:
        defaults = load_settings(**REQUIRED)
        for name in NEW_SETTINGS_EMPTY:
            field = next(f for f, info in Settings.model_fields.items() if info.alias == name)
            assert getattr(settings, field) == getattr(defaults, field), name

    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            ("DEFAULT_TIMEZONE", "Mars/Base", "not an IANA time zone"),
            ("DEFAULT_TIMEZONE", "Europe", "not an IANA time zone"),
            ("CALENDAR_REMINDER_LEAD_MINUTES", "1441", "less than or equal"),
            ("CALENDAR_REMINDER_LEAD_SECONDS", "-1", "greater than or equal"),
            ("THROTTLE_LIMITS", "[]", "JSON object"),
            ("THROTTLE_LIMITS", "{not json", "not JSON"),
            ("THROTTLE_LIMITS", '{"msteams": {"tenant": [[0, 1]]}}', "msteams"),
            ("THROTTLE_ENABLED", "maybe", "boolean"),
            ("THROTTLE_MAX_WAIT_SECONDS", "-1", "greater than or equal"),
            ("THROTTLE_MARGIN_SECONDS", "inf", "finite"),
            ("BOT_SAMPLE", "nope", "assistant"),
        ],
    )
    def test_a_bad_value_is_named(self, name: str, value: str, message: str) -> None:
        with pytest.raises(SettingsError, match=f"{name}: .*{message}"):
            load_settings(**{**REQUIRED, name: value})

    def test_a_bad_value_in_local_settings_is_named(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        file = write_local_settings(
            tmp_path / "local.settings.json", {**REQUIRED, "THROTTLE_LIMITS": "[]"}
        )
        monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(file))

        with pytest.raises(SettingsError, match="THROTTLE_LIMITS"):
            load_settings()


AZURE_ONLY = {
    "AZURE_CLIENT_ID": "the managed identity; locally the emulators take keys",
    "AzureWebJobsStorage__queueServiceUri": "an empty AzureWebJobsStorage__* entry could make "
    "the Functions host read the connection as identity-based",
    "AzureWebJobsStorage__clientId": "the same",
    "WEBSITE_INSTANCE_ID": "set by Azure itself; locally its absence allows development switches",
    "WEBSITE_SITE_NAME": "the same",
}
"""Settings local.settings.sample.json leaves out on purpose, and why."""


def test_every_setting_is_in_the_local_settings_sample() -> None:
    sample = json.loads(
        (Path(__file__).resolve().parents[2] / "local.settings.sample.json").read_text("utf-8")
    )
    names = {field.alias or name for name, field in Settings.model_fields.items()}
    assert sorted(names - set(sample["Values"]) - set(AZURE_ONLY)) == []
    assert sorted(set(AZURE_ONLY) - names) == [], "an exempted setting no longer exists"
    # The sample must also load: it is what `make run` copies.
    assert load_settings(**sample["Values"]).bot_sample == "echo"


class TestAzure:
    """Development switches are refused where the platform says the app runs in Azure."""

    @pytest.mark.parametrize("marker", ["WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME"])
    def test_auth_disabled_is_refused_in_azure(self, marker: str) -> None:
        with pytest.raises(SettingsError, match="BOT_AUTH_DISABLED: must not be true in Azure"):
            load_settings(**REQUIRED, BOT_AUTH_DISABLED="true", **{marker: "x"})

    def test_auth_disabled_is_allowed_locally(self) -> None:
        settings = load_settings(**REQUIRED, BOT_AUTH_DISABLED="true")

        assert settings.auth_disabled
        assert not settings.running_in_azure

    @pytest.mark.parametrize(
        "entry",
        ["http://127.0.0.1:*", "http://localhost:3978", "http://[::1]:80", "http://127.9.9.9"],
    )
    def test_a_loopback_service_url_is_refused_in_azure(self, entry: str) -> None:
        with pytest.raises(SettingsError, match="BOT_ALLOWED_SERVICE_URLS: the loopback entry"):
            load_settings(
                **REQUIRED,
                BOT_ALLOWED_SERVICE_URLS=f"https://x.example,{entry}",
                WEBSITE_INSTANCE_ID="x",
            )

    def test_the_default_service_urls_pass_in_azure(self) -> None:
        assert load_settings(**REQUIRED, WEBSITE_INSTANCE_ID="x").running_in_azure

    @pytest.mark.parametrize("secret", ["k", "x" * 31, "é" * 15])
    def test_a_short_key_hash_secret_is_refused(self, secret: str) -> None:
        with pytest.raises(SettingsError, match="KEY_HASH_SECRET: must be at least 32 bytes"):
            load_settings(**{**REQUIRED, "KEY_HASH_SECRET": secret})

    def test_the_refusal_does_not_show_the_secret(self) -> None:
        with pytest.raises(SettingsError) as raised:
            load_settings(**{**REQUIRED, "KEY_HASH_SECRET": "short-secret"})

        assert "short-secret" not in str(raised.value)

    def test_a_32_byte_key_hash_secret_is_accepted(self) -> None:
        # Bytes, not characters: 16 two-byte characters are 32 bytes.
        assert load_settings(**{**REQUIRED, "KEY_HASH_SECRET": "é" * 16}).key_hash_secret

    def test_emulator_auth_in_azure_warns_at_start_up(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        from bot.settings import get_settings

        for name, value in REQUIRED.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("WEBSITE_SITE_NAME", "bot")
        monkeypatch.setenv("BOT_EMULATOR_AUTH_ENABLED", "true")
        get_settings.cache_clear()
        try:
            get_settings()
        finally:
            get_settings.cache_clear()

        assert "BOT_EMULATOR_AUTH_ENABLED=true in Azure" in caplog.text
