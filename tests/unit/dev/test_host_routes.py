"""Route templates of the local host: matching, constraints, precedence, 404 and 405."""

from __future__ import annotations

import pytest

from dev.host.routes import RouteError, RouteMatch, RouteMiss, RouteTable, RouteTemplate


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("health", "health", {}),
        ("health", "HEALTH", {}),
        ("health", "health/", {}),
        ("health", "healthz", None),
        ("health", "health/more", None),
        ("deliveries/{id}", "deliveries/abc-1", {"id": "abc-1"}),
        ("deliveries/{id}", "Deliveries/AbC", {"id": "AbC"}),
        ("deliveries/{id}", "deliveries", None),
        ("deliveries/{id}", "deliveries/a/b", None),
        ("schedules/{id?}", "schedules", {}),
        ("schedules/{id?}", "schedules/s1", {"id": "s1"}),
        ("a/{x?}/{y?}", "a/1", {"x": "1"}),
        ("a/{x?}/{y?}", "a/1/2", {"x": "1", "y": "2"}),
        ("items/{id:int}", "items/42", {"id": "42"}),
        ("items/{id:int}", "items/-7", {"id": "-7"}),
        ("items/{id:int}", "items/4x", None),
        ("items/{id:int}", "items/99999999999", None),
        ("items/{id:long}", "items/99999999999", {"id": "99999999999"}),
        ("items/{id:int?}", "items", {}),
        ("items/{id:int?}", "items/x", None),
        ("names/{name:alpha}", "names/Ada", {"name": "Ada"}),
        ("names/{name:alpha}", "names/Ada1", None),
        (
            "ids/{id:guid}",
            "ids/0f8fad5b-d9cb-469f-a165-70867728950e",
            {"id": "0f8fad5b-d9cb-469f-a165-70867728950e"},
        ),
        ("ids/{id:guid}", "ids/nope", None),
        ("flags/{on:bool}", "flags/True", {"on": "True"}),
        ("flags/{on:bool}", "flags/yes", None),
        ("files/{*rest}", "files/a/b/c.txt", {"rest": "a/b/c.txt"}),
        ("files/{*rest}", "files", {}),
        ("files/{**rest}", "files/x", {"rest": "x"}),
        ("{*everything}", "any/thing", {"everything": "any/thing"}),
        ("", "", {}),
        ("", "x", None),
    ],
)
def test_template_matching(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert RouteTemplate.parse(template).match(path) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("items/{id:regex(^a$)}", "not supported"),
        ("items/{id:double}", "not supported"),
        ("items/{id}.json", "mixes text"),
        ("files/{*rest}/more", "catch-all must be the last"),
        ("a/{x?}/b", "only trailing parameters"),
        ("a/{x}/{x}", "used twice"),
        ("a/{}", "not a route parameter"),
        ("a/{*}", "not a catch-all"),
    ],
)
def test_unsupported_templates_fail_naming_the_template(template: str, message: str) -> None:
    with pytest.raises(RouteError, match=message) as raised:
        RouteTemplate.parse(template)
    assert template in str(raised.value)


def table() -> RouteTable[str]:
    routes: RouteTable[str] = RouteTable("api")
    routes.add("messages", ["POST"], "messages")
    routes.add("schedules/{id}", ["GET", "patch", "DELETE"], "schedule")
    routes.add("schedules", ["GET", "POST"], "schedules")
    routes.add("items/{*rest}", None, "catch-all")
    routes.add("items/{id:int}", ["GET"], "item-by-number")
    routes.add("items/{name}", ["GET"], "item-by-name")
    routes.add("items/special", ["GET"], "special")
    return routes


def resolve(method: str, path: str) -> RouteMatch[str] | RouteMiss:
    return table().resolve(method, path)


def test_matching_route_and_params() -> None:
    found = resolve("PATCH", "/api/schedules/s-1")
    assert isinstance(found, RouteMatch)
    assert found.route.target == "schedule"
    assert found.params == {"id": "s-1"}


def test_prefix_is_case_insensitive_and_required() -> None:
    assert isinstance(resolve("POST", "/API/Messages"), RouteMatch)
    assert resolve("POST", "/messages") == RouteMiss(404)
    assert resolve("POST", "/apix/messages") == RouteMiss(404)


def test_unknown_route_is_404() -> None:
    assert resolve("GET", "/api/nothing-here") == RouteMiss(404)


def test_wrong_method_is_405_with_the_allowed_methods() -> None:
    assert resolve("GET", "/api/messages") == RouteMiss(405, frozenset({"POST"}))
    assert resolve("PUT", "/api/schedules/s-1") == RouteMiss(
        405, frozenset({"GET", "PATCH", "DELETE"})
    )


def test_the_most_specific_template_wins() -> None:
    def target(path: str) -> str:
        found = resolve("GET", path)
        assert isinstance(found, RouteMatch)
        return found.route.target

    assert target("/api/items/special") == "special"
    assert target("/api/items/12") == "item-by-number"
    assert target("/api/items/twelve") == "item-by-name"
    assert target("/api/items/a/b") == "catch-all"


def test_a_less_specific_route_answers_a_method_the_specific_one_does_not() -> None:
    found = resolve("POST", "/api/items/12")
    assert isinstance(found, RouteMatch)
    assert found.route.target == "catch-all"


def test_empty_prefix() -> None:
    routes: RouteTable[str] = RouteTable("")
    routes.add("health", ["GET"], "health")
    assert isinstance(routes.resolve("GET", "/health"), RouteMatch)
    assert routes.url_path(routes.routes[0]) == "/health"


def test_url_path_shows_the_prefix() -> None:
    routes: RouteTable[str] = RouteTable("/api/")
    route = routes.add("items/{id:int}", None, "x")
    assert routes.url_path(route) == "/api/items/{id:int}"
