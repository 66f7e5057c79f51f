"""The checks every request to the send APIs passes, in this order.

1. size: a body over the route's limit is refused (413) before anything reads it;
2. the caller: its Entra ID token when ``PROACTIVE_API_AUDIENCE`` is set (401/403), before
   the body is parsed, so an unauthenticated caller learns nothing about the body's rules;
3. the body: JSON (415 for another media type, 400 for bad JSON), an object, and valid for
   the route's model (400 naming each field).

The routes (``sendactivity``, ``sendtoreference``, ``broadcasts``) call :func:`read_request`.
"""

from __future__ import annotations

import logging
from typing import TypeVar

import azure.functions as func
from pydantic import BaseModel, ValidationError

from bot.auth.errors import AuthenticationError
from bot.http.responses import error_response, json_response
from bot.proactive.message import (
    FieldError,
    InvalidMessageError,
    decode_json,
    describe_errors,
    field_errors,
)
from bot.settings import SettingsError

logger = logging.getLogger(__name__)

BodyT = TypeVar("BodyT", bound=BaseModel)


class RefusedRequest(Exception):
    """The request is answered with :attr:`response` and goes no further."""

    def __init__(self, response: func.HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


async def read_request(
    req: func.HttpRequest, model: type[BodyT], *, max_body_bytes: int, api_name: str
) -> BodyT:
    """The request's body as ``model``, once the size and the caller are checked.

    Args:
        req: The request.
        model: The route's body model.
        max_body_bytes: The route's largest body.
        api_name: Names the API in the log line of a misconfigured authentication.

    Raises:
        RefusedRequest: With the answer: 413, 401/403, 415 or 400 (see the module).
    """
    refused = await _refused_caller(req, max_body_bytes=max_body_bytes, api_name=api_name)
    if refused is not None:
        raise RefusedRequest(refused)
    return parse_body(req, model)


async def _refused_caller(
    req: func.HttpRequest, *, max_body_bytes: int, api_name: str
) -> func.HttpResponse | None:
    """The answer to a body too large or a caller not allowed; ``None`` when both pass.

    Args:
        req: The request.
        max_body_bytes: The route's largest body.
        api_name: Names the API in the log line of a misconfigured authentication.
    """
    from bot.auth.api_callers import api_caller_authenticator

    if len(req.get_body()) > max_body_bytes:
        return error_response(413, "PayloadTooLarge", f"The body is over {max_body_bytes} bytes.")
    try:
        authenticator = api_caller_authenticator()
    except SettingsError as error:
        logger.error("%s: %s", api_name, error)
        return error_response(
            500, "ServerMisconfigured", "The API's authentication is misconfigured."
        )
    try:
        await authenticator.authenticate(req.headers.get("Authorization"))
    except AuthenticationError as error:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return error_response(error.status, error.code, error.message, headers)
    return None


def parse_body(req: func.HttpRequest, model: type[BodyT]) -> BodyT:
    """The request's JSON body as ``model``.

    Raises:
        RefusedRequest: 415 not JSON, 400 invalid JSON, not an object, or invalid for the
            model (each field named in ``error.details``).
    """
    content_type = req.headers.get("Content-Type")
    if content_type and not _is_json(content_type):
        raise RefusedRequest(
            error_response(415, "UnsupportedMediaType", "The body must be application/json.")
        )
    try:
        document = decode_json(req.get_body())
    except InvalidMessageError as error:
        raise RefusedRequest(field_errors_response("InvalidJson", error.errors)) from None
    if not isinstance(document, dict):
        errors = [FieldError(field="", message="must be an object")]
        raise RefusedRequest(field_errors_response("InvalidRequest", errors))
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise RefusedRequest(field_errors_response("InvalidRequest", field_errors(error))) from None


def field_errors_response(code: str, errors: list[FieldError]) -> func.HttpResponse:
    """400 in the error shape, with each field's problem in ``error.details``."""
    return json_response(
        {
            "error": {
                "code": code,
                "message": describe_errors(errors),
                "details": [error.model_dump() for error in errors],
            }
        },
        400,
    )


def _is_json(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )
