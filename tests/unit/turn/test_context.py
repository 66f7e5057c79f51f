"""TurnContext: sending, replying, updating, deleting, hooks and per-turn state."""

from __future__ import annotations

import pytest

from bot.schema import (
    Activity,
    ActivityTypes,
    ConversationReference,
    InvokeResponse,
    ResourceResponse,
    get_continuation_activity,
    get_conversation_reference,
)
from bot.turn import (
    ClaimsIdentity,
    InMemorySender,
    SendNext,
    StateKey,
    TurnContext,
    UpdateNext,
)
from tests.unit.turn.builders import BOT_ID, SERVICE_URL, USER_ID, ActivityFactory


@pytest.fixture
def context(make_activity: ActivityFactory, sender: InMemorySender) -> TurnContext:
    return TurnContext(make_activity(), sender, ClaimsIdentity.for_bot("app-1"))


class TestSend:
    async def test_text_is_sent_as_a_reply_addressed_to_the_user(
        self, context: TurnContext, sender: InMemorySender
    ) -> None:
        response = await context.send_activity("hi there")
        assert response == ResourceResponse(id="activity-1")
        [sent] = sender.sent
        assert sent.activity.type == ActivityTypes.MESSAGE
        assert sent.activity.text == "hi there"
        assert sent.activity.reply_to_id == "incoming-1"
        assert sent.activity.from_ is not None
        assert sent.activity.from_.id == BOT_ID
        assert sent.activity.recipient is not None
        assert sent.activity.recipient.id == USER_ID
        assert sent.activity.service_url == SERVICE_URL
        assert sent.activity.channel_id == "msteams"
        assert sent.activity.conversation is not None
        assert sent.activity.conversation.id == "a:conv"
        assert sent.activity.conversation.tenant_id == "tenant-1"
        assert sent.activity.locale == "en-US"
        assert sent.reference.service_url == SERVICE_URL
        assert sent.reference.conversation is not None
        assert sent.reference.conversation.id == "a:conv"

    async def test_several_activities_keep_their_order_and_get_ids(
        self, context: TurnContext, sender: InMemorySender
    ) -> None:
        responses = await context.send_activities(["one", Activity(type="typing"), "three"])
        assert [response.id for response in responses] == ["activity-1", "activity-2", "activity-3"]
        assert [activity.type for activity in sender.activities] == ["message", "typing", "message"]
        assert sender.texts == ["one", None, "three"]

    async def test_the_callers_activity_is_not_changed(
        self, context: TurnContext, sender: InMemorySender
    ) -> None:
        mine = Activity(type="message", text="x", id="stale-id")
        await context.send_activity(mine)
        assert mine.to_wire() == {"type": "message", "text": "x", "id": "stale-id"}
        # The channel assigns ids: a copied id is not sent.
        assert sender.sent[0].activity.id == "activity-1"
        assert sender.updated == []

    async def test_an_explicit_reply_to_id_is_kept(
        self, context: TurnContext, sender: InMemorySender
    ) -> None:
        await context.send_activity(Activity(type="message", text="x", reply_to_id="older"))
        assert sender.sent[0].activity.reply_to_id == "older"

    async def test_unknown_fields_of_outgoing_activities_are_sent(
        self, context: TurnContext, sender: InMemorySender
    ) -> None:
        activity = Activity.model_validate(
            {"type": "message", "channelData": {"notification": {"alert": True}}, "futureField": 1}
        )
        await context.send_activity(activity)
        wire = sender.sent[0].activity.to_wire()
        assert wire["channelData"] == {"notification": {"alert": True}}
        assert wire["futureField"] == 1

    async def test_responded_becomes_true_after_a_send(self, context: TurnContext) -> None:
        assert not context.responded
        await context.send_activity("x")
        assert context.responded

    async def test_nothing_to_send_sends_nothing(
        self, context: TurnContext, sender: InMemorySender
    ) -> None:
        assert await context.send_activities([]) == []
        assert sender.sent == []
        assert not context.responded

    async def test_trace_activities_are_dropped_outside_the_emulator(
        self, context: TurnContext, sender: InMemorySender
    ) -> None:
        responses = await context.send_activities([Activity(type="trace", name="debug"), "x"])
        assert [response.id for response in responses] == [None, "activity-1"]
        assert sender.texts == ["x"]

    async def test_trace_only_does_not_count_as_a_response(self, context: TurnContext) -> None:
        await context.send_activity(Activity(type="trace"))
        assert not context.responded

    async def test_trace_activities_go_to_the_emulator(
        self, make_activity: ActivityFactory, sender: InMemorySender
    ) -> None:
        context = TurnContext(make_activity(channelId="emulator"), sender)
        await context.send_activity(Activity(type="trace", name="debug"))
        assert [activity.type for activity in sender.activities] == ["trace"]

    async def test_an_invoke_response_activity_is_kept_not_sent(
        self, make_activity: ActivityFactory, sender: InMemorySender
    ) -> None:
        context = TurnContext(make_activity(type="invoke", name="x"), sender)
        await context.send_activity(
            Activity(type="invokeResponse", value=InvokeResponse(status=200, body={"a": 1}))
        )
        assert context.invoke_response == InvokeResponse(status=200, body={"a": 1})
        assert sender.sent == []

    async def test_an_invoke_response_activity_may_carry_a_plain_dict(
        self, make_activity: ActivityFactory, sender: InMemorySender
    ) -> None:
        context = TurnContext(make_activity(type="invoke", name="x"), sender)
        await context.send_activity(Activity(type="invokeResponse", value={"status": 202}))
        assert context.invoke_response == InvokeResponse(status=202)

    async def test_a_sender_that_answers_the_wrong_count_is_an_error(
        self, make_activity: ActivityFactory
    ) -> None:
        class ShortSender(InMemorySender):
            async def send_activities(
                self, reference: ConversationReference, activities: object
            ) -> list[ResourceResponse]:
                return []

        context = TurnContext(make_activity(), ShortSender())
        with pytest.raises(RuntimeError, match="0 responses for 1 activities"):
            await context.send_activity("x")


