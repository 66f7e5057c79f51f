"""Why a proactive send is refused before anything is sent, as typed errors.

Each carries the HTTP status the API answers with and a stable code, so the HTTP layer maps
them without knowing them one by one; the queue sender turns them into a poison message and a
``Refused`` receipt. Messages are safe to return and to log: they name what is wrong, never
message text, and never a user id.
"""

from __future__ import annotations

from collections.abc import Sequence


class ProactiveError(Exception):
    """A send that cannot be made as asked.

    Attributes:
        status: The HTTP status the API answers with (4xx).
        code: A stable machine-readable code.
        message: What is wrong and how to fix it.
    """

    status = 400
    code = "BadRequest"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidTargetError(ProactiveError):
    """The target cannot name a conversation (a reference without serviceUrl, no tenant for a
    Teams conversation to create, ...)."""

    code = "InvalidTarget"


class UnknownConversationError(ProactiveError):
    """No stored conversation (or no personal conversation of the user) matches."""

    status = 404
    code = "ConversationNotFound"


class UserNotFoundError(ProactiveError):
    """No user of the tenant has the userPrincipalName (Microsoft Graph answered 404)."""

    status = 404
    code = "UserNotFound"


class AmbiguousConversationError(ProactiveError):
    """A conversation id without a channel (or tenant) matches several stored conversations.

    Attributes:
        channels: The channel ids of the matches (no conversation or tenant ids).
    """

    status = 409
    code = "AmbiguousConversation"

    def __init__(self, channels: Sequence[str]) -> None:
        self.channels = sorted(set(channels))
        named = ", ".join(self.channels)
        super().__init__(
            "the conversationId matches stored conversations of several channels or tenants "
            f"({named}); name the channelId (and tenantId)"
        )


class ConversationInactiveError(ProactiveError):
    """The stored conversation is retired (uninstalled, blocked, bot removed...).

    Attributes:
        reason: Why, an :class:`~bot.references.InactiveReason` value.
    """

    status = 403
    code = "ConversationInactive"

    def __init__(self, reason: str | None) -> None:
        self.reason = reason or "Unknown"
        super().__init__(
            f"the conversation is inactive ({self.reason}); it becomes active again when the "
            "user or the channel next sends the bot an activity"
        )


class ServiceUrlRefusedError(ProactiveError):
    """The serviceUrl is not on ``BOT_ALLOWED_SERVICE_URLS``: no token is requested for it."""

    status = 403
    code = "ServiceUrlNotAllowed"


class ServiceUrlMismatchError(ProactiveError):
    """An explicit reference names another serviceUrl than the one stored from the channel's
    authenticated activities."""

    status = 403
    code = "ServiceUrlMismatch"

    def __init__(self) -> None:
        super().__init__(
            "the reference's serviceUrl differs from the one stored for this conversation; "
            "send to the conversation by its id, or use the stored reference"
        )


class DeliveryNotFoundError(ProactiveError):
    """An edit or recall names a delivery the ledger does not know (or no longer knows)."""

    status = 404
    code = "DeliveryNotFound"


class DeliveryNotEditableError(ProactiveError):
    """An edit or recall cannot apply: the delivery was recalled, sent nothing, or predates
    the address record edits need."""

    status = 409
    code = "DeliveryNotEditable"


class EditMismatchError(ProactiveError):
    """An edit gives a different number of activities than the delivery sent."""

    code = "ActivityCountMismatch"


REFUSAL_STATUS: dict[str, int] = {
    error.code: error.status
    for error in (
        InvalidTargetError,
        UnknownConversationError,
        UserNotFoundError,
        AmbiguousConversationError,
        ConversationInactiveError,
        ServiceUrlRefusedError,
        ServiceUrlMismatchError,
        DeliveryNotFoundError,
        DeliveryNotEditableError,
        EditMismatchError,
    )
}
"""The HTTP status of each refusal code, for receipts read back later."""
