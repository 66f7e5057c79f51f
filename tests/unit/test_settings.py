"""The settings loader: sources, precedence, and errors that name the setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.settings import DEFAULT_ALLOWED_SERVICE_URLS, SettingsError, load_settings

REQUIRED = {
    "MicrosoftAppId": "app-id",
    "MicrosoftAppPassword": "secret",
    "KEY_HASH_SECRET": "hmac-key",
    "COSMOS_ENDPOINT": "https://127.0.0.1:8081",
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
}


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the machine, and no local.settings.json is found by accident."""
    for name in [*REQUIRED, "BOT_AUTH_DISABLED", "REFERENCE_TTL_DAYS", "MicrosoftAppType"]:
        monkeypatch.delenv(name, raising=False)
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
