"""Loading a function app into the local host: settings, host.json, indexing, start-up errors."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage.queues import DEVELOPMENT_STORAGE
from dev.host.app import LoadedApp, load_app, load_local_settings, resolve_settings
from dev.host.errors import HostError
from dev.host.host_json import QueueOptions, read_host_json

HEADER = "import azure.functions as func\n\napp = func.FunctionApp()\n\n"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test imports its own ``function_app``, on a copy of the environment and sys.path."""
    monkeypatch.setattr(os, "environ", dict(os.environ))
    monkeypatch.delenv("LOCAL_SETTINGS_PATH", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "function_app", raising=False)
    yield
    sys.modules.pop("function_app", None)


def make_app(folder: Path, code: str, host: dict[str, object] | None = None) -> Path:
    (folder / "function_app.py").write_text(HEADER + textwrap.dedent(code), encoding="utf-8")
    (folder / "host.json").write_text(json.dumps(host or {"version": "2.0"}), encoding="utf-8")
    return folder


def load(folder: Path, code: str, host: dict[str, object] | None = None) -> LoadedApp:
    return load_app(make_app(folder, code, host))


def test_local_settings_fill_the_environment_without_overriding_it(tmp_path: Path) -> None:
    settings = tmp_path / "local.settings.json"
    values = {"FROM_FILE": "file", "BOTH": "file"}
    settings.write_text(json.dumps({"Values": values}), encoding="utf-8")
    os.environ["BOTH"] = "environment"
    assert load_local_settings(tmp_path) == settings
    assert os.environ["FROM_FILE"] == "file"
    assert os.environ["BOTH"] == "environment"


