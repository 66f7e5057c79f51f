"""JSON responses, and the one error shape every route uses (and the start-up check's 503).

Errors are ``{"error": {"code": "...", "message": "..."}}``. A client's mistake is a 4xx with
a message that says what to fix; a 500 never carries a stack trace.
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """A JSON response with the given body and status."""
    return func.HttpResponse(
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status_code=status,
        headers=headers,
        mimetype="application/json",
        charset="utf-8",
    )


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """An error in the contract's shape.

    Args:
        status: The HTTP status, 4xx for a client's mistake.
        code: A stable machine-readable code, for example ``BadRequest``.
        message: What went wrong and how to fix it; never secrets or message text.
        headers: Extra headers, for example ``WWW-Authenticate`` or ``Retry-After``.
    """
    return json_response({"error": {"code": code, "message": message}}, status, headers)


def storage_unavailable() -> func.HttpResponse:
    """503 when the bot's own storage failed: the caller may try again shortly."""
    return error_response(
        503,
        "StorageUnavailable",
        "The bot's storage is unavailable; try again.",
        {"Retry-After": "5"},
    )
