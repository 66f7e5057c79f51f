"""Typed settings, read the way the Functions host reads them.

Values come from ``local.settings.json`` ``Values`` first, then the process environment, and
the environment wins. The names are exactly the app-setting names of the contracts
(``MicrosoftAppId``, ``COSMOS_ENDPOINT``, ...), so the same names work in Azure app settings.
"""

from __future__ import annotations

import json
import logging
import os
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUseDefault
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_ALLOWED_SERVICE_URLS: tuple[str, ...] = (
    "https://smba.trafficmanager.net",
    "https://*.botframework.com",
    "https://smba.infra.gcc.teams.microsoft.com",
    "https://smba.infra.gov.teams.microsoft.us",
    "https://smba.infra.dod.teams.microsoft.us",
    "https://*.botframework.azure.us",
)
"""Bot Framework and Teams public and government hosts; https only."""

MIN_KEY_HASH_SECRET_BYTES = 32
"""The shortest ``KEY_HASH_SECRET``: an HMAC-SHA256 key as strong as the hash.

See docs/security-model.md, "The storage-id key".
"""

AZURE_MARKERS = ("WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME")
"""App settings App Service and Functions set on every instance in Azure, never locally."""

logger = logging.getLogger(__name__)

LOCAL_SETTINGS_FILE = "local.settings.json"
LOCAL_SETTINGS_PATH_VARIABLE = "LOCAL_SETTINGS_PATH"
"""Environment variable that points at another ``local.settings.json`` (tests use it)."""


class SettingsError(Exception):
    """A required setting is missing or a setting has an invalid value.

    The message names the setting, so start-up logs say exactly what to fix.

    Args:
        message: The whole description.
        problems: Each bad setting's name and what is wrong with it, never its value; by
            default read from ``message`` (``NAME: problem``).

    Attributes:
        problems: Each bad setting's name and what is wrong with it.
    """

    def __init__(self, message: str, problems: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems or _problems_of(message)


_NAMED_PROBLEM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*): (.+)$", re.DOTALL)


def _problems_of(message: str) -> tuple[tuple[str, str], ...]:
    """``NAME: problem`` from a message that starts so; else the message under no name."""
    match = _NAMED_PROBLEM.match(message)
    return ((match.group(1), match.group(2)),) if match else (("", message),)


