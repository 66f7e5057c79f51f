"""Parsing untrusted JSON: UTF-8, no NaN or Infinity, and at most :data:`MAX_JSON_DEPTH` deep.

Every entry point that reads JSON from outside (``/api/messages``, the send, broadcast and
schedule routes, the proactive and fan-out queues) parses it here, so one limit holds everywhere
(docs/security-model.md, "Hostile JSON"). Depth matters because a document that parses can
still fail later: pydantic serializes nested values recursively, and an activity nested a few
hundred levels raised at serialization, a 500 on HTTP and a retry loop on the queue. Sizes are
limited by each entry before it parses.

Duplicate keys are accepted and the last one wins, as in every mainstream JSON parser.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 64
"""The deepest nesting of objects and arrays accepted; the document itself is level 1. Bot
Framework activities (adaptive cards included) stay far below it."""


class JsonDocumentError(ValueError):
    """The data is not UTF-8 JSON within the limits; :attr:`message` says which rule failed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_json(data: bytes | str) -> Any:
    """Decode untrusted JSON text (a UTF-8 BOM is allowed).

    Raises:
        JsonDocumentError: It is not UTF-8, not JSON, holds NaN or Infinity, or is nested
            deeper than :data:`MAX_JSON_DEPTH`.
    """
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise JsonDocumentError("not UTF-8 text") from None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise JsonDocumentError(
            f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        # Thousands of levels: Python's decoder gives up before our own check could run.
        raise JsonDocumentError(_too_deep()) from None
    except ValueError as error:
        raise JsonDocumentError(f"not valid JSON: {error}") from None
    if exceeds_depth(document, MAX_JSON_DEPTH):
        raise JsonDocumentError(_too_deep())
    return document


def exceeds_depth(document: Any, limit: int) -> bool:
    """Whether objects and arrays nest deeper than ``limit`` levels (iteratively, no recursion)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if type(value) is dict:
            children: Any = value.values()
        elif type(value) is list:
            children = value
        else:
            continue
        if depth > limit:
            return True
        for child in children:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


def _too_deep() -> str:
    return f"nested deeper than {MAX_JSON_DEPTH} levels"


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's decoder accepts them unless told not to.
    raise ValueError(f"{name} is not a JSON value")
