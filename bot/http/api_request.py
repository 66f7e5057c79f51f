"""The checks the body of a send or broadcast request passes, in this order.

The caller was checked before (:mod:`bot.http.caller_policy`, applied to every management
route where it is registered), so an unauthenticated caller learns nothing about these rules.

1. size: a body over the route's limit is refused (413) before anything parses it;
2. the body: JSON (415 for another media type, 400 for bad or too deeply nested JSON), an
   object, and valid for the route's model (400 naming each field).

The routes (``sendactivity``, ``sendtoreference``, ``broadcasts``) call :func:`read_request`.
"""

from __future__ import annotations

import logging
from typing import TypeVar

import azure.functions as func
from pydantic import BaseModel, ValidationError

from bot.http_responses import error_response, json_response
from bot.proactive.message import (
    FieldError,
    InvalidMessageError,
    decode_json,
    describe_errors,
    field_errors,
)

logger = logging.getLogger(__name__)

BodyT = TypeVar("BodyT", bound=BaseModel)


class RefusedRequest(Exception):
    """The request is answered with :attr:`response` and goes no further."""

    def __init__(self, response: func.HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def read_request(req: func.HttpRequest, model: type[BodyT], *, max_body_bytes: int) -> BodyT:
    """The request's body as ``model``, once its size is checked.

    Args:
        req: The request.
        model: The route's body model.
        max_body_bytes: The route's largest body.

    Raises:
        RefusedRequest: With the answer: 413, 415 or 400 (see the module).
    """
    if len(req.get_body()) > max_body_bytes:
        raise RefusedRequest(
            error_response(413, "PayloadTooLarge", f"The body is over {max_body_bytes} bytes.")
        )
    return parse_body(req, model)


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
