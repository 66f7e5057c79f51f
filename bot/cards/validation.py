"""Adaptive Card validation against the schema of the version Teams renders (1.5).

A card is checked before it is accepted, so a malformed card is a 400 (or a poison reason)
naming its JSON path, never a Connector error or a blank card later. The rules, from the
Adaptive Card 1.5 schema (adaptivecards.io/schemas/1.5.0/adaptive-card.json):

* the root is ``{"type": "AdaptiveCard", "version": "1.0" ... "1.5"}``; a later version is
  refused (Teams renders 1.5 at most);
* every element and action has a ``type`` this version knows, and was introduced at or before
  the card's version (``Table`` 1.5, ``Action.Execute`` 1.4...); an unknown type is accepted only
  with a ``fallback`` (the schema's way to use a newer element);
* each element's required properties are present (``TextBlock.text``, ``Image.url``,
  ``FactSet.facts``, ``Action.OpenUrl.url``, ``Input.*.id``...);
* properties the schema types are of that type (``items`` an array, ``isVisible`` a
  boolean, ``spacing`` one of its values...); properties it does not name are left to the host,
  as the schema allows.

Errors name the path from the card's root: ``body[2].items[0].type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_VERSION = (1, 5)
"""The newest card version Teams renders."""
MAX_ERRORS = 20


@dataclass(frozen=True)
class CardProblem:
    """One problem of a card: where (a JSON path from the card's root) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(card)'}: {self.message}"


@dataclass(frozen=True)
class _Kind:
    since: tuple[int, int]
    required: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    """Property name → ``string``, ``boolean``, ``number``, ``array``, ``object``,
    ``elements``, ``actions``, ``action``, ``card``, ``columns``, or ``enum:a|b``."""


_SPACING = "enum:default|none|small|medium|large|extraLarge|padding"
_HALIGN = "enum:left|center|right"
_COMMON: Mapping[str, str] = {
    "id": "string",
    "isVisible": "boolean",
    "separator": "boolean",
    "spacing": _SPACING,
    "height": "enum:auto|stretch",
    "requires": "object",
}
_INPUT: Mapping[str, str] = {
    **_COMMON,
    "label": "string",
    "isRequired": "boolean",
    "errorMessage": "string",
}
_ACTION: Mapping[str, str] = {
    "title": "string",
    "iconUrl": "string",
    "id": "string",
    "style": "enum:default|positive|destructive",
    "tooltip": "string",
    "isEnabled": "boolean",
    "mode": "enum:primary|secondary",
    "requires": "object",
}

ELEMENTS: Mapping[str, _Kind] = {
    "TextBlock": _Kind(
        (1, 0),
        ("text",),
        {
            **_COMMON,
            "text": "string",
            "wrap": "boolean",
            "maxLines": "number",
            "horizontalAlignment": _HALIGN,
            "size": "enum:default|small|medium|large|extraLarge",
            "weight": "enum:default|lighter|bolder",
            "color": "enum:default|dark|light|accent|good|warning|attention",
            "isSubtle": "boolean",
            "fontType": "enum:default|monospace",
            "style": "enum:default|heading",
        },
    ),
    "Image": _Kind(
        (1, 0),
        ("url",),
        {
            **_COMMON,
            "url": "string",
            "altText": "string",
            "selectAction": "action",
            "size": "enum:auto|stretch|small|medium|large",
            "style": "enum:default|person",
            "horizontalAlignment": _HALIGN,
        },
    ),
    "Media": _Kind((1, 1), ("sources",), {**_COMMON, "sources": "array", "poster": "string"}),
    "RichTextBlock": _Kind((1, 2), ("inlines",), {**_COMMON, "inlines": "array"}),
    "Container": _Kind(
        (1, 0),
        ("items",),
        {
            **_COMMON,
            "items": "elements",
            "selectAction": "action",
            "style": "enum:default|emphasis|good|attention|warning|accent",
            "verticalContentAlignment": "enum:top|center|bottom",
            "bleed": "boolean",
            "minHeight": "string",
            "rtl": "boolean",
        },
    ),
    "ColumnSet": _Kind(
        (1, 0),
        (),
        {**_COMMON, "columns": "columns", "selectAction": "action", "bleed": "boolean"},
    ),
    "FactSet": _Kind((1, 0), ("facts",), {**_COMMON, "facts": "facts"}),
    "ImageSet": _Kind((1, 0), ("images",), {**_COMMON, "images": "elements"}),
    "ActionSet": _Kind((1, 2), ("actions",), {**_COMMON, "actions": "actions"}),
    "Table": _Kind(
        (1, 5),
        (),
        {
            **_COMMON,
            "columns": "array",
            "rows": "array",
            "firstRowAsHeader": "boolean",
            "showGridLines": "boolean",
        },
    ),
    "Input.Text": _Kind(
        (1, 0),
        ("id",),
        {
            **_INPUT,
            "isMultiline": "boolean",
            "maxLength": "number",
            "placeholder": "string",
            "value": "string",
            "style": "enum:text|tel|url|email|password",
            "inlineAction": "action",
            "regex": "string",
        },
    ),
    "Input.Number": _Kind(
        (1, 0),
        ("id",),
        {**_INPUT, "max": "number", "min": "number", "value": "number", "placeholder": "string"},
    ),
    "Input.Date": _Kind((1, 0), ("id",), {**_INPUT, "value": "string", "placeholder": "string"}),
    "Input.Time": _Kind((1, 0), ("id",), {**_INPUT, "value": "string", "placeholder": "string"}),
    "Input.Toggle": _Kind(
        (1, 0),
        ("id", "title"),
        {
            **_INPUT,
            "title": "string",
            "value": "string",
            "valueOn": "string",
            "valueOff": "string",
            "wrap": "boolean",
        },
    ),
    "Input.ChoiceSet": _Kind(
        (1, 0),
        ("id",),
        {
            **_INPUT,
            "choices": "array",
            "isMultiSelect": "boolean",
            "style": "enum:compact|expanded|filtered",
            "value": "string",
            "placeholder": "string",
            "wrap": "boolean",
        },
    ),
}
"""The element types of Adaptive Cards 1.5 (``Column`` only inside a ``ColumnSet``)."""

