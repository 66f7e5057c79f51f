"""Adaptive Card 1.5 validation: each rule names the JSON path of the problem."""

from __future__ import annotations

from typing import Any

import pytest

from bot.cards.validation import validate_card


def card(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [{"type": "TextBlock", "text": "hi"}],
    }
    base.update(fields)
    return base


def paths(document: Any) -> list[str]:
    return [problem.path for problem in validate_card(document)]


def test_a_valid_card_with_execute_refresh_and_table() -> None:
    document = card(
        body=[
            {"type": "Container", "items": [{"type": "Image", "url": "https://x/y.png"}]},
            {"type": "ColumnSet", "columns": [{"type": "Column", "items": []}]},
            {"type": "FactSet", "facts": [{"title": "a", "value": "b"}]},
            {"type": "Table", "columns": [], "rows": []},
            {"type": "Input.Text", "id": "comment", "isMultiline": True},
        ],
        actions=[{"type": "Action.Execute", "verb": "ok", "title": "OK"}],
        refresh={"action": {"type": "Action.Execute", "verb": "r"}, "userIds": ["29:1"]},
    )
    assert validate_card(document) == []


@pytest.mark.parametrize(
    ("document", "path"),
    [
        (card(body=[{"type": "Carousel"}]), "body[0].type"),
        (card(body=[{"type": "TextBlock", "text": "x", "wrap": "yes"}]), "body[0].wrap"),
        (card(body=[{"type": "TextBlock"}]), "body[0].text"),
        (card(version="1.6"), "version"),
        (card(version=None), "version"),
        (card(type="HeroCard"), "type"),
        (card(actions=[{"type": "Action.OpenUrl"}]), "actions[0].url"),
        (card(body=[{"type": "Container", "items": [{"type": "Nope"}]}]), "body[0].items[0].type"),
        (card(version="1.3", actions=[{"type": "Action.Execute"}]), "actions[0].type"),
        (card(body=[{"type": "TextBlock", "text": "x", "spacing": "huge"}]), "body[0].spacing"),
        (card(body={"type": "TextBlock"}), "body"),
    ],
)
def test_each_rule_names_the_path(document: dict[str, Any], path: str) -> None:
    assert path in paths(document)


def test_an_unknown_element_with_a_fallback_is_accepted() -> None:
    document = card(body=[{"type": "Future.Thing", "fallback": "drop"}])
    assert validate_card(document) == []