def test_local_settings_path_variable_wins_over_the_app_folder(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text('{"Values": {"X": "app"}}', encoding="utf-8")
    other = tmp_path / "other.json"
    other.write_text('{"Values": {"X": "other"}}', encoding="utf-8")
    os.environ["LOCAL_SETTINGS_PATH"] = str(other)
    assert load_local_settings(tmp_path) == other
    assert os.environ["X"] == "other"


def test_invalid_local_settings_is_a_host_error(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(HostError, match=r"local\.settings\.json"):
        load_local_settings(tmp_path)


def test_setting_references_resolve_or_name_the_missing_setting() -> None:
    os.environ["QUEUE_A"] = "work"
    assert resolve_settings("%QUEUE_A%-items", "here") == "work-items"
    with pytest.raises(HostError, match="'NOT_SET_ANYWHERE'"):
        resolve_settings("%NOT_SET_ANYWHERE%", "function 'x' queue name")


def test_indexes_http_timer_and_queue_functions(tmp_path: Path) -> None:
    os.environ.update(
        TICK="*/5 * * * *", WORK_QUEUE="jobs", AzureWebJobsStorage="UseDevelopmentStorage=true"
    )
    app = load(
        tmp_path,
        """
        @app.route(route="items/{id:int}", methods=["GET", "post"])
        async def items(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("x")

        @app.route()
        def default_route(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("x")

        @app.function_name("Ticker")
        @app.timer_trigger(schedule="%TICK%", arg_name="timer", run_on_startup=True)
        def tick(timer: func.TimerRequest) -> None:
            pass

        @app.queue_trigger(arg_name="msg", queue_name="%WORK_QUEUE%", connection="")
        async def work(msg: func.QueueMessage) -> None:
            pass
        """,
    )
    items, default = app.http
    assert (items.name, items.route, items.methods) == ("items", "items/{id:int}", ("GET", "POST"))
    assert items.arg_name == "req"
    assert (default.route, default.methods) == ("default_route", None)
    (timer,) = app.timers
    assert timer.name == "Ticker"
    assert timer.run_on_startup
    assert timer.schedule.minutes == (0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55)
    (queue,) = app.queues
    assert (queue.queue_name, queue.connection_setting) == ("jobs", "AzureWebJobsStorage")
    assert queue.connection == DEVELOPMENT_STORAGE


def test_unsupported_trigger_fails_naming_the_function(tmp_path: Path) -> None:
    code = """
        @app.blob_trigger(arg_name="blob", path="c/{name}", connection="AzureWebJobsStorage")
        def on_blob(blob: func.InputStream) -> None:
            pass
        """
    with pytest.raises(HostError, match=r"'on_blob'.*blobTrigger.*not supported"):
        load(tmp_path, code)


def test_unsupported_binding_fails_naming_it(tmp_path: Path) -> None:
    code = """
        @app.route(route="send")
        @app.queue_output(arg_name="out", queue_name="q", connection="AzureWebJobsStorage")
        def send(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
            return func.HttpResponse("x")
        """
    with pytest.raises(HostError, match=r"'send'.*binding 'queue' \(out\)"):
        load(tmp_path, code)


def test_invalid_schedule_fails_naming_function_and_field(tmp_path: Path) -> None:
    os.environ["BAD_TICK"] = "0 0 25 * * *"
    code = """
        @app.timer_trigger(schedule="%BAD_TICK%", arg_name="timer")
        def tick(timer: func.TimerRequest) -> None:
            pass
        """
    with pytest.raises(HostError, match=r"'tick' schedule '0 0 25 \* \* \*': hour field"):
        load(tmp_path, code)


def test_missing_connection_setting_fails_naming_it(tmp_path: Path) -> None:
    code = """
        @app.queue_trigger(arg_name="msg", queue_name="q", connection="OtherStorage")
        async def work(msg: func.QueueMessage) -> None:
            pass
        """
    with pytest.raises(HostError, match="'OtherStorage' is not set"):
        load(tmp_path, code)


def test_import_error_is_a_host_error(tmp_path: Path) -> None:
    with pytest.raises(HostError, match="failed to import: RuntimeError: boom at import"):
        load(tmp_path, "raise RuntimeError('boom at import')\n")


def test_missing_host_json_is_a_host_error(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text(HEADER, encoding="utf-8")
    with pytest.raises(HostError, match=r"no host\.json"):
        load_app(tmp_path)


def test_host_json_defaults(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text('{"version": "2.0"}', encoding="utf-8")
    config = read_host_json(tmp_path)
    assert config.route_prefix == "api"
    assert config.queues == QueueOptions()


def test_host_json_queue_options(tmp_path: Path) -> None:
    queues = {
        "batchSize": 10,
        "maxPollingInterval": "00:00:02.5",
        "visibilityTimeout": "1.00:00:05",
        "maxDequeueCount": 2,
        "messageEncoding": "None",
    }
    document = {"extensions": {"http": {"routePrefix": ""}, "queues": queues}}
    (tmp_path / "host.json").write_text(json.dumps(document), encoding="utf-8")
    config = read_host_json(tmp_path)
    assert config.route_prefix == ""
    assert config.queues == QueueOptions(
        batch_size=10,
        new_batch_threshold=5,
        visibility_timeout=86405.0,
        max_dequeue_count=2,
        max_polling_interval=2.5,
        message_encoding="none",
    )


@pytest.mark.parametrize(
    ("queues", "message"),
    [
        ({"batchSize": 0}, "batchSize"),
        ({"maxDequeueCount": "5"}, "maxDequeueCount"),
        ({"visibilityTimeout": "5s"}, "visibilityTimeout"),
        ({"messageEncoding": "utf8"}, "messageEncoding"),
    ],
)
def test_host_json_invalid_queue_options(
    tmp_path: Path, queues: dict[str, object], message: str
) -> None:
    document = {"extensions": {"queues": queues}}
    (tmp_path / "host.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(HostError, match=message):
        read_host_json(tmp_path)


async def test_a_context_parameter_gets_the_invocation_context_as_from_the_worker(
    tmp_path: Path,
) -> None:
    from dev.host.invocation import invoke

    code = """
        seen = []

        @app.route(route="ping")
        async def ping(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
            seen.append(context)
            return func.HttpResponse("pong")
        """
    loaded = load(tmp_path, code)
    [function] = loaded.http

    await invoke(function, None, "test")

    assert function.takes_context
    [context] = sys.modules["function_app"].seen
    assert context.function_name == "ping"
    version, trace_id, span_id, flags = context.trace_context.trace_parent.split("-")
    assert (version, len(trace_id), len(span_id), flags) == ("00", 32, 16, "01")
