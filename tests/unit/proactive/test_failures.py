"""Classification of send failures: the Teams status codes (docs/security-model.md T13)."""

from __future__ import annotations

import aiohttp
import pytest

from bot.auth.errors import ServiceUrlNotAllowed, TokenAcquisitionError
from bot.connector.errors import ConnectorError
from bot.proactive.failures import Verdict, classify


def connector(status: int | None, code: str, **options: object) -> ConnectorError:
    return ConnectorError(status, code, "described", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "verdict", "maybe_sent"),
    [
        (connector(429, "Throttled", retry_after=3.0), Verdict.RETRY, False),
        (connector(412, "PreconditionFailed"), Verdict.RETRY, False),
        (connector(502, "BadGateway"), Verdict.RETRY, True),
        (connector(503, "ServiceUnavailable"), Verdict.RETRY, False),
        (connector(504, "GatewayTimeout"), Verdict.RETRY, True),
        (connector(None, "Timeout"), Verdict.RETRY, True),
        (connector(None, "ConnectionError"), Verdict.RETRY, True),
        (connector(403, "BotNotInConversationRoster"), Verdict.GONE, False),
        (connector(403, "ConversationBlockedByUser"), Verdict.GONE, False),
        (connector(403, "BotDisabledByAdmin"), Verdict.GONE, False),
        (connector(404, "ConversationNotFound"), Verdict.GONE, False),
        (connector(403, "ForbiddenOperationException"), Verdict.FAIL, False),
        (connector(404, "ActivityNotFoundInConversation"), Verdict.FAIL, False),
        (connector(400, "BadArgument"), Verdict.FAIL, False),
        (connector(401, "BotNotRegistered"), Verdict.FAIL, False),
        (connector(413, "MessageSizeTooBig"), Verdict.FAIL, False),
        (connector(302, "UnexpectedRedirect", transient=False), Verdict.FAIL, False),
        (connector(500, "ServiceError"), Verdict.RETRY, True),
        (connector(501, "HttpError"), Verdict.FAIL, True),
        (connector(None, "InvalidId", transient=False), Verdict.FAIL, False),
        (connector(None, "InvalidResponse", transient=False), Verdict.FAIL, True),
        (connector(201, "InvalidResponse", transient=False), Verdict.FAIL, True),
        (ServiceUrlNotAllowed("evil.example", "not allowed"), Verdict.REFUSE, False),
        (TokenAcquisitionError("server_error", "x", transient=True), Verdict.RETRY, False),
        (TokenAcquisitionError("invalid_client", "x", transient=False), Verdict.FAIL, False),
        (RuntimeError("surprise"), Verdict.FAIL, True),
    ],
)
def test_classification(error: BaseException, verdict: Verdict, maybe_sent: bool) -> None:
    failure = classify(error)
    assert (failure.verdict, failure.maybe_sent) == (verdict, maybe_sent)


def test_gone_codes_name_the_inactive_reason() -> None:
    failure = classify(connector(403, "ConversationBlockedByUser"))
    assert failure.inactive_reason == "ConversationBlockedByUser"
    assert classify(connector(403, "NotEnoughPermissions")).inactive_reason is None


def test_retry_after_and_throttling_are_kept() -> None:
    failure = classify(connector(429, "Throttled", retry_after=3.0))
    assert failure.retry_after == 3.0
    assert failure.throttled
    assert failure.error.code == "Throttled"


def test_a_refused_connection_certainly_sent_nothing() -> None:
    def refused() -> ConnectorError:
        try:
            raise aiohttp.ClientConnectorError(
                aiohttp.client_reqrep.ConnectionKey("127.0.0.1", 1, False, True, None, None, None),
                OSError(111, "refused"),
            )
        except aiohttp.ClientError:
            # As the Connector client raises it: the aiohttp error is only the context.
            raise connector(None, "ConnectionError") from None

    try:
        raise refused()
    except ConnectorError as error:
        failure = classify(error)
    assert (failure.verdict, failure.maybe_sent) == (Verdict.RETRY, False)


def test_a_token_failure_names_no_secret() -> None:
    failure = classify(TokenAcquisitionError("invalid_client", "secret=abc", transient=False))
    assert "secret" not in failure.message
    assert failure.code == "TokenAcquisitionFailed"
