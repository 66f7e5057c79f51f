"""Load a Python v2 function app and index its functions, as Core Tools does at start-up.

``local.settings.json`` ``Values`` go into ``os.environ`` first, without overriding variables
already set; then ``function_app`` is imported from the app directory and each function of
its ``FunctionApp`` becomes an :class:`HttpFunction`, :class:`TimerFunction` or
:class:`QueueFunction`. ``%NAME%`` in a schedule or queue name is read from the app settings.
Anything this host cannot run stops the start with a :class:`HostError` naming the function.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func

from bot.cron import CronError, CronExpression
from bot.settings import (
    LOCAL_SETTINGS_FILE,
    LOCAL_SETTINGS_PATH_VARIABLE,
    SettingsError,
    read_local_values,
)
from bot.storage.queues import expand_connection_string
from dev.host.errors import HostError
from dev.host.host_json import HostConfig, read_host_json

logger = logging.getLogger(__name__)

DEFAULT_CONNECTION = "AzureWebJobsStorage"
SUPPORTED_TRIGGERS = ("httpTrigger", "timerTrigger", "queueTrigger")
CONTEXT_PARAMETER = "context"
_SETTING_REFERENCE = re.compile(r"%([^%]+)%")


@dataclass(frozen=True)
class Function:
    """What every function has: its name, the Python callable and the trigger argument."""

    name: str
    function: Callable[..., Any]
    arg_name: str
    takes_context: bool = field(default=False, kw_only=True)
    """Whether it has a ``context`` parameter: the worker passes the invocation's context."""


@dataclass(frozen=True)
class HttpFunction(Function):
    """An HTTP-triggered function; ``methods`` None means every method."""

    route: str
    methods: tuple[str, ...] | None
    auth_level: str


@dataclass(frozen=True)
class TimerFunction(Function):
    """A timer-triggered function and its schedule, with ``%SETTING%`` already resolved."""

    schedule: CronExpression
    run_on_startup: bool


@dataclass(frozen=True)
class QueueFunction(Function):
    """A queue-triggered function, its queue and the storage connection string."""

    queue_name: str
    connection_setting: str
    connection: str


@dataclass(frozen=True)
class LoadedApp:
    """A function app ready to host."""

    app_dir: Path
    config: HostConfig
    http: tuple[HttpFunction, ...]
    timers: tuple[TimerFunction, ...]
    queues: tuple[QueueFunction, ...]


def load_local_settings(app_dir: Path) -> Path | None:
    """Put ``local.settings.json`` ``Values`` into ``os.environ``; the environment wins.

    The file is ``LOCAL_SETTINGS_PATH`` when set, else ``local.settings.json`` in the app
    directory. Returns the file read, or None when there is none.

    Raises:
        HostError: The file is not valid JSON.
    """
    configured = os.environ.get(LOCAL_SETTINGS_PATH_VARIABLE)
    path = Path(configured) if configured else app_dir / LOCAL_SETTINGS_FILE
    if not path.is_file():
        return None
    try:
        values = read_local_values(path)
    except SettingsError as error:
        raise HostError(str(error)) from None
    for name, value in values.items():
        os.environ.setdefault(name, value)
    return path


def resolve_settings(text: str, where: str) -> str:
    """Replace each ``%NAME%`` with the app setting ``NAME``.

    Raises:
        HostError: A referenced setting is not set; the message names it and ``where``.
    """

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise HostError(f"{where}: app setting {name!r} (from %{name}%) is not set")
        return os.environ[name]

    return _SETTING_REFERENCE.sub(value, text)


