"""The send path's hand-built models give what the validated path gives (bot/schema/wire_model.py).

``construct_valid``, ``assign_fields`` and ``copy_model`` skip pydantic's validation and its
per-attribute ``__setattr__``; the continuation activity, the turn's reference and an outgoing
text message are built with them. Each is compared here with the same model built through
the validated constructor and ``setattr``: the same wire JSON, byte for byte (key order
included), the same fields set, the same unknown fields.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.schema import (
    Activity,
    ActivityEventNames,
    ActivityTypes,
    ChannelAccount,
    ConversationReference,
    ExpectedReplies,
    InvokeResponse,
    WireModel,
    assign_fields,
    construct_valid,
    copy_model,
    get_continuation_activity,
    get_conversation_reference,
    wire_json,
)
from bot.turn import ClaimsIdentity, InMemorySender, TurnContext

STORED_REFERENCE = {
    "activityId": None,
    "user": {"id": "29:user-1", "name": "User 1", "aadObjectId": "aad-1"},
    "bot": {"id": "28:app", "name": "proactive-bot"},
    "conversation": {
        "id": "a:conversation-1",
        "conversationType": "personal",
        "tenantId": "tenant-1",
    },
    "channelId": "msteams",
    "locale": "en-US",
    "serviceUrl": "https://smba.trafficmanager.net/emea/",
    "futureField": {"nested": [1, None]},
}


def _wire_bytes(model: WireModel) -> bytes:
    # What the Connector client posts (bot/connector/client.py, _serialize).
    return model.__pydantic_serializer__.to_json(model, by_alias=True, exclude_none=True)


def _assert_same(built: WireModel, validated: WireModel) -> None:
    assert type(built) is type(validated)
    # Plain strings, as validation makes them (not the enum members the code names them by).
    assert [type(value) for value in built.__dict__.values()] == [
        type(value) for value in validated.__dict__.values()
    ]
    assert _wire_bytes(built) == _wire_bytes(validated)
    assert built.to_wire() == validated.to_wire()
    assert built.model_fields_set == validated.model_fields_set
    assert built.model_extra == validated.model_extra
    assert built == validated


def _reference() -> ConversationReference:
    return ConversationReference.model_validate(copy.deepcopy(STORED_REFERENCE))


def _continuation_the_validated_way(reference: ConversationReference, activity_id: str) -> Activity:
    return Activity(
        type=ActivityTypes.EVENT,
        name=ActivityEventNames.CONTINUE_CONVERSATION,
        id=activity_id,
        channel_id=reference.channel_id,
        service_url=reference.service_url,
        conversation=reference.conversation.model_copy(deep=True)
        if reference.conversation
        else None,
        from_=reference.user.model_copy(deep=True) if reference.user else None,
        recipient=reference.bot.model_copy(deep=True) if reference.bot else None,
        locale=reference.locale,
        relates_to=reference.model_copy(deep=True),
    )


class TestConstructValid:
    def test_gives_the_validated_model(self) -> None:
        user = ChannelAccount(id="29:1", name="Ada")
        built = construct_valid(Activity, type="message", text="hi", from_=user)
        _assert_same(built, Activity(type="message", text="hi", from_=user))

    def test_writes_fields_in_declared_order_whatever_order_they_are_given(self) -> None:
        built = construct_valid(Activity, text="hi", locale="en-US", type="message")
        assert _wire_bytes(built) == b'{"type":"message","locale":"en-US","text":"hi"}'

    def test_refuses_an_unknown_name_or_a_missing_required_field(self) -> None:
        with pytest.raises(TypeError):
            construct_valid(Activity, type="message", textt="hi")
        with pytest.raises(TypeError):
            construct_valid(Activity, text="hi")

    def test_refuses_a_model_whose_default_is_made_per_instance(self) -> None:
        with pytest.raises(TypeError):
            construct_valid(ExpectedReplies)

    def test_each_model_has_its_own_fields_set(self) -> None:
        first = construct_valid(Activity, type="message")
        second = construct_valid(Activity, type="message")
        first.text = "changed"
        assert "text" not in second.model_fields_set
        assert second.text is None


class TestAssignFields:
    def test_is_setattr_for_each_field(self) -> None:
        assigned = Activity(type="message", text="hi")
        by_setattr = Activity(type="message", text="hi")
        values: dict[str, Any] = {"locale": "de-DE", "id": None, "reply_to_id": "1"}
        assign_fields(assigned, values)
        for name, value in values.items():
            setattr(by_setattr, name, value)
        _assert_same(assigned, by_setattr)

    def test_refuses_a_name_that_is_not_a_declared_field(self) -> None:
        activity = Activity(type="message")
        with pytest.raises(TypeError):
            assign_fields(activity, {"from": ChannelAccount(id="1")})  # the alias, not the name
        assert activity.from_ is None
        assert activity.model_extra == {}


class TestCopyModel:
    def test_without_shared_fields_is_a_deep_copy(self) -> None:
        reference = _reference()
        clone = copy_model(reference)
        _assert_same(clone, reference.model_copy(deep=True))
        assert clone.user is not reference.user
        assert clone.model_extra is not None
        clone.model_extra["futureField"]["nested"].append(2)
        assert reference.model_extra == {"futureField": {"nested": [1, None]}}

    def test_shared_fields_take_the_values_given_and_the_rest_is_copied(self) -> None:
        reference = _reference()
        user = ChannelAccount(id="29:other")
        clone = copy_model(reference, user=user)
        assert clone.user is user
        assert clone.bot == reference.bot
        assert clone.bot is not reference.bot
        assert clone.model_extra == reference.model_extra
        assert clone.model_extra is not reference.model_extra
        assert clone.model_fields_set == reference.model_fields_set

    def test_refuses_a_shared_name_that_is_not_a_declared_field(self) -> None:
        with pytest.raises(TypeError):
            copy_model(_reference(), agent=ChannelAccount(id="1"))


class TestTheSendPathsModels:
    def test_the_continuation_activity_is_the_validated_one(self) -> None:
        reference = _reference()
        built = get_continuation_activity(reference)
        assert built.id is not None
        _assert_same(built, _continuation_the_validated_way(reference, built.id))

    def test_the_continuations_relates_to_shares_only_its_own_account_copies(self) -> None:
        reference = _reference()
        activity = get_continuation_activity(reference)
        relates_to = activity.relates_to
        assert relates_to is not None
        assert relates_to.user is activity.from_
        assert relates_to.bot is activity.recipient
        assert relates_to.conversation is activity.conversation
        assert relates_to.user is not reference.user
        assert relates_to.model_extra is not reference.model_extra
        assert relates_to.model_extra is not None
        relates_to.model_extra["futureField"]["nested"].append(2)
        assert reference.model_extra == {"futureField": {"nested": [1, None]}}

    def test_the_turns_reference_is_the_validated_one(self) -> None:
        activity = get_continuation_activity(_reference())
        built = get_conversation_reference(activity)
        validated = ConversationReference(
            activity_id=activity.id,
            user=activity.from_,
            bot=activity.recipient,
            conversation=activity.conversation,
            channel_id=activity.channel_id,
            service_url=activity.service_url,
            locale=activity.locale,
        )
        _assert_same(built, validated)
        assert built.user is not activity.from_

    async def test_a_text_sent_in_a_proactive_turn_is_the_validated_message(self) -> None:
        reference = _reference()
        sender = InMemorySender()
        context = TurnContext(
            get_continuation_activity(reference), sender, ClaimsIdentity.for_bot("app")
        )
        await context.send_activity("Reminder: your report is due")
        [sent] = sender.sent
        validated = Activity(type=ActivityTypes.MESSAGE, text="Reminder: your report is due")
        # What apply_conversation_reference did attribute by attribute before.
        validated.channel_id = reference.channel_id
        validated.service_url = reference.service_url
        validated.conversation = reference.conversation
        validated.locale = reference.locale
        validated.from_ = reference.bot
        validated.recipient = reference.user
        validated.id = None
        validated.id = sent.id  # the in-memory sender's
        _assert_same(sent.activity, validated)


ACTIVITY_FIXTURES = sorted(
    (Path(__file__).resolve().parents[2] / "fixtures" / "activities").glob("*.json")
)


class TestWireJson:
    @pytest.mark.parametrize("path", ACTIVITY_FIXTURES, ids=lambda path: path.stem)
    def test_writes_what_the_validated_serializer_writes(self, path: Path) -> None:
        activity = Activity.model_validate_json(path.read_bytes())
        assert wire_json(activity) == _wire_bytes(activity)

    def test_keeps_unknown_nulls_and_leaves_out_declared_nones(self) -> None:
        activity = Activity.model_validate(
            {
                "type": "message",
                "text": None,
                "newField": None,
                "from": {"id": "29:1", "name": None, "futureAccountField": None},
                "channelData": {"tenant": None},
                "entities": [{"type": "mention", "mentioned": None}],
            }
        )
        written = wire_json(activity)
        assert written == _wire_bytes(activity)
        assert json.loads(written) == {
            "type": "message",
            "newField": None,
            "from": {"id": "29:1", "futureAccountField": None},
            "channelData": {"tenant": None},
            "entities": [{"type": "mention", "mentioned": None}],
        }

    def test_a_model_with_another_default_uses_the_validated_serializer(self) -> None:
        replies = ExpectedReplies()
        assert wire_json(replies) == b'{"activities":[]}'
        assert wire_json(InvokeResponse(status=200)) == b'{"status":200}'

    def test_the_proactive_message_and_reference(self) -> None:
        reference = _reference()
        continuation = get_continuation_activity(reference)
        assert wire_json(reference) == _wire_bytes(reference)
        assert wire_json(continuation) == _wire_bytes(continuation)