class TestExpectReplies:
    async def test_replies_are_buffered_not_sent(
        self, make_activity: ActivityFactory, sender: InMemorySender
    ) -> None:
        context = TurnContext(make_activity(deliveryMode="expectReplies"), sender)
        assert context.expects_replies
        responses = await context.send_activities(["one", "two"])
        assert sender.sent == []
        assert [response.id for response in responses] == [None, None]
        assert [reply.text for reply in context.buffered_replies] == ["one", "two"]
        assert all(reply.reply_to_id == "incoming-1" for reply in context.buffered_replies)
        assert context.responded


class TestContinuationTurn:
    async def test_proactive_sends_do_not_reply_to_the_made_up_id(
        self, make_activity: ActivityFactory, sender: InMemorySender
    ) -> None:
        reference = get_conversation_reference(make_activity())
        context = TurnContext(get_continuation_activity(reference), sender)
        await context.send_activity("proactive hello")
        [sent] = sender.sent
        assert sent.activity.reply_to_id is None
        assert sent.activity.from_ is not None
        assert sent.activity.from_.id == BOT_ID
        assert sent.activity.recipient is not None
        assert sent.activity.recipient.id == USER_ID
        assert sent.activity.conversation is not None
        assert sent.activity.conversation.id == "a:conv"


class TestSendHooks:
    async def test_hooks_run_in_order_and_can_change_activities(
        self, context: TurnContext, sender: InMemorySender
    ) -> None:
        calls: list[str] = []

        async def first(
            ctx: TurnContext, activities: list[Activity], next_send: SendNext
        ) -> list[ResourceResponse]:
            calls.append("first:before")
            for activity in activities:
                activity.text = f"[{activity.text}]"
            responses = await next_send()
            calls.append("first:after")
            return responses

        async def second(ctx: TurnContext, activities: list[Activity], next_send: SendNext) -> None:
            calls.append("second")
            activities.append(Activity(type="message", text="added by hook"))
            await next_send()

        context.on_send_activities(first).on_send_activities(second)
        responses = await context.send_activity("hi")
        assert calls == ["first:before", "second", "first:after"]
        assert sender.texts == ["[hi]", "added by hook"]
        assert responses.id == "activity-1"

    async def test_hooks_see_addressed_activities(self, context: TurnContext) -> None:
        seen: list[Activity] = []

        async def spy(ctx: TurnContext, activities: list[Activity], next_send: SendNext) -> None:
            seen.extend(activity.model_copy() for activity in activities)
            await next_send()

        context.on_send_activities(spy)
        await context.send_activity("x")
        assert seen[0].reply_to_id == "incoming-1"
        assert seen[0].conversation is not None

    async def test_a_hook_that_does_not_call_next_stops_the_send(
        self, context: TurnContext, sender: InMemorySender
    ) -> None:
        async def block(ctx: TurnContext, activities: list[Activity], next_send: SendNext) -> None:
            return None

        context.on_send_activities(block)
        response = await context.send_activity("x")
        assert response == ResourceResponse()
        assert sender.sent == []
        assert not context.responded

    async def test_a_hook_may_answer_in_place_of_the_sender(
        self, context: TurnContext, sender: InMemorySender
    ) -> None:
        async def fake(
            ctx: TurnContext, activities: list[Activity], next_send: SendNext
        ) -> list[ResourceResponse]:
            return [ResourceResponse(id="from-hook") for _ in activities]

        context.on_send_activities(fake)
        assert (await context.send_activity("x")).id == "from-hook"
        assert sender.sent == []


