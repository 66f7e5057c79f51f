"""ActivityHandler: routing by type, members without the bot, events and invokes by name."""

from __future__ import annotations

from typing import Any

import pytest

from bot.schema import ChannelAccount, InvokeResponse
from bot.turn import (
    ActivityHandler,
    InMemorySender,
    TurnContext,
    handles_event,
    handles_invoke,
)
from tests.unit.turn.builders import BOT_ID, USER_ID, build_activity


class RecordingBot(ActivityHandler):
    """Records which method ran, with what."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def on_message_activity(self, context: TurnContext) -> None:
        self.calls.append(("message", context.activity.text))

    async def on_members_added(self, context: TurnContext, members: list[ChannelAccount]) -> None:
        self.calls.append(("added", [member.id for member in members]))

    async def on_members_removed(self, context: TurnContext, members: list[ChannelAccount]) -> None:
        self.calls.append(("removed", [member.id for member in members]))

    async def on_event(self, context: TurnContext) -> None:
        self.calls.append(("event", context.activity.name))

    @handles_event("timeZoneChanged")
    async def on_time_zone_changed(self, context: TurnContext) -> None:
        self.calls.append(("timeZoneChanged", context.activity.value))

    @handles_invoke("task/fetch")
    async def on_task_fetch(self, context: TurnContext) -> InvokeResponse:
        self.calls.append(("task/fetch", None))
        return InvokeResponse(status=200, body={"task": {"type": "message", "value": "hi"}})

    async def on_installation_update_add(self, context: TurnContext) -> None:
        self.calls.append(("install", context.activity.action))

    async def on_installation_update_remove(self, context: TurnContext) -> None:
        self.calls.append(("uninstall", context.activity.action))

    async def on_end_of_conversation_activity(self, context: TurnContext) -> None:
        self.calls.append(("end", context.activity.code))

    async def on_unrecognized_activity_type(self, context: TurnContext) -> None:
        self.calls.append(("unrecognized", context.activity.type))


async def _run(bot: ActivityHandler, **fields: Any) -> TurnContext:
    context = TurnContext(build_activity(**fields), InMemorySender())
    await bot.on_turn(context)
    return context


class TestRouting:
    async def test_message(self) -> None:
        bot = RecordingBot()
        await _run(bot, text="hi")
        assert bot.calls == [("message", "hi")]

    async def test_members_added_leaves_out_the_bot(self) -> None:
        bot = RecordingBot()
        await _run(
            bot,
            type="conversationUpdate",
            membersAdded=[{"id": BOT_ID}, {"id": USER_ID}, {"id": "29:other"}],
        )
        assert bot.calls == [("added", [USER_ID, "29:other"])]

    async def test_only_the_bot_added_calls_nothing(self) -> None:
        bot = RecordingBot()
        await _run(bot, type="conversationUpdate", membersAdded=[{"id": BOT_ID}])
        assert bot.calls == []

    async def test_members_removed_leaves_out_the_bot(self) -> None:
        bot = RecordingBot()
        await _run(
            bot,
            type="conversationUpdate",
            membersRemoved=[{"id": USER_ID}, {"id": BOT_ID}],
        )
        assert bot.calls == [("removed", [USER_ID])]

    async def test_added_and_removed_in_one_update(self) -> None:
        bot = RecordingBot()
        await _run(
            bot,
            type="conversationUpdate",
            membersAdded=[{"id": "29:new"}],
            membersRemoved=[{"id": "29:gone"}],
        )
        assert bot.calls == [("added", ["29:new"]), ("removed", ["29:gone"])]

    async def test_a_conversation_update_without_members_calls_nothing(self) -> None:
        bot = RecordingBot()
        await _run(bot, type="conversationUpdate", channelData={"eventType": "channelCreated"})
        assert bot.calls == []

    @pytest.mark.parametrize(
        ("action", "expected"),
        [
            ("add", "install"),
            ("add-upgrade", "install"),
            ("remove", "uninstall"),
            ("remove-upgrade", "uninstall"),
        ],
    )
    async def test_installation_update(self, action: str, expected: str) -> None:
        bot = RecordingBot()
        await _run(bot, type="installationUpdate", action=action)
        assert bot.calls == [(expected, action)]

    async def test_installation_update_with_an_unknown_action_calls_nothing(self) -> None:
        bot = RecordingBot()
        await _run(bot, type="installationUpdate", action="sideways")
        assert bot.calls == []

    async def test_end_of_conversation(self) -> None:
        bot = RecordingBot()
        await _run(bot, type="endOfConversation", code="userCancelled")
        assert bot.calls == [("end", "userCancelled")]

    @pytest.mark.parametrize("activity_type", ["typing", "messageReaction", "brandNewType"])
    async def test_other_types_are_unrecognized(self, activity_type: str) -> None:
        bot = RecordingBot()
        await _run(bot, type=activity_type)
        assert bot.calls == [("unrecognized", activity_type)]

    async def test_the_base_class_does_nothing(self) -> None:
        sender = InMemorySender()
        for fields in (
            {},
            {"type": "conversationUpdate", "membersAdded": [{"id": USER_ID}]},
            {"type": "event", "name": "x"},
            {"type": "installationUpdate", "action": "add"},
            {"type": "endOfConversation"},
            {"type": "typing"},
        ):
            context = TurnContext(build_activity(**fields), sender)
            await ActivityHandler().on_turn(context)
        assert sender.sent == []


class TestEvents:
    async def test_event_by_name(self) -> None:
        bot = RecordingBot()
        await _run(bot, type="event", name="timeZoneChanged", value="Europe/Berlin")
        assert bot.calls == [("timeZoneChanged", "Europe/Berlin")]

    async def test_unrouted_event_goes_to_on_event(self) -> None:
        bot = RecordingBot()
        await _run(bot, type="event", name="somethingElse")
        assert bot.calls == [("event", "somethingElse")]

    async def test_event_names_match_exactly(self) -> None:
        bot = RecordingBot()
        await _run(bot, type="event", name="timezonechanged")
        assert bot.calls == [("event", "timezonechanged")]

    async def test_event_without_a_name_goes_to_on_event(self) -> None:
        bot = RecordingBot()
        await _run(bot, type="event")
        assert bot.calls == [("event", None)]

    async def test_a_subclass_inherits_routes_and_can_replace_them(self) -> None:
        class Child(RecordingBot):
            @handles_event("timeZoneChanged")
            async def replaced(self, context: TurnContext) -> None:
                self.calls.append(("child", None))

            @handles_event("extra")
            async def on_extra(self, context: TurnContext) -> None:
                self.calls.append(("extra", None))

        bot = Child()
        await _run(bot, type="event", name="timeZoneChanged")
        await _run(bot, type="event", name="extra")
        assert bot.calls == [("child", None), ("extra", None)]
        # The parent's routes are untouched.
        parent = RecordingBot()
        await _run(parent, type="event", name="extra")
        assert parent.calls == [("event", "extra")]

    async def test_overriding_a_routed_method_keeps_the_route(self) -> None:
        class Child(RecordingBot):
            async def on_time_zone_changed(self, context: TurnContext) -> None:
                self.calls.append(("overridden", None))

        bot = Child()
        await _run(bot, type="event", name="timeZoneChanged")
        assert bot.calls == [("overridden", None)]

    def test_two_methods_for_one_name_is_an_error(self) -> None:
        with pytest.raises(TypeError, match="both"):

            class Broken(ActivityHandler):
                @handles_event("x")
                async def first(self, context: TurnContext) -> None: ...

                @handles_event("x")
                async def second(self, context: TurnContext) -> None: ...


class TestInvokes:
    async def test_invoke_by_name_sets_the_invoke_response(self) -> None:
        bot = RecordingBot()
        context = await _run(bot, type="invoke", name="task/fetch")
        assert bot.calls == [("task/fetch", None)]
        assert context.invoke_response == InvokeResponse(
            status=200, body={"task": {"type": "message", "value": "hi"}}
        )

    async def test_unhandled_invoke_sets_no_response(self) -> None:
        context = await _run(RecordingBot(), type="invoke", name="unknown/thing")
        assert context.invoke_response is None

    async def test_adaptive_card_action_goes_to_its_method(self) -> None:
        class CardBot(ActivityHandler):
            async def on_adaptive_card_action(self, context: TurnContext) -> InvokeResponse:
                verb = context.activity.value["action"]["verb"]
                return InvokeResponse(status=200, body={"statusCode": 200, "value": verb})

        context = await _run(
            CardBot(),
            type="invoke",
            name="adaptiveCard/action",
            value={"action": {"type": "Action.Execute", "verb": "approve"}},
        )
        assert context.invoke_response == InvokeResponse(
            status=200, body={"statusCode": 200, "value": "approve"}
        )

    async def test_adaptive_card_action_is_unhandled_by_default(self) -> None:
        context = await _run(ActivityHandler(), type="invoke", name="adaptiveCard/action")
        assert context.invoke_response is None

    async def test_a_response_already_sent_as_an_activity_wins(self) -> None:
        from bot.schema import Activity

        class EarlyBot(ActivityHandler):
            @handles_invoke("x")
            async def on_x(self, context: TurnContext) -> InvokeResponse:
                await context.send_activity(
                    Activity(type="invokeResponse", value=InvokeResponse(status=202))
                )
                return InvokeResponse(status=200)

        context = await _run(EarlyBot(), type="invoke", name="x")
        assert context.invoke_response == InvokeResponse(status=202)