class _LocalSettingsSource(PydanticBaseSettingsSource):
    """Reads the ``Values`` object of ``local.settings.json``, as Core Tools does."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self._values = read_local_values(path)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        key = field.alias or field_name
        return self._values.get(key), key, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            key = field.alias or name
            if key in self._values:
                found[key] = self._values[key]
        return found


def read_local_values(path: Path | None = None) -> dict[str, str]:
    """The ``Values`` of ``local.settings.json`` as strings; empty when there is no file.

    Args:
        path: The file; by default ``LOCAL_SETTINGS_PATH`` or ``local.settings.json`` in the
            current directory.

    Raises:
        SettingsError: The file is not valid JSON or ``Values`` is not an object.
    """
    if path is None:
        configured = os.environ.get(LOCAL_SETTINGS_PATH_VARIABLE)
        path = Path(configured) if configured else Path.cwd() / LOCAL_SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SettingsError(f"{path} is not valid JSON: {error}") from error
    values = document.get("Values", {}) if isinstance(document, dict) else {}
    if not isinstance(values, dict):
        raise SettingsError(f"{path}: 'Values' must be an object")
    return {str(key): str(value) for key, value in values.items()}


_EMPTY_MEANS_UNSET = (
    "skills_config_path",
    "events_config_path",
    "calendar_source_path",
    "calendar_reminder_lead_minutes",
    "calendar_reminder_lead_seconds",
    "default_timezone",
    "throttle_enabled",
    "throttle_max_wait_seconds",
    "throttle_margin_seconds",
    "throttle_record_cache_seconds",
    "throttle_lease_seconds",
    "throttle_tenant_shares",
    "graph_endpoint",
    "graph_scope",
    "graph_install_app",
)
"""Fields whose empty value means "not set": the default applies (``THROTTLE_LIMITS``, whose
default is empty, treats a blank value as empty itself)."""


class Settings(BaseSettings):
    """Every setting the bot reads, under its app-setting name.

    Build it with :func:`load_settings`; a missing or invalid value raises
    :class:`SettingsError` naming the setting.
    """

    model_config = SettingsConfigDict(
        case_sensitive=True,
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    app_id: str = Field("", alias="MicrosoftAppId")
    app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = Field(
        "MultiTenant", alias="MicrosoftAppType"
    )
    app_password: SecretStr | None = Field(None, alias="MicrosoftAppPassword")
    app_tenant_id: str = Field("", alias="MicrosoftAppTenantId")
    app_certificate_path: str = Field("", alias="MicrosoftAppCertificatePath")
    """PEM file with the bot's certificate and private key (instead of a secret)."""

    openid_metadata_url: str = Field(
        "https://login.botframework.com/v1/.well-known/openidconfiguration",
        alias="BOT_OPENID_METADATA_URL",
    )
    token_issuer: str = Field("https://api.botframework.com", alias="BOT_TOKEN_ISSUER")
    oauth_authority_setting: str = Field("", alias="BOT_OAUTH_AUTHORITY")
    oauth_scope: str = Field("https://api.botframework.com/.default", alias="BOT_OAUTH_SCOPE")
    auth_disabled: bool = Field(False, alias="BOT_AUTH_DISABLED")
    emulator_auth_enabled: bool = Field(False, alias="BOT_EMULATOR_AUTH_ENABLED")
    """Accept Bot Framework Emulator tokens (Entra-issued, app id in appid/azp). Off by default."""
    # NoDecode: the value is a comma list, not the JSON pydantic-settings expects for tuples.
    allowed_service_urls: Annotated[tuple[str, ...], NoDecode] = Field(
        DEFAULT_ALLOWED_SERVICE_URLS, alias="BOT_ALLOWED_SERVICE_URLS"
    )

    cosmos_endpoint: str = Field("", alias="COSMOS_ENDPOINT")
    cosmos_key: SecretStr | None = Field(None, alias="COSMOS_KEY")
    cosmos_database: str = Field("bot", alias="COSMOS_DATABASE")
    cosmos_verify_tls: bool = Field(True, alias="COSMOS_VERIFY_TLS")
    azure_client_id: str = Field("", alias="AZURE_CLIENT_ID")
    """Client id of the user-assigned managed identity for Cosmos DB and storage in Azure."""

    storage_connection: str = Field("", alias="AzureWebJobsStorage")
    storage_queue_service_uri: str = Field("", alias="AzureWebJobsStorage__queueServiceUri")
    storage_client_id: str = Field("", alias="AzureWebJobsStorage__clientId")
    proactive_queue_name: str = Field("proactive-sends", alias="PROACTIVE_QUEUE_NAME")
    proactive_send_lease_seconds: float = Field(
        60.0, gt=0, le=600, alias="PROACTIVE_SEND_LEASE_SECONDS"
    )
    """How long a worker's ledger claim holds without a write; a crashed worker's messages
    wait at most this long after the queue shows them again (docs/delivery.md)."""
    proactive_max_attempts: int = Field(10, ge=1, le=100, alias="PROACTIVE_MAX_ATTEMPTS")
    proactive_retry_max_delay_seconds: float = Field(
        600.0, ge=2, alias="PROACTIVE_RETRY_MAX_DELAY_SECONDS"
    )
    proactive_edit_wait_seconds: float = Field(
        600.0, ge=0, le=86_400, alias="PROACTIVE_EDIT_WAIT_SECONDS"
    )
    """How long a queued edit or recall waits for a delivery that is unknown or still being
    sent before it is refused ``DeliveryNotFound`` (docs/delivery.md)."""

    schedule_timer: str = Field("0 * * * * *", alias="SCHEDULE_TIMER")
    schedule_min_interval_seconds: int = Field(60, ge=1, alias="SCHEDULE_MIN_INTERVAL_SECONDS")

    bot_sample: Literal["echo", "counter", "assistant"] = Field("echo", alias="BOT_SAMPLE")
    """Which sample bot answers: ``echo`` (welcome and echo), ``counter`` (dialogs, state) or
    ``assistant`` (skills from ``SKILLS_CONFIG_PATH``)."""

    # The assistant sample's files: a relative path is relative to the app's root (the folder
    # of function_app.py), see bot.samples.skills.settings.
    skills_config_path: str = Field("config/skills.json", alias="SKILLS_CONFIG_PATH")
    """The assistant's skills file."""
    events_config_path: str = Field("config/events.json", alias="EVENTS_CONFIG_PATH")
    """The assistant's event map file."""
    card_templates_path: str = Field("config/cards", alias="CARD_TEMPLATES_PATH")
    """The folder of Adaptive Card templates a message names by ``templateId``."""
    calendar_source_path: str = Field("config/calendar.sample.json", alias="CALENDAR_SOURCE_PATH")
    """The calendar skill's meetings, ``.json`` or ``.ics``."""
    calendar_reminder_lead_minutes: int = Field(
        10, ge=0, le=24 * 60, alias="CALENDAR_REMINDER_LEAD_MINUTES"
    )
    """How long before a meeting its reminder comes; ``0``: no reminders."""
    calendar_reminder_lead_seconds: int | None = Field(
        None, ge=0, le=24 * 3600, alias="CALENDAR_REMINDER_LEAD_SECONDS"
    )
    """The same in seconds; wins over the minutes when set (tests use it)."""
    # validate_default=False: the default needs no time zone database (Windows has none
    # without the tzdata package) and bots that never use it pay nothing for it.
    default_timezone: str = Field("UTC", alias="DEFAULT_TIMEZONE", validate_default=False)
    """The IANA time zone of users whose own zone is not known."""

    throttle_enabled: bool = Field(True, alias="THROTTLE_ENABLED")
    """``false`` turns the rate governor off."""
    throttle_max_wait_seconds: float = Field(3.0, ge=0, alias="THROTTLE_MAX_WAIT_SECONDS")
    """The longest in-process wait for one send before it is deferred; ``inf``: never defer."""
    throttle_margin_seconds: float = Field(
        0.02, ge=0, allow_inf_nan=False, alias="THROTTLE_MARGIN_SECONDS"
    )
    """Added to every window, against clocks that disagree."""
    throttle_record_cache_seconds: float = Field(
        1.0, ge=0, allow_inf_nan=False, alias="THROTTLE_RECORD_CACHE_SECONDS"
    )
    """How long a tenant's shared throttle record is trusted before it is read again."""
    throttle_lease_seconds: float = Field(
        10.0, ge=0, le=300, allow_inf_nan=False, alias="THROTTLE_LEASE_SECONDS"
    )
    """How long an instance leases a share of a tenant's budget (more than 2; ``0``: no leases
    nor conversation send logs, the windows hold per process only, for a single instance)."""
    throttle_tenant_shares: int = Field(10, ge=1, le=1000, alias="THROTTLE_TENANT_SHARES")
    """Into how many shares a tenant's budget is cut across instances."""
    throttle_limits: str = Field("", alias="THROTTLE_LIMITS")
    """JSON limits per channel over Teams' published ones (see
    :func:`bot.channel_limits.parse_limits`); empty: the defaults."""

    proactive_api_audience: str = Field("", alias="PROACTIVE_API_AUDIENCE")
    """Accepted ``aud`` of Entra ID tokens on the management API (comma list); empty: key only."""
    proactive_api_role: str = Field("Proactive.Send", alias="PROACTIVE_API_ROLE")
    proactive_api_tenant_id: str = Field("", alias="PROACTIVE_API_TENANT_ID")
    proactive_api_openid_metadata_url: str = Field("", alias="PROACTIVE_API_OPENID_METADATA_URL")
    proactive_api_issuers: str = Field("", alias="PROACTIVE_API_ISSUERS")
    proactive_api_allowed_client_ids: str = Field("", alias="PROACTIVE_API_ALLOWED_CLIENT_IDS")
    proactive_api_schedule_role: str = Field(
        "Proactive.Schedules", alias="PROACTIVE_API_SCHEDULE_ROLE"
    )
    """The app role to manage schedules (``/api/schedules``)."""
    proactive_api_read_role: str = Field("Proactive.Read", alias="PROACTIVE_API_READ_ROLE")
    """The app role to read references, delivery receipts and broadcast progress."""
    proactive_api_allow_delegated: bool = Field(False, alias="PROACTIVE_API_ALLOW_DELEGATED")
    """Accept delegated (user) tokens on the management API; by default only app-only tokens."""

    graph_endpoint: str = Field("https://graph.microsoft.com", alias="GRAPH_ENDPOINT")
    """Microsoft Graph's origin: users by name, and the bot's app installed for a user
    (docs/targets.md); https only."""
    graph_scope: str = Field("https://graph.microsoft.com/.default", alias="GRAPH_SCOPE")
    graph_install_app: bool = Field(False, alias="GRAPH_INSTALL_APP")
    """Install the bot's Teams app for a user (Graph ``teamwork/installedApps``) when Teams
    refuses to start their chat because it is not installed, then start it again."""
    teams_app_catalog_id: str = Field("", alias="TEAMS_APP_CATALOG_ID")
    """The bot's Teams app id in the tenant's app catalog (``GRAPH_INSTALL_APP``)."""

    key_hash_secret: SecretStr | None = Field(None, alias="KEY_HASH_SECRET")
    """The HMAC key of storage ids: at least :data:`MIN_KEY_HASH_SECRET_BYTES` bytes."""
    reference_ttl_days: int = Field(90, ge=1, le=24855, alias="REFERENCE_TTL_DAYS")

    website_instance_id: str = Field("", alias="WEBSITE_INSTANCE_ID")
    website_site_name: str = Field("", alias="WEBSITE_SITE_NAME")
    """Set by the platform in Azure (:data:`AZURE_MARKERS`): development switches are refused."""

    @field_validator("allowed_service_urls", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            entries = tuple(part.strip() for part in value.split(",") if part.strip())
            return entries or DEFAULT_ALLOWED_SERVICE_URLS
        return value

    @field_validator("app_password", "cosmos_key", "key_hash_secret", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, value: object) -> object:
        if isinstance(value, str) and value.startswith("@Microsoft.KeyVault("):
            # App Service passes a reference it could not resolve through as plain text; using
            # it would silently make the reference string the secret.
            raise ValueError(
                "is an unresolved Key Vault reference (check the identity's access to the vault)"
            )
        return None if value == "" else value

    @field_validator("key_hash_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_KEY_HASH_SECRET_BYTES:
            raise ValueError(
                f"must be at least {MIN_KEY_HASH_SECRET_BYTES} bytes (make one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return value

    @field_validator(*_EMPTY_MEANS_UNSET, mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # Core Tools and App Service hand over a blank setting as "": take the default.
        if isinstance(value, str) and not value.strip():
            raise PydanticUseDefault
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from bot.time_zones import find_zone

        if find_zone(value) is None:
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)")
        return value

    @field_validator("throttle_lease_seconds")
    @classmethod
    def _valid_lease(cls, value: float) -> float:
        # The lease must outlast the guard at both of its ends (bot.throttling.budget_leases).
        if 0 < value <= 2:
            raise ValueError("must be 0 (no leases) or more than 2 seconds")
        return value

    @field_validator("throttle_limits")
    @classmethod
    def _valid_limits(cls, value: str) -> str:
        if not value.strip():
            return ""
        # Imported only when set: parsing the limits is not needed at every cold start.
        from bot.channel_limits import parse_limits

        parse_limits(value)
        return value

    @model_validator(mode="after")
    def _no_development_switches_in_azure(self) -> Settings:
        # A development switch left on in Azure opens the bot: anonymous /api/messages, storage
        # ids under a constant key, or the bot's token sent to a loopback serviceUrl.
        if not self.running_in_azure:
            return self
        if self.auth_disabled:
            raise ValueError(
                "BOT_AUTH_DISABLED: must not be true in Azure (WEBSITE_INSTANCE_ID or "
                "WEBSITE_SITE_NAME is set); it is for local development only"
            )
        from bot.loopback import is_loopback_host

        for entry in self.allowed_service_urls:
            host = (urlsplit(entry).hostname or "").lower()
            if is_loopback_host(host):
                raise ValueError(
                    f"BOT_ALLOWED_SERVICE_URLS: the loopback entry {entry!r} is not allowed "
                    "in Azure (WEBSITE_INSTANCE_ID or WEBSITE_SITE_NAME is set)"
                )
        return self

    @model_validator(mode="after")
    def _check_required(self) -> Settings:
        if not self.auth_disabled:
            if not self.app_id:
                raise ValueError(
                    "MicrosoftAppId: required unless BOT_AUTH_DISABLED=true "
                    "(it is the audience of inbound channel tokens)"
                )
            if self.key_hash_secret is None:
                raise ValueError(
                    "KEY_HASH_SECRET: required outside local development "
                    "(the HMAC key of storage ids)"
                )
            if self.app_type == "SingleTenant" and not self.app_tenant_id:
                raise ValueError(
                    "MicrosoftAppTenantId: required when MicrosoftAppType=SingleTenant"
                )
            needs_credential = self.app_type != "UserAssignedMSI"
            if needs_credential and self.app_password is None and not self.app_certificate_path:
                raise ValueError(
                    "MicrosoftAppPassword: required for MicrosoftAppType="
                    f"{self.app_type} unless MicrosoftAppCertificatePath is set"
                )
        if urlsplit(self.graph_endpoint).scheme != "https":
            raise ValueError("GRAPH_ENDPOINT: must be an https URL (the bot's token goes there)")
        if self.graph_install_app and not self.teams_app_catalog_id:
            raise ValueError(
                "TEAMS_APP_CATALOG_ID: required when GRAPH_INSTALL_APP=true (the app to install)"
            )
        if not self.cosmos_endpoint:
            raise ValueError("COSMOS_ENDPOINT: required (the Cosmos DB account endpoint)")
        if not self.storage_connection and not self.storage_queue_service_uri:
            raise ValueError(
                "AzureWebJobsStorage: required (a connection string, or set "
                "AzureWebJobsStorage__queueServiceUri for an identity-based connection)"
            )
        return self

    @property
    def running_in_azure(self) -> bool:
        """Whether the app runs in Azure App Service or Functions (not on a developer's machine)."""
        return bool(self.website_instance_id or self.website_site_name)

    @property
    def oauth_authority(self) -> str:
        """The MSAL authority for outbound tokens, defaulted from the app type."""
        if self.oauth_authority_setting:
            return self.oauth_authority_setting
        if self.app_type in ("SingleTenant", "UserAssignedMSI") and self.app_tenant_id:
            return f"https://login.microsoftonline.com/{self.app_tenant_id}"
        return "https://login.microsoftonline.com/botframework.com"

    def graph_authority(self, tenant_id: str) -> str:
        """The MSAL authority of app-only Graph tokens for a tenant: the outbound authority's
        host with the tenant as its path (Graph tokens are issued by the user's tenant)."""
        parts = urlsplit(self.oauth_authority)
        return f"{parts.scheme}://{parts.netloc}/{tenant_id}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: explicit arguments, then the environment, then the file.
        return (init_settings, env_settings, _LocalSettingsSource(settings_cls, None))


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings.

    Args:
        **overrides: Values by app-setting name that win over every source (tests use them).

    Returns:
        The validated settings.

    Raises:
        SettingsError: A required setting is missing or a value is invalid; the message names
            the setting.
    """
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = _problems(error)
        described = "; ".join(
            f"{name}: {problem}" if name else problem for name, problem in problems
        )
        raise SettingsError("Invalid settings: " + described, problems) from None


def _problems(error: ValidationError) -> tuple[tuple[str, str], ...]:
    # pydantic's messages never carry the input (the value); a model check's message starts
    # with the setting's name.
    problems: list[tuple[str, str]] = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.extend(((location, message),) if location else _problems_of(message))
    return tuple(problems)


@cache
def get_settings() -> Settings:
    """The process-wide settings, loaded once on first use (at start-up)."""
    settings = load_settings()
    if settings.running_in_azure and settings.emulator_auth_enabled:
        logger.warning(
            "BOT_EMULATOR_AUTH_ENABLED=true in Azure: Bot Framework Emulator tokens are "
            "accepted on /api/messages; turn it off outside testing"
        )
    return settings
