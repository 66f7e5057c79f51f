"""The templating subset: bindings, $data repetition, $when, and refusals with a path."""

from __future__ import annotations

from typing import Any

import pytest

from bot.cards.templating import TemplateError, expand


def test_bindings_keep_types_alone_and_become_text_inside_text() -> None:
    data = {"n": 3, "flag": True, "user": {"name": "Ada"}, "tags": ["a", "b"]}
    template = {
        "count": "${n}",
        "flag": "${flag}",
        "text": "Hi ${user.name}, ${n} new (${tags[1]})",
        "whole": "${$root.user}",
    }
    assert expand(template, data) == {
        "count": 3,
        "flag": True,
        "text": "Hi Ada, 3 new (b)",
        "whole": {"name": "Ada"},
    }


def test_an_unresolved_binding_is_left_as_written() -> None:
    assert expand({"text": "Hi ${nobody.here}"}, {}) == {"text": "Hi ${nobody.here}"}


def test_data_arrays_repeat_the_element_with_index() -> None:
    template = {
        "body": [
            {"type": "TextBlock", "text": "title"},
            {"$data": "${items}", "type": "TextBlock", "text": "${$index}: ${name}"},
        ]
    }
    expanded = expand(template, {"items": [{"name": "x"}, {"name": "y"}]})
    assert [item["text"] for item in expanded["body"]] == ["title", "0: x", "1: y"]


def test_root_data_and_when() -> None:
    template: dict[str, Any] = {
        "$data": {"level": 3, "who": None},
        "body": [
            {"$when": "${level >= 2 && !who}", "text": "shown"},
            {"$when": "${level < 2 || who == 'x'}", "text": "hidden"},
            {"$when": "${(level == 3)}", "text": "also shown"},
        ],
    }
    assert [item["text"] for item in expand(template, None)["body"]] == ["shown", "also shown"]


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ({"body": [{"text": "${formatDateTime(at)}"}]}, "body[0].text"),
        ({"a": {"b": "${x + 1}"}}, "a.b"),
        ({"body": [{"$when": "level", "text": "x"}]}, "body[0].$when"),
        ({"$data": "items"}, "$data"),
    ],
)
def test_expressions_outside_the_subset_are_refused_with_their_path(
    template: dict[str, Any], path: str
) -> None:
    with pytest.raises(TemplateError) as caught:
        expand(template, {"x": 1, "at": "now"})
    assert caught.value.path == path


def test_nothing_is_evaluated_as_code() -> None:
    template = {"t": "${__class__.__mro__}", "u": "${().__class__}"}
    with pytest.raises(TemplateError):
        expand(template, {})
    assert expand({"t": "${__class__}"}, {}) == {"t": "${__class__}"}