ACTIONS: Mapping[str, _Kind] = {
    "Action.OpenUrl": _Kind((1, 0), ("url",), {**_ACTION, "url": "string"}),
    "Action.Submit": _Kind((1, 0), (), {**_ACTION, "associatedInputs": "enum:auto|none"}),
    "Action.ShowCard": _Kind((1, 0), (), {**_ACTION, "card": "card"}),
    "Action.ToggleVisibility": _Kind(
        (1, 2), ("targetElements",), {**_ACTION, "targetElements": "array"}
    ),
    "Action.Execute": _Kind(
        (1, 4), (), {**_ACTION, "verb": "string", "associatedInputs": "enum:auto|none"}
    ),
}
"""The action types of Adaptive Cards 1.5."""

_COLUMN = _Kind(
    (1, 0),
    (),
    {
        **_COMMON,
        "items": "elements",
        "selectAction": "action",
        "style": "enum:default|emphasis|good|attention|warning|accent",
        "verticalContentAlignment": "enum:top|center|bottom",
        "bleed": "boolean",
        "rtl": "boolean",
    },
)
_CARD: Mapping[str, str] = {
    "version": "string",
    "body": "elements",
    "actions": "actions",
    "selectAction": "action",
    "fallbackText": "string",
    "speak": "string",
    "lang": "string",
    "minHeight": "string",
    "rtl": "boolean",
    "verticalContentAlignment": "enum:top|center|bottom",
    "refresh": "refresh",
    "msteams": "object",
    "metadata": "object",
}


def validate_card(card: Any) -> list[CardProblem]:
    """The problems of an Adaptive Card (empty when it is valid for Teams).

    Args:
        card: The card's JSON (an attachment's ``content``).
    """
    checker = _Checker()
    checker.card(card, "", root=True)
    return checker.problems[:MAX_ERRORS]


