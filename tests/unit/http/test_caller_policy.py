"""The caller policy: every management route of the app gets it, in one place."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest
from azure.functions.decorators.http import HttpTrigger

from bot.auth.api_callers import ApiAction, get_api_caller_settings
from bot.http.caller_policy import (
    OPEN_ROUTES,
    POLICY_ATTRIBUTE,
    ROUTE_ACTIONS,
    CallerPolicyApp,
    action_of,
    guarded,
)
from bot.settings import get_settings


def _http_functions(app: func.FunctionApp) -> dict[tuple[str, str], Any]:
    """Each (route template, method) of the app and the handler that serves it."""
    routes: dict[tuple[str, str], Any] = {}
    for function in app.get_functions():
        trigger = function.get_trigger()
        if isinstance(trigger, HttpTrigger):
            for method in trigger.methods or ():
                key = (str(trigger.route), str(getattr(method, "value", method)).upper())
                assert key not in routes, key
                routes[key] = function.get_user_function()
    return routes


@pytest.mark.usefixtures("configured")
def test_every_route_of_the_app_has_the_policy_of_its_action() -> None:
    function_app = importlib.import_module("function_app")
    routes = _http_functions(function_app.app)

    assert {route for route, _ in routes} == set(ROUTE_ACTIONS) | OPEN_ROUTES
    for (route, method), handler in routes.items():
        expected = None if route in OPEN_ROUTES else action_of(route, method)
        assert getattr(handler, POLICY_ATTRIBUTE, None) == expected, (route, method)
    assert routes[("deliveries/{id}", "GET")].__caller_policy__ is ApiAction.READ
    assert routes[("deliveries/{id}", "PATCH")].__caller_policy__ is ApiAction.SEND
    assert routes[("deliveries/{id}", "DELETE")].__caller_policy__ is ApiAction.SEND


def test_methods_of_one_function_with_different_actions_stop_the_app() -> None:
    app = CallerPolicyApp(http_auth_level=func.AuthLevel.FUNCTION)

    with pytest.raises(ValueError, match="one function per action"):
        app.route(route="deliveries/{id}", methods=["GET", "DELETE"])


def test_a_route_without_a_policy_stops_the_app() -> None:
    app = CallerPolicyApp(http_auth_level=func.AuthLevel.FUNCTION)

    with pytest.raises(ValueError, match="'exports' has no caller policy"):
        app.route(route="exports", methods=["GET"])


def test_a_management_route_cannot_be_anonymous() -> None:
    app = CallerPolicyApp(http_auth_level=func.AuthLevel.FUNCTION)

    with pytest.raises(ValueError, match="needs a function key"):
        app.route(route="references", auth_level=func.AuthLevel.ANONYMOUS)


@pytest.fixture
def entra_on(configured: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    del configured
    monkeypatch.setenv("PROACTIVE_API_AUDIENCE", "api://proactive-bot")
    monkeypatch.setenv("PROACTIVE_API_TENANT_ID", "tenant")
    monkeypatch.setenv("PROACTIVE_API_OPENID_METADATA_URL", "https://login.test/metadata")
    get_api_caller_settings.cache_clear()
    get_settings.cache_clear()
    yield
    get_api_caller_settings.cache_clear()
    get_settings.cache_clear()


@pytest.mark.usefixtures("entra_on")
async def test_the_caller_is_refused_before_the_handler_runs() -> None:
    ran: list[func.HttpRequest] = []

    async def handler(req: func.HttpRequest) -> func.HttpResponse:
        ran.append(req)
        return func.HttpResponse(status_code=200)

    request = func.HttpRequest("POST", "/api/x", body=b"x" * 10_000_000)
    response = await guarded(ApiAction.SEND, handler)(request)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert ran == []


@pytest.mark.usefixtures("configured")
async def test_without_entra_settings_the_function_key_is_the_floor() -> None:
    get_api_caller_settings.cache_clear()

    async def handler(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(status_code=204)

    response = await guarded(ApiAction.READ, handler)(func.HttpRequest("GET", "/api/x", body=b""))

    assert response.status_code == 204
