"""The host's HTTP side in-process: requests in, ``HttpResponse`` out, errors in the one shape."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import azure.functions as func
import pytest
from aiohttp.test_utils import TestClient, TestServer

from dev.host.app import HttpFunction
from dev.host.http_server import build_route_table, build_web_app, describe_routes

seen: dict[str, Any] = {}
state = {"value": "Running"}


async def inspect_request(req: func.HttpRequest) -> func.HttpResponse:
    seen["request"] = req
    return func.HttpResponse(
        json.dumps({"id": req.route_params["id"]}),
        status_code=202,
        headers={"X-Custom": "yes", "Content-Length": "999"},
        mimetype="application/json",
    )


def in_a_thread(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        threading.current_thread().name, mimetype="text/plain", charset="utf-8"
    )


async def explicit_content_type(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(b"<p/>", headers={"Content-Type": "text/html"})


async def returns_text(req: func.HttpRequest) -> str:
    return "plain text"


async def returns_nothing(req: func.HttpRequest) -> None:
    return None


async def returns_a_number(req: func.HttpRequest) -> int:
    return 42


async def raises(req: func.HttpRequest) -> func.HttpResponse:
    raise KeyError("SECRET-DETAIL")


def http(name: str, function: Callable[..., Any], route: str, *methods: str) -> HttpFunction:
    return HttpFunction(name, function, "req", route, methods or None, "function")


FUNCTIONS = (
    http("inspect", inspect_request, "things/{id:int}", "POST"),
    http("thread", in_a_thread, "thread", "GET"),
    http("html", explicit_content_type, "html"),
    http("text", returns_text, "text"),
    http("nothing", returns_nothing, "nothing"),
    http("number", returns_a_number, "number"),
    http("raises", raises, "raises"),
)


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    app = build_web_app(build_route_table(FUNCTIONS, "api"), lambda: state["value"])
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_request_reaches_the_function_and_response_comes_back(
    client: TestClient[Any, Any],
) -> None:
    answer = await client.post(
        "/api/things/7?a=1&b=two",
        data=b'{"x": 1}',
        headers={"X-Many": "1", "Content-Type": "application/json"},
    )
    assert answer.status == 202
    assert answer.headers["X-Custom"] == "yes"
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    assert await answer.json() == {"id": "7"}
    request: func.HttpRequest = seen["request"]
    assert request.method == "POST"
    assert request.url.endswith("/api/things/7?a=1&b=two")
    assert request.params == {"a": "1", "b": "two"}
    assert request.route_params == {"id": "7"}
    assert request.headers["x-many"] == "1"
    assert request.get_json() == {"x": 1}


async def test_plain_functions_run_in_a_worker_thread(client: TestClient[Any, Any]) -> None:
    answer = await client.get("/api/thread")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert await answer.text() != threading.current_thread().name


async def test_content_type_header_wins_over_mimetype(client: TestClient[Any, Any]) -> None:
    answer = await client.get("/api/html")
    assert answer.headers["Content-Type"] == "text/html"
    assert await answer.read() == b"<p/>"


async def test_str_return_is_200_and_none_is_204(client: TestClient[Any, Any]) -> None:
    text = await client.get("/api/text")
    assert (text.status, await text.text()) == (200, "plain text")
    nothing = await client.get("/api/nothing")
    assert nothing.status == 204


@pytest.mark.parametrize("path", ["/api/raises", "/api/number"])
async def test_failures_are_500_json_without_details(
    client: TestClient[Any, Any], path: str
) -> None:
    answer = await client.get(path)
    assert answer.status == 500
    body = await answer.text()
    assert json.loads(body)["error"]["code"] == "InternalServerError"
    assert "SECRET-DETAIL" not in body
    assert "Traceback" not in body


async def test_unknown_route_is_404_json(client: TestClient[Any, Any]) -> None:
    answer = await client.get("/api/unknown")
    assert answer.status == 404
    assert (await answer.json())["error"]["code"] == "NotFound"


async def test_wrong_method_is_405_json_with_allow(client: TestClient[Any, Any]) -> None:
    answer = await client.get("/api/things/7")
    assert answer.status == 405
    assert answer.headers["Allow"] == "POST"
    assert (await answer.json())["error"]["code"] == "MethodNotAllowed"


@pytest.mark.parametrize(("current", "status"), [("Running", 200), ("Stopping", 503)])
async def test_status_endpoint(
    client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch, current: str, status: int
) -> None:
    monkeypatch.setitem(state, "value", current)
    answer = await client.get("/admin/host/status")
    assert (answer.status, await answer.json()) == (status, {"state": current})


def test_function_list_lines() -> None:
    table = build_route_table(FUNCTIONS[:2], "api")
    assert describe_routes(table, "http://127.0.0.1:7071") == [
        "inspect: [POST] http://127.0.0.1:7071/api/things/{id:int}",
        "thread: [GET] http://127.0.0.1:7071/api/thread",
    ]