class _Checker:
    def __init__(self) -> None:
        self.problems: list[CardProblem] = []
        self.version: tuple[int, int] = MAX_VERSION

    def report(self, path: str, message: str) -> None:
        self.problems.append(CardProblem(path, message))

    def card(self, card: Any, path: str, *, root: bool) -> None:
        if not isinstance(card, Mapping):
            self.report(path, "an Adaptive Card must be an object")
            return
        if card.get("type") != "AdaptiveCard":
            self.report(_join(path, "type"), "must be 'AdaptiveCard'")
        version = card.get("version")
        if root or version is not None:
            parsed = _version(version)
            if parsed is None:
                self.report(_join(path, "version"), "required: a version such as '1.5'")
            elif parsed > MAX_VERSION:
                self.report(
                    _join(path, "version"),
                    f"version {version} is above 1.5, the newest Teams renders",
                )
            elif root:
                self.version = parsed
        self.properties(card, _CARD, path)

    def properties(self, node: Mapping[str, Any], types: Mapping[str, str], path: str) -> None:
        for name, kind in types.items():
            if name in node:
                self.value(node[name], kind, _join(path, name))

    def value(self, value: Any, kind: str, path: str) -> None:
        if kind.startswith("enum:"):
            allowed = kind[5:].split("|")
            if not isinstance(value, str) or value.lower() not in {a.lower() for a in allowed}:
                self.report(path, "must be one of " + ", ".join(allowed))
            return
        simple = {
            "string": (str, "a string"),
            "boolean": (bool, "a boolean"),
            "object": (Mapping, "an object"),
            "array": (list, "an array"),
        }
        if kind in simple:
            expected, name = simple[kind]
            if not isinstance(value, expected):
                self.report(path, f"must be {name}")
            return
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.report(path, "must be a number")
            return
        if kind in ("elements", "actions", "columns", "facts"):
            if not isinstance(value, list):
                self.report(path, "must be an array")
                return
            for position, item in enumerate(value):
                item_path = f"{path}[{position}]"
                if kind == "elements":
                    self.element(item, item_path)
                elif kind == "actions":
                    self.action(item, item_path)
                elif kind == "columns":
                    self.column(item, item_path)
                else:
                    self.fact(item, item_path)
            return
        if kind == "action":
            self.action(value, path)
        elif kind == "card":
            self.card(value, path, root=False)
        elif kind == "refresh":
            self.refresh(value, path)

    def typed(self, node: Any, path: str, kinds: Mapping[str, _Kind], what: str) -> _Kind | None:
        if not isinstance(node, Mapping):
            self.report(path, f"an {what} must be an object")
            return None
        type_name = node.get("type")
        if not isinstance(type_name, str):
            self.report(_join(path, "type"), f"required: the {what}'s type")
            return None
        kind = kinds.get(type_name)
        if kind is None:
            if "fallback" not in node:
                self.report(
                    _join(path, "type"), f"unknown {what} type '{type_name}' in Adaptive Cards 1.5"
                )
            return None
        if kind.since > self.version:
            self.report(
                _join(path, "type"),
                f"'{type_name}' needs card version {kind.since[0]}.{kind.since[1]} or later",
            )
        for name in kind.required:
            if name not in node or node[name] is None:
                self.report(_join(path, name), f"required by {type_name}")
        self.properties(node, kind.properties, path)
        fallback = node.get("fallback")
        if isinstance(fallback, Mapping):
            self.typed(fallback, _join(path, "fallback"), kinds, what)
        elif fallback is not None and fallback != "drop":
            self.report(_join(path, "fallback"), f"must be an {what} or 'drop'")
        return kind

    def element(self, node: Any, path: str) -> None:
        self.typed(node, path, ELEMENTS, "element")

    def action(self, node: Any, path: str) -> None:
        self.typed(node, path, ACTIONS, "action")

    def column(self, node: Any, path: str) -> None:
        if not isinstance(node, Mapping):
            self.report(path, "a column must be an object")
            return
        if node.get("type", "Column") != "Column":
            self.report(_join(path, "type"), "must be 'Column'")
        self.properties(node, _COLUMN.properties, path)

    def fact(self, node: Any, path: str) -> None:
        if not isinstance(node, Mapping):
            self.report(path, "a fact must be an object")
            return
        for name in ("title", "value"):
            if not isinstance(node.get(name), str):
                self.report(_join(path, name), "required: a string")

    def refresh(self, node: Any, path: str) -> None:
        if not isinstance(node, Mapping):
            self.report(path, "must be an object")
            return
        if self.version < (1, 4):
            self.report(path, "refresh needs card version 1.4 or later")
        if "action" not in node:
            self.report(_join(path, "action"), "required by refresh")
        else:
            self.action(node["action"], _join(path, "action"))
            action = node["action"]
            if isinstance(action, Mapping) and action.get("type") != "Action.Execute":
                self.report(_join(path, "action.type"), "a refresh action is an Action.Execute")
        users = node.get("userIds")
        if users is not None and (
            not isinstance(users, list) or not all(isinstance(user, str) for user in users)
        ):
            self.report(_join(path, "userIds"), "must be an array of strings")


def _version(value: Any) -> tuple[int, int] | None:
    if not isinstance(value, str):
        return None
    major, _, minor = value.partition(".")
    if not (major.isdigit() and minor.isdigit()):
        return None
    return int(major), int(minor)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
