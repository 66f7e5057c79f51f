"""The typed errors of authentication, authorization and token acquisition.

Messages are safe to return to a caller and to log: they never contain a token, a secret or
the text of a message.
"""

from __future__ import annotations


class AuthenticationError(Exception):
    """An inbound request was not authenticated, or its activity does not match its token.

    Attributes:
        status: The HTTP status to answer with: 401 (missing, malformed, forged or expired
            token), 403 (a valid token that does not cover this activity), 400 (the activity
            lacks what the check needs) or 503 (the signing keys could not be fetched).
        code: A stable machine-readable code, for example ``TokenExpired``.
        message: What went wrong, safe for a response body and a log line.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"AuthenticationError(status={self.status}, code={self.code!r})"


class ServiceUrlNotAllowed(Exception):
    """A serviceUrl is not on the ``BOT_ALLOWED_SERVICE_URLS`` allow-list.

    Raised before any token is requested and before any request is made.

    Attributes:
        code: Always ``ServiceUrlNotAllowed``.
        host: The host of the rejected URL (sanitised), or ``None`` when it has none.
        reason: Why it was rejected, for example ``"http is not allowed"``.
        message: A safe one-line description naming the host.
    """

    code = "ServiceUrlNotAllowed"

    def __init__(self, host: str | None, reason: str) -> None:
        self.host = host
        self.reason = reason
        where = f"serviceUrl host '{host}'" if host else "serviceUrl"
        self.message = f"{where} is not allowed: {reason}"
        super().__init__(self.message)


class TokenAcquisitionError(Exception):
    """The bot could not get its own access token for the Connector.

    Attributes:
        code: The OAuth error (``invalid_client``, ...) or a local code such as
            ``TokenEndpointUnreachable``.
        message: A safe description: never the secret, the certificate or a token.
        transient: ``True`` when trying again later may succeed (network, throttling, 5xx).
    """

    def __init__(self, code: str, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient

    def __repr__(self) -> str:
        return f"TokenAcquisitionError(code={self.code!r}, transient={self.transient})"
