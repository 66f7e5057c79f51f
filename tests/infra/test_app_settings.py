"""The app settings the Bicep sets, cross-checked against every setting the code reads.

Every field of ``bot.settings.Settings`` is classified below, so a new setting fails these tests
until someone decides whether the Bicep must set it. The last tests feed exactly what the Bicep
sets into ``load_settings`` and check that the app would start with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings
from tests.infra.bicep_tree import INFRA_DIR, Expression, has_ancestor, read, to_python, walk

SET_BY_BICEP: dict[str, str] = {
    "MicrosoftAppId": "required outside local development: the audience of inbound tokens",
    "MicrosoftAppType": "the code defaults to MultiTenant; the template deploys another type",
    "MicrosoftAppTenantId": "SingleTenant and UserAssignedMSI are tenant-bound",
    "COSMOS_ENDPOINT": "required",
    "COSMOS_DATABASE": "must name the database the template creates",
    "AZURE_CLIENT_ID": "selects the user-assigned identity for Cosmos DB and storage",
    "AzureWebJobsStorage__queueServiceUri": "required (identity-based storage connection)",
    "AzureWebJobsStorage__clientId": "selects the identity of the storage connection",
    "PROACTIVE_QUEUE_NAME": "must name the queue the template creates",
    "SCHEDULE_TIMER": "kept visible and changeable per environment",
    "SCHEDULE_MIN_INTERVAL_SECONDS": "kept visible and changeable per environment",
    "REFERENCE_TTL_DAYS": "kept visible and changeable per environment",
    "KEY_HASH_SECRET": "required outside local development (a Key Vault reference)",
}
"""Settings the Bicep sets unconditionally, and why."""

SET_FOR_SINGLE_TENANT = {"MicrosoftAppPassword": "a Key Vault reference to the client secret"}

SET_FOR_GOVERNMENT = {
    "BOT_OPENID_METADATA_URL": "US Government channel metadata",
    "BOT_TOKEN_ISSUER": "US Government channel token issuer",
    "BOT_OAUTH_AUTHORITY": "US Government login host",
    "BOT_OAUTH_SCOPE": "US Government Bot Framework scope",
}
"""Settings set only for botCloud=AzureUSGovernment; in public Azure the code defaults apply."""

LEFT_TO_CODE_DEFAULT = {
    "BOT_ALLOWED_SERVICE_URLS": "the default lists the Bot Framework and Teams hosts (https)",
    "BOT_SAMPLE": "the sample bot to run; the default is right until you ship your own bot",
    "PROACTIVE_API_ROLE": "defaults to Proactive.Send",
    "PROACTIVE_API_SCHEDULE_ROLE": "defaults to Proactive.Schedules",
    "PROACTIVE_API_READ_ROLE": "defaults to Proactive.Read",
    "PROACTIVE_SEND_LEASE_SECONDS": "60 s, below the Functions host's 10-minute message lease",
    "PROACTIVE_MAX_ATTEMPTS": "10 tries, then a Failed receipt and a poison entry",
    "PROACTIVE_RETRY_MAX_DELAY_SECONDS": "600 s without Retry-After",
    "PROACTIVE_EDIT_WAIT_SECONDS": "a queued edit waits 10 minutes for its delivery",
    "SKILLS_CONFIG_PATH": "the assistant's skills file ships with the app package",
    "EVENTS_CONFIG_PATH": "the assistant's event map file ships with the app package",
    "CALENDAR_SOURCE_PATH": "the sample calendar ships with the app package",
    "CARD_TEMPLATES_PATH": "the card templates ship with the app package",
    "CALENDAR_REMINDER_LEAD_MINUTES": "ten minutes suits the sample; change it per bot",
    "DEFAULT_TIMEZONE": "UTC until a user's own zone is known",
    "THROTTLE_ENABLED": "the governor is on wherever the bot sends",
    "THROTTLE_MAX_WAIT_SECONDS": "the defaults follow the Teams limits",
    "THROTTLE_MARGIN_SECONDS": "the defaults follow the Teams limits",
    "THROTTLE_RECORD_CACHE_SECONDS": "the defaults follow the Teams limits",
    "THROTTLE_LEASE_SECONDS": "budget shares across instances (docs/rate-limits.md)",
    "THROTTLE_TENANT_SHARES": "budget shares across instances (docs/rate-limits.md)",
    "GRAPH_ENDPOINT": "the public Microsoft Graph; another cloud's is set by its operator",
    "GRAPH_SCOPE": "the public Microsoft Graph's",
}

SET_WITH_THE_CALLER_POLICY = {
    "PROACTIVE_API_AUDIENCE": "Entra ID on the management API needs an app registration the "
    "template cannot create: set by the proactiveApiAudience parameter, absent while it is empty",
    "PROACTIVE_API_TENANT_ID": "only with PROACTIVE_API_AUDIENCE (the deployment's tenant)",
    "PROACTIVE_API_ALLOWED_CLIENT_IDS": "only with PROACTIVE_API_AUDIENCE; empty allows any app",
}
"""Set by api.bicep only while the proactiveApiAudience parameter is not empty."""

OPT_IN = {
    "PROACTIVE_API_ALLOW_DELEGATED": "delegated (user) tokens are refused unless an operator "
    "turns them on",
    "PROACTIVE_API_OPENID_METADATA_URL": "only with PROACTIVE_API_AUDIENCE (from the tenant)",
    "PROACTIVE_API_ISSUERS": "only with PROACTIVE_API_AUDIENCE (derived from the tenant)",
    "CALENDAR_REMINDER_LEAD_SECONDS": "a finer reminder lead for tests; empty: the minutes apply",
    "THROTTLE_LIMITS": "stricter or other channels' limits; empty: the Teams limits apply",
    "GRAPH_INSTALL_APP": "installing the app for users needs a Graph permission an admin "
    "grants (docs/deployment.md): off until an operator turns it on",
    "TEAMS_APP_CATALOG_ID": "only with GRAPH_INSTALL_APP (the tenant's app catalog id)",
}
"""Features that are off while their setting is empty; an operator turns them on."""

MUST_NOT_BE_SET = {
    "BOT_AUTH_DISABLED": "local development only",
    "BOT_EMULATOR_AUTH_ENABLED": "local development only",
    "COSMOS_KEY": "account keys are disabled; the managed identity is used",
    "COSMOS_VERIFY_TLS": "only for the local emulator's certificate",
    "AzureWebJobsStorage": "a connection string needs a shared key; the __ form is used",
    "MicrosoftAppCertificatePath": "the template uses a managed identity or a client secret",
}

SET_BY_PLATFORM = {
    "WEBSITE_INSTANCE_ID": "App Service sets it on every instance: the app runs in Azure",
    "WEBSITE_SITE_NAME": "App Service sets it: the app runs in Azure",
}
"""Settings Azure sets itself; the code reads them to refuse development switches."""

HOST_SETTINGS = {
    "AzureWebJobsStorage__credential": "the Functions host's identity-based connection",
    "AzureWebJobsStorage__blobServiceUri": "the Functions host (keys, timer locks)",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "telemetry",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "telemetry with Entra auth",
}
"""Settings the Functions host reads, not the code."""

_KEY_VAULT_REFERENCE = re.compile(
    r"'@Microsoft\.KeyVault\(VaultName=\$\{keyVaultName\};SecretName=\$\{\w+\}\)'"
)
_GUID = "6d1b6c0e-4bd4-4a8e-9a2f-3c1d2e4f5a6b"
_TENANT = "0f0e0d0c-0b0a-4908-8706-050403020100"


@dataclass(frozen=True)
class BicepSetting:
    """One app setting in api.bicep: its value and whether it sits behind a condition."""

    name: str
    value: str | Expression
    variable: str
    conditional: bool


def _aliases() -> set[str]:
    return {field.alias or name for name, field in Settings.model_fields.items()}


def _api_settings() -> dict[str, BicepSetting]:
    api = read(INFRA_DIR / "app" / "api.bicep")
    found: dict[str, BicepSetting] = {}
    for variable in api.of_kind("var"):
        if not variable.name.endswith("Settings") or variable.node is None:
            continue
        for node in walk(variable.node):
            if node.type != "object":
                continue
            entry = to_python(node)
            if set(entry) == {"name", "value"}:
                assert entry["name"] not in found, f"{entry['name']} is set twice"
                # The list sits behind a condition (`cond ? [] : [...]`) or inside one.
                conditional = variable.node.type == "ternary_expression" or has_ancestor(
                    node, "ternary_expression", variable.node
                )
                found[entry["name"]] = BicepSetting(
                    entry["name"], entry["value"], variable.name, conditional
                )
    return found


def _government_settings() -> list[dict[str, object]]:
    by_cloud = read(INFRA_DIR / "main.bicep").get("var", "botAuthSettingsByCloud").value
    assert by_cloud["AzureCloud"] == []
    return list(by_cloud["AzureUSGovernment"])


# ---------------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------------


def test_every_setting_of_the_code_is_classified_once() -> None:
    groups = [
        SET_BY_BICEP,
        SET_FOR_SINGLE_TENANT,
        SET_FOR_GOVERNMENT,
        LEFT_TO_CODE_DEFAULT,
        OPT_IN,
        MUST_NOT_BE_SET,
        SET_BY_PLATFORM,
        SET_WITH_THE_CALLER_POLICY,
    ]
    classified = [name for group in groups for name in group]
    assert len(classified) == len(set(classified)), "a setting is classified twice"
    assert sorted(_aliases() - set(classified)) == [], "classify the new setting above"
    assert sorted(set(classified) - _aliases()) == [], "a classified setting no longer exists"


def test_settings_without_a_default_are_not_left_to_the_code() -> None:
    for name, field in Settings.model_fields.items():
        alias = field.alias or name
        if field.default in ("", None):
            assert alias not in LEFT_TO_CODE_DEFAULT, f"{alias} has no default to fall back on"


# ---------------------------------------------------------------------------------------------
# What api.bicep sets
# ---------------------------------------------------------------------------------------------


def test_every_required_setting_is_set_unconditionally() -> None:
    settings = _api_settings()
    missing = sorted(set(SET_BY_BICEP) - set(settings))
    assert missing == []
    conditional = sorted(name for name in SET_BY_BICEP if settings[name].conditional)
    assert conditional == []


def test_the_client_secret_is_set_only_for_single_tenant_as_a_key_vault_reference() -> None:
    setting = _api_settings()["MicrosoftAppPassword"]
    assert setting.conditional
    assert isinstance(setting.value, Expression)
    assert _KEY_VAULT_REFERENCE.fullmatch(setting.value.text)


def test_key_hash_secret_is_a_key_vault_reference_not_a_value() -> None:
    value = _api_settings()["KEY_HASH_SECRET"].value
    assert isinstance(value, Expression)
    assert _KEY_VAULT_REFERENCE.fullmatch(value.text)


def test_nothing_is_set_that_must_not_be() -> None:
    names = set(_api_settings()) | {str(entry["name"]) for entry in _government_settings()}
    assert sorted(names & set(MUST_NOT_BE_SET)) == []


def test_every_name_set_is_known_to_the_code_or_the_host() -> None:
    known = _aliases() | set(HOST_SETTINGS)
    assert sorted(set(_api_settings()) - known) == [], "a typo in an app setting name?"


def test_the_host_gets_its_identity_based_storage_and_telemetry_settings() -> None:
    settings = _api_settings()
    assert sorted(set(HOST_SETTINGS) - set(settings)) == []
    assert settings["AzureWebJobsStorage__credential"].value == "managedidentity"
    # Flex Consumption takes the runtime from functionAppConfig, never from app settings.
    assert "FUNCTIONS_WORKER_RUNTIME" not in settings
    assert "FUNCTIONS_EXTENSION_VERSION" not in settings


def test_every_settings_list_reaches_the_site() -> None:
    api = read(INFRA_DIR / "app" / "api.bicep")
    site = api.get("resource", "functionApp").value
    combined = site["properties"]["siteConfig"]["appSettings"]
    assert isinstance(combined, Expression)
    lists = {v.name for v in api.of_kind("var") if v.name.endswith("Settings")} | {
        "botAuthSettings"
    }
    assert lists <= set(re.findall(r"\w+", combined.text))


def test_the_caller_policy_settings_are_set_together_from_main_parameters() -> None:
    settings = _api_settings()
    api = read(INFRA_DIR / "app" / "api.bicep")
    caller_policy = api.get("var", "proactiveApiSettings")
    assert caller_policy.node is not None
    assert caller_policy.node.text is not None
    assert caller_policy.node.text.decode().startswith("empty(proactiveApiAudience) ? [] :")
    for name in SET_WITH_THE_CALLER_POLICY:
        assert settings[name].variable == "proactiveApiSettings", name
        assert settings[name].conditional, name
    passed = read(INFRA_DIR / "main.bicep").get("module", "api").value["params"]
    assert passed["proactiveApiAudience"] == Expression("proactiveApiAudience")
    assert "tenant().tenantId" in passed["proactiveApiTenantId"].text
    assert read(INFRA_DIR / "main.bicep").get("param", "proactiveApiAudience").value == ""


def test_government_settings_are_exactly_the_bot_auth_settings() -> None:
    names = sorted(str(entry["name"]) for entry in _government_settings())
    assert names == sorted(SET_FOR_GOVERNMENT)


def test_pinned_defaults_equal_the_code_defaults() -> None:
    main = read(INFRA_DIR / "main.bicep")
    pairs = {
        "cosmosDatabaseName": "cosmos_database",
        "proactiveQueueName": "proactive_queue_name",
        "scheduleTimer": "schedule_timer",
        "scheduleMinIntervalSeconds": "schedule_min_interval_seconds",
        "referenceTtlDays": "reference_ttl_days",
    }
    for parameter, field in pairs.items():
        assert main.get("param", parameter).value == Settings.model_fields[field].default


# ---------------------------------------------------------------------------------------------
# The app starts with exactly what the Bicep sets
# ---------------------------------------------------------------------------------------------

# Values only known at deployment time, by setting name. Key Vault references stand for the
# secret App Service resolves them to.
_STAND_INS = {
    "AzureWebJobsStorage__clientId": _GUID,
    "AzureWebJobsStorage__blobServiceUri": "https://stexample.blob.core.windows.net/",
    "AzureWebJobsStorage__queueServiceUri": "https://stexample.queue.core.windows.net/",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=" + _GUID,
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": f"ClientId={_GUID};Authorization=AAD",
    "MicrosoftAppId": _GUID,
    "MicrosoftAppTenantId": _TENANT,
    "MicrosoftAppPassword": "client secret resolved from Key Vault",
    "AZURE_CLIENT_ID": _GUID,
    "COSMOS_ENDPOINT": "https://cosmos-example.documents.azure.com:443/",
    # The template's default is a GUID (36 bytes, 122 random bits).
    "KEY_HASH_SECRET": _GUID,
    "PROACTIVE_API_AUDIENCE": "api://proactive-bot",
    "PROACTIVE_API_TENANT_ID": _TENANT,
    "PROACTIVE_API_ALLOWED_CLIENT_IDS": "",
}

# Values that come from a module output which equals a main.bicep parameter.
_FROM_MAIN_PARAMETER = {"COSMOS_DATABASE": "cosmosDatabaseName"}


def _deployed_value(setting: BicepSetting, app_type: str) -> str:
    """The value App Service would hold: a literal, a main.bicep default, or a stand-in."""
    if isinstance(setting.value, str):
        return setting.value
    if setting.name == "MicrosoftAppType":
        return app_type
    if setting.name in _STAND_INS:
        return _STAND_INS[setting.name]
    main = read(INFRA_DIR / "main.bicep")
    if setting.name in _FROM_MAIN_PARAMETER:
        return str(main.get("param", _FROM_MAIN_PARAMETER[setting.name]).value)
    # A value passed straight through from a main.bicep parameter: use its default.
    match = re.fullmatch(r"(?:string\()?(\w+)\)?", setting.value.text)
    assert match, f"{setting.name}: add a stand-in for {setting.value.text}"
    passed = main.get("module", "api").value["params"][match.group(1)]
    assert isinstance(passed, Expression), setting.name
    return str(main.get("param", passed.text).value)


@pytest.fixture
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting from the process environment or a local.settings.json."""
    for alias in _aliases():
        monkeypatch.delenv(alias, raising=False)
    monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(tmp_path / "absent.json"))
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("isolated_environment")
@pytest.mark.parametrize("app_type", ["UserAssignedMSI", "SingleTenant"])
def test_the_code_accepts_the_deployed_settings(app_type: str) -> None:
    values = {
        setting.name: _deployed_value(setting, app_type)
        for setting in _api_settings().values()
        if not setting.conditional or app_type == "SingleTenant"
    }
    # As in Azure, where development switches are refused.
    values["WEBSITE_INSTANCE_ID"] = "0" * 64
    settings = load_settings(**{k: v for k, v in values.items() if k in _aliases()})
    assert settings.running_in_azure
    assert settings.app_type == app_type
    assert settings.auth_disabled is False
    assert settings.cosmos_key is None
    assert settings.storage_connection == ""
    assert settings.storage_queue_service_uri.startswith("https://")
    assert (settings.app_password is not None) == (app_type == "SingleTenant")
    if app_type == "SingleTenant":
        # The conditional lists are in: the caller policy's settings load as well.
        from bot.auth.api_callers import ApiCallerSettings

        callers = ApiCallerSettings.from_values(values)
        assert callers.enabled
        assert callers.tenant_id == _TENANT


@pytest.mark.usefixtures("isolated_environment")
def test_the_code_refuses_the_settings_without_the_key_hash_secret() -> None:
    # The cross-check above is only meaningful if a missing required setting does fail.
    values = {
        setting.name: _deployed_value(setting, "UserAssignedMSI")
        for setting in _api_settings().values()
        if not setting.conditional and setting.name in _aliases()
    }
    del values["KEY_HASH_SECRET"]
    with pytest.raises(SettingsError, match="KEY_HASH_SECRET"):
        load_settings(**values)
