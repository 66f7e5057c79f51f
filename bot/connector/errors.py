"""What a failed Connector call means: retry later, give up, or stop writing to the conversation.

Classification follows the Teams "status codes from bot conversational APIs" table
(docs/security-model.md, "Connector errors and retries"): 412, 429, 502, 503, 504, timeouts
and connection failures are transient; everything else, 500 ``ServiceError`` included, is not
("bots must avoid retrying status codes that aren't specified"). Some 403 and 404 codes mean
the conversation is gone for the bot for good.
"""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import Any

TRANSIENT_STATUSES = frozenset({412, 429, 502, 503, 504})
CONVERSATION_GONE = frozenset(
    {
        (403, "BotNotInConversationRoster"),
        (403, "ConversationBlockedByUser"),
        (403, "BotDisabledByAdmin"),
        (404, "ConversationNotFound"),
    }
)
MAX_MESSAGE_LENGTH = 300
MAX_RETRY_AFTER_SECONDS = 24 * 60 * 60.0


class ConnectorError(Exception):
    """A Connector operation failed.

    Attributes:
        status: The HTTP status, or ``None`` when no response arrived (timeout, connection).
        code: The Bot Framework / Teams error code (``ConversationBlockedByUser``, ...), or a
            local one: ``Timeout``, ``ConnectionError``, ``UnexpectedRedirect``,
            ``InvalidResponse``, ``InvalidId``, ``HttpError`` when the body named none.
        message: The service's message (bounded) or a local description; no token, no text
            of the activity.
        retry_after: Seconds to wait, from ``Retry-After`` (delta-seconds or HTTP-date).
        operation_id: ``X-Correlating-OperationId``, for a support ticket.
        operation: Which call failed, for example ``send_to_conversation``.
    """

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        *,
        retry_after: float | None = None,
        operation_id: str | None = None,
        operation: str = "",
        transient: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.operation_id = operation_id
        self.operation = operation
        self._transient = transient

    def __str__(self) -> str:
        status = self.status if self.status is not None else "no response"
        where = f"{self.operation}: " if self.operation else ""
        return f"{where}{status} {self.code}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"ConnectorError(status={self.status}, code={self.code!r}, "
            f"operation={self.operation!r}, retry_after={self.retry_after})"
        )

    @property
    def is_transient(self) -> bool:
        """Trying again later may succeed: 412, 429, 502, 503, 504, timeouts, connections."""
        if self._transient is not None:
            return self._transient
        return self.status is None or self.status in TRANSIENT_STATUSES

    @property
    def is_permanent(self) -> bool:
        """Retrying the same call will not help."""
        return not self.is_transient

    @property
    def is_throttled(self) -> bool:
        """The Connector said 429: slow down (see :attr:`retry_after`)."""
        return self.status == 429

    @property
    def is_conversation_gone(self) -> bool:
        """The bot can no longer write to this conversation: mark the reference inactive.

        403 ``BotNotInConversationRoster`` / ``ConversationBlockedByUser`` /
        ``BotDisabledByAdmin`` and 404 ``ConversationNotFound``.
        """
        return (self.status, self.code) in CONVERSATION_GONE


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    Returns ``None`` for a missing or unparsable value; never negative; at most a day.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_SECONDS)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return min(max(0.0, moment.timestamp() - current), MAX_RETRY_AFTER_SECONDS)


def _bounded(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_LENGTH else text[: MAX_MESSAGE_LENGTH - 1] + "…"


def error_code_and_message(body: bytes) -> tuple[str | None, str | None]:
    """The ``error.code`` and ``error.message`` of an ``ErrorResponse`` body, if any."""
    if not body:
        return None, None
    try:
        document: Any = json.loads(body)
    except ValueError:
        return None, None
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None, None
    code = error.get("code")
    message = error.get("message")
    return (
        code if isinstance(code, str) and code else None,
        _bounded(message) if isinstance(message, str) and message else None,
    )
