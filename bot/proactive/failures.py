"""What a failed send means and what to do next: retry later, give up, or retire the
conversation; and whether the activity may have arrived anyway.

Pure logic over the errors :mod:`bot.connector` and :mod:`bot.auth` raise, following the
queue contract (412, 429, 502, 503, 504 and timeouts are retried, honouring ``Retry-After``)
and docs/delivery.md:

======================================  =======  ==========  =================================
failure                                 verdict  maybe sent  why
======================================  =======  ==========  =================================
serviceUrl not on the allow-list        refuse   no          checked before any token
token request failed (transient)        retry    no          nothing was sent
token request failed (configuration)    fail     no
429 Throttled, 412 PreconditionFailed   retry    no          the Connector refused the request
429 RateLimited (the bot's governor)    retry    no          held back: not an attempt
500, 502, 504, timeout, lost connection retry    yes         it may have reached the Connector
503 ServiceUnavailable                  retry    no          the service did not take it
connection refused / DNS / TLS          retry    no          no request left the bot
403 BotNotInConversationRoster,         gone     no          retire the reference
ConversationBlockedByUser,
BotDisabledByAdmin; 404 ConversationNotFound
other 4xx (400, 401 after a refresh,    fail     no          retrying the same request won't help
403, 404, 413), a 3xx
other 5xx                               fail     yes         it may have arrived
an answer that is not the protocol      fail     yes         the request was accepted
anything else                           fail     yes         unknown: never risk a duplicate
======================================  =======  ==========  =================================

What happens to a "maybe sent" activity depends on the delivery's mode: ``atLeastOnce`` sends
it again after the retry delay and marks it ``possibleDuplicate``; ``atMostOnce`` records it
``Unknown`` and never sends it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.auth.errors import ServiceUrlNotAllowed, TokenAcquisitionError
from bot.connector.errors import ConnectorError
from bot.delivery import DeliveryError
from bot.throttling.sender import LocalThrottleError

RETRYABLE_UNSENT_STATUSES = frozenset({412, 429, 503})
"""The Connector refused the request (or the service did not take it): not delivered."""
RETRYABLE_AMBIGUOUS_STATUSES = frozenset({500, 502, 504})
"""Retried, but the request may have been delivered (atMostOnce: not sent again)."""


class Verdict(StrEnum):
    """What to do after a failed send."""

    RETRY = "retry"
    """Transient: send what is left later."""
    FAIL = "fail"
    """Permanent: stop; the delivery failed."""
    GONE = "gone"
    """Permanent: the bot can no longer write to the conversation; retire its reference."""
    REFUSE = "refuse"
    """Not sent by policy (the serviceUrl is not allowed)."""


@dataclass(frozen=True)
class Failure:
    """A classified send failure.

    Attributes:
        verdict: What to do next.
        code: The Connector's error code (``Throttled``, ``ConversationBlockedByUser``...) or
            a local one (``Timeout``, ``ServiceUrlNotAllowed``, ``TokenAcquisitionFailed``...).
        message: A description without message text or tokens.
        status: The Connector's HTTP status, when it answered.
        maybe_sent: The activity may have been delivered: sent again only at least once.
        retry_after: Seconds the Connector asked to wait (``Retry-After``).
        inactive_reason: For ``GONE``, the reason to retire the reference with.
        held_back: The bot's own rate governor held the send back (nothing left the bot):
            a deferral, not a delivery attempt (docs/rate-limits.md).
    """

    verdict: Verdict
    code: str
    message: str
    status: int | None = None
    maybe_sent: bool = False
    retry_after: float | None = None
    inactive_reason: str | None = None
    held_back: bool = False

    @property
    def error(self) -> DeliveryError:
        """The failure as the ledger records it."""
        return DeliveryError(self.code, self.message)

    @property
    def throttled(self) -> bool:
        """The Connector answered 429."""
        return self.status == 429


def classify(error: BaseException) -> Failure:
    """Classify an exception raised while sending, updating or deleting an activity."""
    if isinstance(error, ServiceUrlNotAllowed):
        return Failure(Verdict.REFUSE, error.code, error.message)
    if isinstance(error, TokenAcquisitionError):
        return Failure(
            Verdict.RETRY if error.transient else Verdict.FAIL,
            "TokenAcquisitionFailed",
            f"the bot's token could not be obtained ({error.code})",
        )
    if isinstance(error, LocalThrottleError):
        return Failure(
            Verdict.RETRY,
            error.code,
            error.message,
            error.status,
            retry_after=error.retry_after,
            held_back=True,
        )
    if isinstance(error, ConnectorError):
        return _classify_connector(error)
    return Failure(
        Verdict.FAIL,
        "InternalError",
        f"the send failed unexpectedly ({type(error).__name__})",
        maybe_sent=True,
    )


def _classify_connector(error: ConnectorError) -> Failure:
    status = error.status
    message = error.message
    if error.is_conversation_gone:
        return Failure(Verdict.GONE, error.code, message, status, inactive_reason=error.code)
    if status is None:
        if error.code == "ConnectionError" and _never_connected(error):
            return Failure(Verdict.RETRY, error.code, message)
        if error.is_transient:
            # A timeout or a connection lost mid-request: the Connector may have the activity.
            return Failure(Verdict.RETRY, error.code, message, maybe_sent=True)
        # InvalidId is refused locally; InvalidResponse means the request was accepted.
        return Failure(Verdict.FAIL, error.code, message, maybe_sent=error.code != "InvalidId")
    if status in RETRYABLE_UNSENT_STATUSES:
        return Failure(Verdict.RETRY, error.code, message, status, retry_after=error.retry_after)
    if status in RETRYABLE_AMBIGUOUS_STATUSES:
        return Failure(
            Verdict.RETRY,
            error.code,
            message,
            status,
            maybe_sent=True,
            retry_after=error.retry_after,
        )
    if 200 <= status < 300:
        # An accepted request whose answer could not be read.
        return Failure(Verdict.FAIL, error.code, message, status, maybe_sent=True)
    return Failure(Verdict.FAIL, error.code, message, status, maybe_sent=status >= 500)


def _never_connected(error: ConnectorError) -> bool:
    """True when the connection was never established (refused, DNS, TLS handshake).

    The Connector client reports every connection problem as ``ConnectionError`` and keeps the
    aiohttp exception only as the implicit context; a refused connection is the one case where
    the request certainly did not leave.
    """
    import aiohttp

    return isinstance(error.__context__, aiohttp.ClientConnectorError)
