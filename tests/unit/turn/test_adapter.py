"""BotAdapter: what HTTP answers, expectReplies, errors, proactive turns."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from bot.schema import (
    Activity,
    ActivityEventNames,
    ConversationReference,
    InvokeResponse,
    ResourceResponse,
    get_conversation_reference,
)
from bot.turn import (
    SORRY_MESSAGE,
    ActivityHandler,
    BotAdapter,
    ClaimsIdentity,
    InMemorySender,
    MiddlewareFunction,
    NextStep,
    TurnContext,
    TurnResult,
    handles_invoke,
)
from tests.unit.turn.builders import BOT_ID, USER_ID, ActivityFactory, build_activity

IDENTITY = ClaimsIdentity({"aud": "bot-app", "serviceurl": "x"}, is_authenticated=True)


class EchoHandler(ActivityHandler):
    async def on_message_activity(self, context: TurnContext) -> None:
        await context.send_activity(f"echo {context.activity.text}")
        await context.send_activity("second")

    @handles_invoke("good")
    async def on_good(self, context: TurnContext) -> InvokeResponse:
        return InvokeResponse(status=200, body={"answer": 42})

    @handles_invoke("model-body")
    async def on_model_body(self, context: TurnContext) -> InvokeResponse:
        return InvokeResponse(status=200, body=Activity(type="message", text="card"))

    @handles_invoke("fails")
    async def on_fails(self, context: TurnContext) -> InvokeResponse:
        raise RuntimeError("invoke broke")


async def _failing_logic(context: TurnContext) -> None:
    raise ValueError(f"could not handle {context.activity.text!r}")


class TestAnswers:
    async def test_a_message_is_answered_200_without_body(
        self, adapter: BotAdapter, sender: InMemorySender, make_activity: ActivityFactory
    ) -> None:
        result = await adapter.process_activity(make_activity(), IDENTITY, EchoHandler().on_turn)
        assert result == TurnResult(200, None)
        assert sender.texts == ["echo hello", "second"]

    async def test_the_turn_sees_the_identity(
        self, adapter: BotAdapter, make_activity: ActivityFactory
    ) -> None:
        seen: list[ClaimsIdentity] = []

        async def logic(context: TurnContext) -> None:
            seen.append(context.identity)

        await adapter.process_activity(make_activity(), IDENTITY, logic)
        assert seen == [IDENTITY]

    async def test_invoke_answers_the_handlers_response(
        self, adapter: BotAdapter, make_activity: ActivityFactory
    ) -> None:
        activity = make_activity(type="invoke", name="good")
        result = await adapter.process_activity(activity, IDENTITY, EchoHandler().on_turn)
        assert result == TurnResult(200, {"answer": 42})

    async def test_an_invoke_body_model_is_serialized_with_wire_names(
        self, adapter: BotAdapter, make_activity: ActivityFactory
    ) -> None:
        activity = make_activity(type="invoke", name="model-body")
        result = await adapter.process_activity(activity, IDENTITY, EchoHandler().on_turn)
        assert result == TurnResult(200, {"type": "message", "text": "card"})

    async def test_unhandled_invoke_is_501(
        self, adapter: BotAdapter, make_activity: ActivityFactory
    ) -> None:
        activity = make_activity(type="invoke", name="nobody/handles")
        result = await adapter.process_activity(activity, IDENTITY, EchoHandler().on_turn)
        assert result == TurnResult(501, None)

    async def test_failed_invoke_is_500_without_apology(
        self, adapter: BotAdapter, sender: InMemorySender, make_activity: ActivityFactory
    ) -> None:
        activity = make_activity(type="invoke", name="fails")
        result = await adapter.process_activity(activity, IDENTITY, EchoHandler().on_turn)
        assert result.status == 500
        assert result.body == {
            "error": {"code": "TurnFailed", "message": "The bot failed to handle the invoke."}
        }
        assert sender.sent == []


class TestExpectReplies:
    async def test_replies_come_back_in_the_answer_and_nothing_is_sent(
        self, adapter: BotAdapter, sender: InMemorySender, make_activity: ActivityFactory
    ) -> None:
        activity = make_activity(deliveryMode="expectReplies", text="hi")
        result = await adapter.process_activity(activity, IDENTITY, EchoHandler().on_turn)
        assert sender.sent == []
        assert result.status == 200
        assert isinstance(result.body, dict)
        replies = result.body["activities"]
        assert [reply["text"] for reply in replies] == ["echo hi", "second"]
        first = replies[0]
        assert first["type"] == "message"
        assert first["replyToId"] == "incoming-1"
        assert first["from"]["id"] == BOT_ID
        assert first["recipient"]["id"] == USER_ID
        assert first["conversation"]["id"] == "a:conv"

    async def test_no_replies_is_an_empty_list(
        self, adapter: BotAdapter, make_activity: ActivityFactory
    ) -> None:
        activity = make_activity(deliveryMode="expectReplies", type="typing")
        result = await adapter.process_activity(activity, IDENTITY, ActivityHandler().on_turn)
        assert result == TurnResult(200, {"activities": []})

    async def test_the_apology_of_a_failed_turn_is_buffered_too(
        self, adapter: BotAdapter, sender: InMemorySender, make_activity: ActivityFactory
    ) -> None:
        activity = make_activity(deliveryMode="expectReplies")
        result = await adapter.process_activity(activity, IDENTITY, _failing_logic)
        assert sender.sent == []
        assert [reply["text"] for reply in result.body["activities"]] == [SORRY_MESSAGE]

    async def test_an_invoke_that_expects_replies_gets_the_replies(
        self, adapter: BotAdapter, sender: InMemorySender, make_activity: ActivityFactory
    ) -> None:
        async def logic(context: TurnContext) -> None:
            await context.send_activity("buffered")
            context.invoke_response = InvokeResponse(status=200, body={"ignored": True})

        activity = make_activity(type="invoke", name="x", deliveryMode="expectReplies")
        result = await adapter.process_activity(activity, IDENTITY, logic)
        assert result.status == 200
        assert [reply["text"] for reply in result.body["activities"]] == ["buffered"]
        assert sender.sent == []


class TestTurnErrors:
    async def test_the_user_gets_an_apology_and_the_request_is_answered(
        self, adapter: BotAdapter, sender: InMemorySender, make_activity: ActivityFactory
    ) -> None:
        result = await adapter.process_activity(make_activity(), IDENTITY, _failing_logic)
        assert result == TurnResult(200, None)
        assert sender.texts == [SORRY_MESSAGE]
        assert sender.activities[0].reply_to_id == "incoming-1"

    async def test_the_log_names_the_error_but_not_the_message_text(
        self,
        adapter: BotAdapter,
        make_activity: ActivityFactory,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        activity = make_activity(text="my password is hunter2")
        with caplog.at_level(logging.ERROR, logger="bot.turn.adapter"):
            await adapter.process_activity(activity, IDENTITY, _failing_logic)
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert "ValueError" in logged
        assert "_failing_logic" in logged  # the stack is there
        assert "hunter2" not in logged
        assert all(record.exc_info is None for record in caplog.records)

    async def test_a_custom_error_handler_replaces_the_apology(
        self, sender: InMemorySender, make_activity: ActivityFactory
    ) -> None:
        errors: list[Exception] = []

        async def on_error(context: TurnContext, error: Exception) -> None:
            errors.append(error)
            await context.send_activity("custom")

        adapter = BotAdapter(sender, on_turn_error=on_error)
        await adapter.process_activity(make_activity(), IDENTITY, _failing_logic)
        assert [type(error) for error in errors] == [ValueError]
        assert sender.texts == ["custom"]

    async def test_no_error_handler_only_logs(
        self, sender: InMemorySender, make_activity: ActivityFactory
    ) -> None:
        adapter = BotAdapter(sender, on_turn_error=None)
        result = await adapter.process_activity(make_activity(), IDENTITY, _failing_logic)
        assert result == TurnResult(200, None)
        assert sender.sent == []

    async def test_a_failing_apology_still_answers(
        self, make_activity: ActivityFactory, caplog: pytest.LogCaptureFixture
    ) -> None:
        class DownSender(InMemorySender):
            async def send_activities(
                self, reference: ConversationReference, activities: Sequence[Activity]
            ) -> list[ResourceResponse]:
                raise ConnectionError("connector down")

        adapter = BotAdapter(DownSender())
        with caplog.at_level(logging.ERROR, logger="bot.turn.adapter"):
            result = await adapter.process_activity(make_activity(), IDENTITY, _failing_logic)
        assert result == TurnResult(200, None)
        assert "ConnectionError" in caplog.text

    async def test_an_error_in_middleware_is_handled_like_one_in_the_bot(
        self, sender: InMemorySender, make_activity: ActivityFactory
    ) -> None:
        async def broken(context: TurnContext, next_step: NextStep) -> None:
            raise KeyError("state")

        adapter = BotAdapter(sender, middleware=[broken])
        result = await adapter.process_activity(make_activity(), IDENTITY, EchoHandler().on_turn)
        assert result == TurnResult(200, None)
        assert sender.texts == [SORRY_MESSAGE]


class TestMiddlewareInTheAdapter:
    async def test_middleware_runs_around_the_bot_in_order(
        self, sender: InMemorySender, make_activity: ActivityFactory
    ) -> None:
        log: list[str] = []

        def recorder(name: str) -> MiddlewareFunction:
            async def middleware(context: TurnContext, next_step: NextStep) -> None:
                log.append(f"{name}:before")
                await next_step()
                log.append(f"{name}:after")

            return middleware

        async def logic(context: TurnContext) -> None:
            log.append("bot")

        adapter = BotAdapter(sender, middleware=[recorder("a")]).use(recorder("b"))
        await adapter.process_activity(make_activity(), IDENTITY, logic)
        assert log == ["a:before", "b:before", "bot", "b:after", "a:after"]

    async def test_short_circuiting_middleware_skips_the_bot(
        self, sender: InMemorySender, make_activity: ActivityFactory
    ) -> None:
        async def drop(context: TurnContext, next_step: NextStep) -> None:
            return None

        adapter = BotAdapter(sender, middleware=[drop])
        result = await adapter.process_activity(make_activity(), IDENTITY, EchoHandler().on_turn)
        assert result == TurnResult(200, None)
        assert sender.sent == []


class ProactiveBot(ActivityHandler):
    def __init__(self) -> None:
        self.events: list[str | None] = []

    async def on_event(self, context: TurnContext) -> None:
        self.events.append(context.activity.name)
        await context.send_activity("Your report is ready")


class TestContinueConversation:
    async def test_runs_middleware_and_the_handler_with_a_continuation_activity(
        self, sender: InMemorySender
    ) -> None:
        reference = get_conversation_reference(build_activity())
        log: list[str] = []

        async def middleware(context: TurnContext, next_step: NextStep) -> None:
            log.append(f"middleware:{context.activity.type}")
            await next_step()

        bot = ProactiveBot()
        adapter = BotAdapter(sender, middleware=[middleware])
        await adapter.continue_conversation(reference, ClaimsIdentity.for_bot("app"), bot.on_turn)

        assert log == ["middleware:event"]
        assert bot.events == [ActivityEventNames.CONTINUE_CONVERSATION]
        [sent] = sender.sent
        assert sent.activity.text == "Your report is ready"
        assert sent.activity.reply_to_id is None
        assert sent.activity.recipient is not None
        assert sent.activity.recipient.id == USER_ID
        assert sent.activity.from_ is not None
        assert sent.activity.from_.id == BOT_ID
        assert sent.reference.service_url == reference.service_url
        assert sent.reference.conversation == reference.conversation

    async def test_the_turn_carries_the_given_identity(self, sender: InMemorySender) -> None:
        reference = get_conversation_reference(build_activity())
        seen: list[ClaimsIdentity] = []

        async def logic(context: TurnContext) -> None:
            seen.append(context.identity)

        identity = ClaimsIdentity.for_bot("app")
        await BotAdapter(sender).continue_conversation(reference, identity, logic)
        assert seen == [identity]

    async def test_a_custom_continuation_activity(self, sender: InMemorySender) -> None:
        reference = get_conversation_reference(build_activity())
        seen: list[str | None] = []

        async def logic(context: TurnContext) -> None:
            seen.append(context.activity.name)

        custom = Activity(type="event", name="scheduleFired", conversation=reference.conversation)
        await BotAdapter(sender).continue_conversation(
            reference, ClaimsIdentity.for_bot("app"), logic, continuation_activity=custom
        )
        assert seen == ["scheduleFired"]

    async def test_failures_propagate_and_nothing_is_sent(self, sender: InMemorySender) -> None:
        reference = get_conversation_reference(build_activity())
        with pytest.raises(ValueError, match="could not handle"):
            await BotAdapter(sender).continue_conversation(
                reference, ClaimsIdentity.for_bot("app"), _failing_logic
            )
        assert sender.sent == []