def load_app(app_dir: Path) -> LoadedApp:
    """Read the settings and host.json, import ``function_app`` and index its functions.

    Raises:
        HostError: The app cannot be imported or uses what this host does not support.
    """
    app_dir = app_dir.resolve()
    if not (app_dir / "function_app.py").is_file():
        raise HostError(f"no function_app.py in {app_dir}")
    config = read_host_json(app_dir)
    load_local_settings(app_dir)
    sys.path.insert(0, str(app_dir))
    try:
        module = importlib.import_module("function_app")
    except Exception as error:
        # One clear line (dev.host prints the HostError); the traceback on request only.
        if os.environ.get("DEV_HOST_DEBUG", "").lower() in ("1", "true", "yes"):
            logger.exception("function_app.py failed to import")
        raise HostError(
            f"function_app.py failed to import: {type(error).__name__}: {error} "
            "(DEV_HOST_DEBUG=true shows the traceback)"
        ) from None
    registers = [
        value for value in vars(module).values() if isinstance(value, func.FunctionRegister)
    ]
    if len(registers) != 1:
        raise HostError(
            "function_app.py must define exactly one azure.functions.FunctionApp, "
            f"found {len(registers)}"
        )
    http: list[HttpFunction] = []
    timers: list[TimerFunction] = []
    queues: list[QueueFunction] = []
    for function in registers[0].get_functions():
        indexed = _index(function)
        if isinstance(indexed, HttpFunction):
            http.append(indexed)
        elif isinstance(indexed, TimerFunction):
            timers.append(indexed)
        else:
            queues.append(indexed)
    return LoadedApp(app_dir, config, tuple(http), tuple(timers), tuple(queues))


def _index(function: func.Function) -> HttpFunction | TimerFunction | QueueFunction:
    name = function.get_function_name() or function.get_user_function().__name__
    trigger = function.get_trigger()
    if trigger is None:
        raise HostError(f"function {name!r} has no trigger")
    bindings = [binding.get_dict_repr() for binding in function.get_bindings()]
    spec = next(b for b in bindings if b["type"] == trigger.get_binding_name())
    kind = spec["type"]
    if kind not in SUPPORTED_TRIGGERS:
        raise HostError(
            f"function {name!r}: trigger {kind!r} is not supported by the local host "
            f"(supported: {', '.join(SUPPORTED_TRIGGERS)}); use Core Tools (func start) for it"
        )
    for binding in bindings:
        if binding is spec or (kind == "httpTrigger" and binding["type"] == "http"):
            continue
        raise HostError(
            f"function {name!r}: binding {binding['type']!r} ({binding['name']}) is not "
            "supported by the local host; only the trigger and the HTTP return value are"
        )
    user_function = function.get_user_function()
    arg_name = str(spec["name"])
    parameters = inspect.signature(user_function).parameters
    # As the Python worker does: a parameter named context gets the invocation's context.
    takes_context = CONTEXT_PARAMETER in parameters and arg_name != CONTEXT_PARAMETER
    extra = [p for p in parameters if p not in (arg_name, CONTEXT_PARAMETER)]
    if extra:
        raise HostError(
            f"function {name!r}: parameters {extra} have no binding the local host can supply"
        )
    if kind == "httpTrigger":
        methods = spec.get("methods")
        return HttpFunction(
            name,
            user_function,
            arg_name,
            route=spec.get("route") or name,
            methods=tuple(str(_enum_value(m)).upper() for m in methods) if methods else None,
            auth_level=str(_enum_value(spec.get("authLevel", "function"))).lower(),
            takes_context=takes_context,
        )
    if kind == "timerTrigger":
        where = f"function {name!r} schedule"
        text = resolve_settings(str(spec["schedule"]), where)
        try:
            schedule = CronExpression.parse(text)
        except CronError as error:
            raise HostError(f"{where} {text!r}: {error}") from None
        return TimerFunction(
            name,
            user_function,
            arg_name,
            schedule,
            bool(spec.get("runOnStartup", False)),
            takes_context=takes_context,
        )
    queue_name = resolve_settings(str(spec["queueName"]), f"function {name!r} queue name")
    setting = spec.get("connection") or DEFAULT_CONNECTION
    return QueueFunction(
        name,
        user_function,
        arg_name,
        queue_name,
        setting,
        _connection(name, setting),
        takes_context=takes_context,
    )


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _connection(function_name: str, setting: str) -> str:
    value = os.environ.get(setting, "").strip()
    if not value:
        raise HostError(
            f"function {function_name!r}: connection setting {setting!r} is not set; the local "
            "host needs a connection string (identity-based connections are not supported)"
        )
    # The bot's own expansion of UseDevelopmentStorage=true, so both agree on Azurite.
    return expand_connection_string(value)
