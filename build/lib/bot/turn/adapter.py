"""The adapter: runs a turn through middleware and the bot, and says what HTTP answers.

HTTP answers (:class:`TurnResult`), following the Bot Framework SDKs:

* ``invoke``: the invoke response the bot set (status and body); 501 with no body when the
  bot set none (botbuilder's answer to an unhandled invoke); 500 when the turn failed.
* ``deliveryMode: expectReplies``: 200 with ``{"activities": [...]}``, the replies the bot
  sent, which are buffered for this answer and never go through the sender. This wins over
  the invoke answer when an invoke asks for it, as in botbuilder.
* anything else: 200 with no body. The activity was handled; replies went out on their own
  requests. The Bot Framework docs say "the bot responds to the inbound POST request with a
  200 HTTP status code", and botbuilder-dotnet answers 200 (botbuilder-python answers 201,
  the Agents SDK 202; channels accept any 2xx).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Self

from pydantic_core import to_jsonable_python

from bot.schema import (
    Activity,
    ActivityTypes,
    ConversationReference,
    ExpectedReplies,
    get_continuation_activity,
)
from bot.turn.context import TurnContext
from bot.turn.identity import ClaimsIdentity
from bot.turn.middleware import Middleware, MiddlewareFunction, MiddlewareSet, TurnLogic
from bot.turn.sender import ActivitySender

logger = logging.getLogger(__name__)

ACCEPTED_STATUS = int(HTTPStatus.OK)
"""The answer to an activity that needs no synchronous reply."""
SORRY_MESSAGE = "Sorry, something went wrong."
"""What the user is told when a turn fails."""

TurnErrorHandler = Callable[[TurnContext, Exception], Awaitable[None]]
"""Called with the turn and the exception when the turn fails."""


@dataclass(frozen=True, slots=True)
class TurnResult:
    """What to answer the HTTP request that carried the activity.

    Attributes:
        status: The HTTP status.
        body: A JSON-ready value (dicts, lists, strings, numbers), or ``None`` for no body.
    """

    status: int
    body: Any = None


async def apologize(context: TurnContext, error: Exception) -> None:
    """The default turn error handler: tell the user, unless the activity was an invoke.

    An invoke is answered by its HTTP response (500), not by a message.
    """
    del error
    if context.activity.type == ActivityTypes.INVOKE:
        return
    await context.send_activity(SORRY_MESSAGE)


def _log_failure(what: str, activity: Activity, error: BaseException) -> None:
    # The exception's message can quote user input, so only its type and the stack are
    # logged; type and channel are repr'd so a crafted value cannot forge log lines.
    frames = "".join(traceback.format_tb(error.__traceback__))
    logger.error(
        "%s: %s while handling a %r activity from channel %r\n%s",
        what,
        type(error).__name__,
        activity.type,
        activity.channel_id,
        frames,
    )


class BotAdapter:
    """Runs turns: builds the :class:`TurnContext`, runs middleware, then the bot.

    The adapter holds no per-request state; one per process is enough, and building one is
    cheap.

    Args:
        sender: Where outgoing activities go (the Connector client, or an in-memory sender).
        middleware: Middleware run around every turn, outermost first.
        on_turn_error: Called when a turn raises; :func:`apologize` by default, ``None`` to
            only log.
    """

    def __init__(
        self,
        sender: ActivitySender,
        *,
        middleware: Iterable[Middleware | MiddlewareFunction] = (),
        on_turn_error: TurnErrorHandler | None = apologize,
    ) -> None:
        self.sender = sender
        self.middleware = MiddlewareSet(*middleware)
        self.on_turn_error = on_turn_error

    def use(self, *middleware: Middleware | MiddlewareFunction) -> Self:
        """Add middleware, run inside what was added before. Returns the adapter."""
        self.middleware.use(*middleware)
        return self

    async def process_activity(
        self, activity: Activity, identity: ClaimsIdentity, logic: TurnLogic
    ) -> TurnResult:
        """Handle an incoming activity and say what the HTTP response is.

        An exception in the turn is logged (without message text) and passed to
        :attr:`on_turn_error`; it does not propagate.

        Args:
            activity: The parsed, authenticated activity.
            identity: The claims of the request's token.
            logic: The bot's turn handler, for example ``ActivityHandler().on_turn``.

        Returns:
            The status and body to answer (see the module docstring).
        """
        context = TurnContext(activity, self.sender, identity)
        failed = False
        try:
            await self.middleware.run(context, logic)
        except Exception as error:
            failed = True
            _log_failure("Turn failed", activity, error)
            await self._handle_turn_error(context, error)
        return _result(context, failed)

    async def continue_conversation(
        self,
        reference: ConversationReference,
        identity: ClaimsIdentity,
        logic: TurnLogic,
        *,
        continuation_activity: Activity | None = None,
    ) -> None:
        """Run a proactive turn in a referenced conversation: middleware, then ``logic``.

        The turn's activity is the reference's continuation activity (an ``event`` named
        ``ContinueConversation``); what ``logic`` sends is posted to the conversation without
        ``replyToId``. Unlike :meth:`process_activity`, a failure propagates to the caller,
        which decides whether to retry, and no apology is sent.

        Args:
            reference: The conversation to continue.
            identity: The bot's claims for the turn (see :meth:`ClaimsIdentity.for_bot`).
            logic: What to do in the turn, for example send the queued activities.
            continuation_activity: A custom activity to start the turn with.
        """
        activity = continuation_activity or get_continuation_activity(reference)
        context = TurnContext(activity, self.sender, identity)
        await self.middleware.run(context, logic)

    async def _handle_turn_error(self, context: TurnContext, error: Exception) -> None:
        if self.on_turn_error is None:
            return
        try:
            await self.on_turn_error(context, error)
        except Exception as handler_error:
            # The apology can fail the same way the turn did (the Connector is down); the
            # HTTP answer must still be given.
            _log_failure("Turn error handler failed", context.activity, handler_error)


def _result(context: TurnContext, failed: bool) -> TurnResult:
    if context.expects_replies:
        replies = ExpectedReplies(activities=context.buffered_replies)
        return TurnResult(int(HTTPStatus.OK), replies.to_wire())
    if context.activity.type == ActivityTypes.INVOKE:
        response = context.invoke_response
        if response is not None:
            body = to_jsonable_python(response.body, by_alias=True, exclude_none=True)
            return TurnResult(response.status, body)
        if failed:
            return TurnResult(
                int(HTTPStatus.INTERNAL_SERVER_ERROR),
                {
                    "error": {
                        "code": "TurnFailed",
                        "message": "The bot failed to handle the invoke.",
                    }
                },
            )
        return TurnResult(int(HTTPStatus.NOT_IMPLEMENTED))
    return TurnResult(ACCEPTED_STATUS)
