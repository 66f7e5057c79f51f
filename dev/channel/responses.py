"""JSON answers of the local channel, in the Bot Connector's error shape.

The Connector's swagger defines every failure as ``ErrorResponse``:
``{"error": {"code": "...", "message": "..."}}``, the same shape the bot uses, so one helper
serves the connector, the control API and the issuer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response with the given body and status."""
    return web.json_response(body, status=status, headers=headers)


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """An ``ErrorResponse`` with a stable code and a message that says what went wrong."""
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )
