"""The start-up check, and what a misconfigured app does in Azure instead of failing to import.

``function_app.py`` checks the settings, the management API's caller settings and the chosen
sample when it is imported. Locally a problem stops the host with the setting named, as it
always has. In Azure (``WEBSITE_INSTANCE_ID`` or ``WEBSITE_SITE_NAME`` is set) a failed import
would leave the host with no function at all: every route 404, ``/api/health`` included, and
nothing to say why (an unresolved Key Vault reference looks exactly like that). So there the
app still registers every function, and :class:`StartupCheckedApp` makes each one say what is
wrong:

- every HTTP route, ``/api/health`` included, answers 503 with the bad settings' names and
  problems (never their values);
- the queue and timer functions fail at once, so the host retries their messages later (and
  after ``maxDequeueCount`` tries moves them to ``<queue>-poison``, from where
  ``python -m bot.proactive redrive`` puts them back once the setting is fixed) instead of a
  handler running on a half-configured app;
- the first log line names the problem.

docs/deployment.md ("A misconfigured app") says how an operator sees and fixes it.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func

from bot.http_responses import json_response
from bot.settings import AZURE_MARKERS, SettingsError
from bot.traced_app import TracedApp

logger = logging.getLogger(__name__)

STATUS = 503
CODE = "InvalidSettings"


@dataclass(frozen=True)
class SettingProblem:
    """One bad setting.

    Attributes:
        name: The app setting's name (empty when the problem names no single setting).
        problem: What is wrong with it; never its value.
    """

    name: str
    problem: str


@dataclass(frozen=True)
class StartupFailure:
    """Why the app cannot work with its settings.

    Attributes:
        problems: Each bad setting and its problem (at least one).
    """

    problems: tuple[SettingProblem, ...]

    @classmethod
    def from_error(cls, error: Exception) -> StartupFailure:
        """The failure a start-up check's error describes."""
        from bot.skills.errors import SkillConfigError

        if isinstance(error, SettingsError):
            return cls(tuple(SettingProblem(name, problem) for name, problem in error.problems))
        if isinstance(error, SkillConfigError):
            return cls((SettingProblem(_file_setting(error.file), str(error)),))
        return cls((SettingProblem("", str(error)),))

    @property
    def message(self) -> str:
        """One line naming every bad setting and its problem."""
        parts = (f"{p.name}: {p.problem}" if p.name else p.problem for p in self.problems)
        return "Invalid settings: " + "; ".join(parts)

    def error_body(self) -> dict[str, Any]:
        """The 503 body of every route: the contract's error, with the settings listed."""
        return {
            "status": "misconfigured",
            "error": {
                "code": CODE,
                "message": self.message + ". Fix the app settings and restart the app.",
                "settings": [{"name": p.name, "problem": p.problem} for p in self.problems],
            },
        }


def _file_setting(file: Path) -> str:
    """The setting that names the assistant's configuration ``file`` (the settings loaded)."""
    from bot.settings import get_settings

    try:
        settings = get_settings()
    except SettingsError:
        return "SKILLS_CONFIG_PATH"
    for name, value in (
        ("EVENTS_CONFIG_PATH", settings.events_config_path),
        ("CALENDAR_SOURCE_PATH", settings.calendar_source_path),
    ):
        if Path(value).name == file.name:
            return name
    return "SKILLS_CONFIG_PATH"


class MisconfiguredError(RuntimeError):
    """Raised by every queue and timer invocation of a misconfigured app: retried later."""


def running_in_azure() -> bool:
    """Whether App Service's instance markers are set (read without the settings model)."""
    from bot.settings import read_local_values

    try:
        local = read_local_values()
    except SettingsError:
        local = {}
    return any(os.environ.get(name) or local.get(name) for name in AZURE_MARKERS)


def check_startup(*checks: Callable[[], object]) -> StartupFailure | None:
    """Run the start-up checks; in Azure, turn a failure into a :class:`StartupFailure`.

    Args:
        *checks: Each raises :class:`~bot.settings.SettingsError` (or ``ValueError``, or the
            assistant's ``SkillConfigError``) naming what is wrong; they run in order and the
            first failure is the answer (a later check reads the settings of an earlier one).

    Returns:
        ``None`` when every check passed; in Azure, the failure.

    Raises:
        Exception: Outside Azure, the first check's error as it was: the host does not start.
    """
    try:
        for check in checks:
            check()
    except Exception as error:
        if not _is_configuration_error(error) or not running_in_azure():
            raise
        failure = StartupFailure.from_error(error)
        # The first line of the worker's log: what is wrong, and that the app stays up to say so.
        logger.error("%s; every function answers 503 or fails until it is fixed", failure.message)
        return failure
    return None


def _is_configuration_error(error: Exception) -> bool:
    if isinstance(error, (SettingsError, ValueError)):
        return True
    # Not imported here: bot.skills costs ~0.4 s of cold start, and a SkillConfigError can only
    # have been raised once its module was imported.
    skills_errors = sys.modules.get("bot.skills.errors")
    skill_config_error = getattr(skills_errors, "SkillConfigError", None)
    return skill_config_error is not None and isinstance(error, skill_config_error)


HttpHandler = Callable[[func.HttpRequest], Awaitable[func.HttpResponse]]


def unavailable_route(failure: StartupFailure, handler: HttpHandler) -> HttpHandler:
    """``handler``'s place on a misconfigured app: 503 naming the bad settings."""

    @functools.wraps(handler)
    async def misconfigured(req: func.HttpRequest) -> func.HttpResponse:
        del req
        return json_response(failure.error_body(), STATUS, {"Retry-After": "60"})

    return misconfigured


def failing_trigger(
    failure: StartupFailure, function: Callable[..., Awaitable[None]]
) -> Callable[..., Awaitable[None]]:
    """A queue or timer function's place on a misconfigured app: fails at once, runs nothing."""

    @functools.wraps(function)
    async def misconfigured(*args: Any, **kwargs: Any) -> None:
        del args, kwargs
        raise MisconfiguredError(failure.message + "; the trigger retries later")

    return misconfigured


class StartupCheckedApp(TracedApp):
    """A ``FunctionApp`` whose functions all stand in for a :class:`StartupFailure`, if any.

    Args:
        startup_failure: What :func:`check_startup` found; ``None``: the functions run as
            written.
        **kwargs: As ``FunctionApp``.
    """

    def __init__(self, *, startup_failure: StartupFailure | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.startup_failure = startup_failure

    def route(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """As ``FunctionApp.route``; on a misconfigured app the handler answers 503."""
        register = super().route(*args, **kwargs)
        failure = self.startup_failure
        if failure is None:
            return register
        return lambda handler: register(unavailable_route(failure, handler))

    def queue_trigger(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """As ``FunctionApp.queue_trigger``; on a misconfigured app the function fails."""
        return self._failing(super().queue_trigger(*args, **kwargs))

    def timer_trigger(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """As ``FunctionApp.timer_trigger``; on a misconfigured app the function fails."""
        return self._failing(super().timer_trigger(*args, **kwargs))

    def _failing(self, register: Callable[..., Any]) -> Callable[..., Any]:
        failure = self.startup_failure
        if failure is None:
            return register
        return lambda function: register(failing_trigger(failure, function))
