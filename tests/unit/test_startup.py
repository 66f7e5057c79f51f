"""The start-up check: locally a bad setting stops the import; in Azure every function says so."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import azure.functions as func
import pytest

from bot.settings import SettingsError, load_settings
from bot.startup import (
    MisconfiguredError,
    StartupCheckedApp,
    StartupFailure,
    check_startup,
    running_in_azure,
)

UNRESOLVED = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/hash/)"


@pytest.fixture(autouse=True)
def no_local_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(tmp_path / "absent.json"))
    monkeypatch.delenv("WEBSITE_INSTANCE_ID", raising=False)
    monkeypatch.delenv("WEBSITE_SITE_NAME", raising=False)


def bad_settings() -> object:
    return load_settings(
        MicrosoftAppId="app",
        MicrosoftAppPassword="password",
        COSMOS_ENDPOINT="https://cosmos",
        AzureWebJobsStorage="UseDevelopmentStorage=true",
        KEY_HASH_SECRET=UNRESOLVED,
    )


def test_locally_the_error_stops_the_import() -> None:
    assert not running_in_azure()
    with pytest.raises(SettingsError, match="KEY_HASH_SECRET"):
        check_startup(bad_settings)


def test_in_azure_the_failure_names_the_setting_never_its_value(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WEBSITE_INSTANCE_ID", "instance")
    caplog.set_level(logging.ERROR, "bot.startup")

    failure = check_startup(bad_settings)

    assert failure is not None
    assert [p.name for p in failure.problems] == ["KEY_HASH_SECRET"]
    assert "Key Vault reference" in failure.problems[0].problem
    assert caplog.records[0].getMessage().startswith("Invalid settings: KEY_HASH_SECRET")
    assert "kv.vault.azure.net" not in json.dumps(failure.error_body()) + caplog.text


def test_the_checks_run_in_order_and_stop_at_the_first_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEBSITE_SITE_NAME", "bot")
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        raise SettingsError("PROACTIVE_API_TENANT_ID: required")

    failure = check_startup(first, lambda: ran.append("second"))

    assert ran == ["first"]
    assert failure is not None
    assert failure.message == "Invalid settings: PROACTIVE_API_TENANT_ID: required"


def test_without_a_problem_nothing_is_returned() -> None:
    assert check_startup(lambda: None) is None


def _app(failure: StartupFailure | None) -> dict[str, func.Function]:
    app = StartupCheckedApp(startup_failure=failure, http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="health", methods=["GET"])
    async def health(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("ok")

    @app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
    async def sender(msg: func.QueueMessage) -> None:
        return None

    @app.timer_trigger(schedule="0 * * * * *", arg_name="timer")
    async def tick(timer: func.TimerRequest) -> None:
        return None

    return {str(f.get_function_name()): f for f in app.get_functions()}


def test_a_misconfigured_app_registers_every_function_and_each_one_refuses() -> None:
    failure = StartupFailure.from_error(SettingsError("KEY_HASH_SECRET: unresolved"))
    functions = _app(failure)
    request = func.HttpRequest("GET", "/api/health", body=b"")

    answer = asyncio.run(functions["health"].get_user_function()(request))

    assert sorted(functions) == ["health", "sender", "tick"]
    assert answer.status_code == 503
    body = json.loads(answer.get_body())
    assert body["error"]["code"] == "InvalidSettings"
    assert body["error"]["settings"] == [{"name": "KEY_HASH_SECRET", "problem": "unresolved"}]
    for name in ("sender", "tick"):
        with pytest.raises(MisconfiguredError, match="KEY_HASH_SECRET"):
            asyncio.run(functions[name].get_user_function()(None))


def test_a_well_configured_app_runs_its_functions() -> None:
    functions = _app(None)
    request = func.HttpRequest("GET", "/api/health", body=b"")

    answer = asyncio.run(functions["health"].get_user_function()(request))

    assert (answer.status_code, answer.get_body()) == (200, b"ok")
    assert asyncio.run(functions["sender"].get_user_function()(None)) is None


def test_a_wrong_assistant_file_is_named_by_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import get_settings
    from bot.skills.errors import ConfigProblem, SkillConfigError

    for name, value in {
        "MicrosoftAppId": "app",
        "MicrosoftAppPassword": "password",
        "COSMOS_ENDPOINT": "https://cosmos",
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "KEY_HASH_SECRET": "k" * 40,
        "EVENTS_CONFIG_PATH": "config/my-events.json",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        events = SkillConfigError("/app/config/my-events.json", [ConfigProblem("", "not JSON")])
        skills = SkillConfigError("/app/config/skills.json", [ConfigProblem("", "not JSON")])

        assert StartupFailure.from_error(events).problems[0].name == "EVENTS_CONFIG_PATH"
        assert StartupFailure.from_error(skills).problems[0].name == "SKILLS_CONFIG_PATH"
    finally:
        get_settings.cache_clear()


def test_in_azure_a_wrong_skills_file_is_a_failure_and_a_bug_still_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.skills.errors import ConfigProblem, SkillConfigError

    monkeypatch.setenv("WEBSITE_INSTANCE_ID", "instance")

    def wrong_file() -> None:
        raise SkillConfigError("/app/config/skills.json", [ConfigProblem("", "not JSON")])

    def bug() -> None:
        raise RuntimeError("a bug, not a setting")

    failure = check_startup(wrong_file)

    assert failure is not None
    assert "not JSON" in failure.message
    with pytest.raises(RuntimeError, match="a bug"):
        check_startup(bug)