class TestUpdate:
    async def test_update_replaces_the_sent_activity(
        self, context: TurnContext, sender: InMemorySender
    ) -> None:
        sent = await context.send_activity("draft")
        response = await context.update_activity(Activity(type="message", id=sent.id, text="final"))
        assert response.id == sent.id
        assert sender.texts == ["final"]
        [updated] = sender.updated
        assert updated.id == sent.id
        assert updated.conversation is not None
        assert updated.conversation.id == "a:conv"
        assert updated.service_url == SERVICE_URL
        assert updated.reply_to_id is None

    async def test_update_needs_an_id(self, context: TurnContext) -> None:
        with pytest.raises(ValueError, match=r"activity\.id"):
            await context.update_activity(Activity(type="message", text="x"))

    async def test_update_hooks_can_change_and_stop_updates(
        self, context: TurnContext, sender: InMemorySender
    ) -> None:
        async def stamp(ctx: TurnContext, activity: Activity, next_update: UpdateNext) -> None:
            activity.text = f"{activity.text} (edited)"
            await next_update()

        context.on_update_activity(stamp)
        await context.update_activity(Activity(type="message", id="m1", text="x"))
        assert sender.updated[0].text == "x (edited)"

        async def block(ctx: TurnContext, activity: Activity, next_update: UpdateNext) -> None:
            return None

        context.on_update_activity(block)
        response = await context.update_activity(Activity(type="message", id="m1", text="y"))
        assert response == ResourceResponse()
        assert len(sender.updated) == 1


class TestDelete:
    async def test_delete_by_id(self, context: TurnContext, sender: InMemorySender) -> None:
        sent = await context.send_activity("oops")
        assert sent.id is not None
        await context.delete_activity(sent.id)
        assert sender.deleted == [sent.id]
        assert sender.activities == []

    async def test_delete_by_reference(self, context: TurnContext, sender: InMemorySender) -> None:
        reference = context.reference
        reference.activity_id = "m9"
        await context.delete_activity(reference)
        assert sender.deleted == ["m9"]

    async def test_delete_needs_an_id(self, context: TurnContext) -> None:
        reference = context.reference
        reference.activity_id = None
        with pytest.raises(ValueError, match="id of the activity"):
            await context.delete_activity(reference)
        with pytest.raises(ValueError, match="id of the activity"):
            await context.delete_activity("")

    async def test_delete_hooks_see_the_reference_and_can_stop_the_delete(
        self, context: TurnContext, sender: InMemorySender
    ) -> None:
        seen: list[str | None] = []

        async def block(
            ctx: TurnContext, reference: ConversationReference, next_delete: object
        ) -> None:
            seen.append(reference.activity_id)

        context.on_delete_activity(block)
        await context.delete_activity("m1")
        assert seen == ["m1"]
        assert sender.deleted == []


class TestStateAndIdentity:
    def test_typed_state_keys(self, context: TurnContext) -> None:
        count = StateKey[int]("count")
        other = StateKey[int]("count")
        assert context.state.get(count) is None
        assert context.state.get(count, 0) == 0
        context.state[count] = 3
        assert context.state[count] == 3
        assert count in context.state
        # Keys compare by identity, not by name.
        assert other not in context.state
        with pytest.raises(KeyError):
            context.state[other]
        del context.state[count]
        assert len(context.state) == 0

    def test_identity_and_reference(self, context: TurnContext) -> None:
        assert context.identity.app_id == "app-1"
        assert context.reference.activity_id == "incoming-1"
        # The property hands out copies: changing one does not readdress the turn.
        context.reference.activity_id = "changed"
        assert context.reference.activity_id == "incoming-1"

    def test_identity_defaults_to_anonymous(
        self, make_activity: ActivityFactory, sender: InMemorySender
    ) -> None:
        context = TurnContext(make_activity(), sender)
        assert not context.identity.is_authenticated
        assert context.identity.claims == {}
