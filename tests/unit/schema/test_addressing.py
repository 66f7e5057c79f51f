"""Conversation references, replies and continuation activities."""

from __future__ import annotations

import uuid

from bot.schema import (
    Activity,
    ActivityEventNames,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
    apply_conversation_reference,
    create_reply,
    get_continuation_activity,
    get_conversation_reference,
    is_continuation_activity,
    remove_recipient_mention,
)
from bot.schema.addressing import new_activity_id
from bot.schema.attachments import Entity

SERVICE_URL = "https://smba.trafficmanager.net/emea/"


def _incoming(**overrides: object) -> Activity:
    fields: dict[str, object] = {
        "type": "message",
        "id": "incoming-1",
        "channelId": "msteams",
        "serviceUrl": SERVICE_URL,
        "from": {"id": "29:user", "name": "Megan", "aadObjectId": "aad-1"},
        "recipient": {"id": "28:bot", "name": "Bot"},
        "conversation": {"id": "a:conv", "tenantId": "tenant-1", "conversationType": "personal"},
        "locale": "en-US",
        "text": "hello",
    }
    fields.update(overrides)
    return Activity.model_validate(fields)


def _reference() -> ConversationReference:
    return ConversationReference(
        activity_id="incoming-1",
        user=ChannelAccount(id="29:user", name="Megan"),
        bot=ChannelAccount(id="28:bot", name="Bot"),
        conversation=ConversationAccount(id="a:conv", tenant_id="tenant-1"),
        channel_id="msteams",
        service_url=SERVICE_URL,
        locale="de-DE",
    )


class TestGetConversationReference:
    def test_user_is_the_sender_and_bot_the_recipient(self) -> None:
        reference = get_conversation_reference(_incoming())
        assert reference.to_wire() == {
            "activityId": "incoming-1",
            "user": {"id": "29:user", "name": "Megan", "aadObjectId": "aad-1"},
            "bot": {"id": "28:bot", "name": "Bot"},
            "conversation": {
                "id": "a:conv",
                "tenantId": "tenant-1",
                "conversationType": "personal",
            },
            "channelId": "msteams",
            "serviceUrl": SERVICE_URL,
            "locale": "en-US",
        }

    def test_reference_shares_no_objects_with_the_activity(self) -> None:
        activity = _incoming()
        reference = get_conversation_reference(activity)
        assert reference.conversation is not None
        reference.conversation.id = "changed"
        assert activity.conversation is not None
        assert activity.conversation.id == "a:conv"

    def test_conversation_update_on_directline_and_webchat_is_not_a_reply_target(self) -> None:
        for channel in ("directline", "webchat"):
            update = _incoming(type="conversationUpdate", channelId=channel)
            assert get_conversation_reference(update).activity_id is None
        teams_update = _incoming(type="conversationUpdate")
        assert get_conversation_reference(teams_update).activity_id == "incoming-1"

    def test_reference_round_trips_through_storage_json(self) -> None:
        reference = get_conversation_reference(_incoming())
        assert ConversationReference.from_wire(reference.to_wire()) == reference


class TestApplyConversationReference:
    def test_outgoing_goes_from_bot_to_user_and_replies(self) -> None:
        activity = apply_conversation_reference(Activity(type="message", text="hi"), _reference())
        assert activity.from_ == ChannelAccount(id="28:bot", name="Bot")
        assert activity.recipient == ChannelAccount(id="29:user", name="Megan")
        assert activity.reply_to_id == "incoming-1"
        assert activity.channel_id == "msteams"
        assert activity.service_url == SERVICE_URL
        assert activity.conversation == ConversationAccount(id="a:conv", tenant_id="tenant-1")
        assert activity.locale == "de-DE"
        assert activity.id is None

    def test_incoming_goes_from_user_to_bot_and_takes_the_id(self) -> None:
        activity = apply_conversation_reference(
            Activity(type="message"), _reference(), is_incoming=True
        )
        assert activity.from_ == ChannelAccount(id="29:user", name="Megan")
        assert activity.recipient == ChannelAccount(id="28:bot", name="Bot")
        assert activity.id == "incoming-1"
        assert activity.reply_to_id is None

    def test_changes_the_activity_in_place_and_returns_it(self) -> None:
        activity = Activity(type="message")
        assert apply_conversation_reference(activity, _reference()) is activity

    def test_an_explicit_locale_is_kept(self) -> None:
        activity = Activity(type="message", locale="fr-FR")
        assert apply_conversation_reference(activity, _reference()).locale == "fr-FR"

    def test_no_reply_to_id_without_an_activity_id(self) -> None:
        reference = _reference()
        reference.activity_id = None
        activity = apply_conversation_reference(Activity(type="message"), reference)
        assert activity.reply_to_id is None


class TestCreateReply:
    def test_reply_swaps_from_and_recipient_and_names_the_incoming_activity(self) -> None:
        reply = create_reply(_incoming(), "pong")
        assert reply.type == ActivityTypes.MESSAGE
        assert reply.text == "pong"
        assert reply.reply_to_id == "incoming-1"
        assert reply.from_ is not None
        assert reply.from_.id == "28:bot"
        assert reply.recipient is not None
        assert reply.recipient.id == "29:user"
        assert reply.conversation is not None
        assert reply.conversation.tenant_id == "tenant-1"
        assert reply.service_url == SERVICE_URL
        assert reply.channel_id == "msteams"
        assert reply.locale == "en-US"

    def test_locale_can_be_chosen(self) -> None:
        assert create_reply(_incoming(), "x", locale="de-DE").locale == "de-DE"

    def test_reply_without_text_has_no_text_on_the_wire(self) -> None:
        assert "text" not in create_reply(_incoming()).to_wire()

    def test_no_reply_to_id_for_a_webchat_conversation_update(self) -> None:
        update = _incoming(type="conversationUpdate", channelId="webchat")
        assert create_reply(update, "welcome").reply_to_id is None


class TestContinuationActivity:
    def test_is_a_continue_conversation_event_from_the_user_to_the_bot(self) -> None:
        reference = _reference()
        activity = get_continuation_activity(reference)
        assert activity.type == ActivityTypes.EVENT
        assert activity.name == ActivityEventNames.CONTINUE_CONVERSATION
        assert activity.from_ == reference.user
        assert activity.recipient == reference.bot
        assert activity.conversation == reference.conversation
        assert activity.channel_id == "msteams"
        assert activity.service_url == SERVICE_URL
        assert activity.locale == "de-DE"
        assert activity.relates_to == reference
        assert is_continuation_activity(activity)

    def test_each_continuation_has_a_fresh_id(self) -> None:
        first = get_continuation_activity(_reference())
        second = get_continuation_activity(_reference())
        assert first.id is not None
        assert second.id is not None
        assert first.id != second.id
        uuid.UUID(first.id)

    def test_ids_are_random_rfc_4122_version_4_uuids(self) -> None:
        ids = {new_activity_id() for _ in range(2000)}
        assert len(ids) == 2000
        for value in ids:
            parsed = uuid.UUID(value)
            assert str(parsed) == value
            assert parsed.version == 4
            assert parsed.variant == uuid.RFC_4122
        # Every variant digit occurs (its two random bits are kept).
        assert {value[19] for value in ids} == set("89ab")

    def test_shares_no_objects_with_the_reference(self) -> None:
        reference = _reference()
        activity = get_continuation_activity(reference)
        assert activity.conversation is not None
        activity.conversation.id = "changed"
        assert reference.conversation is not None
        assert reference.conversation.id == "a:conv"

    def test_ordinary_activities_are_not_continuations(self) -> None:
        assert not is_continuation_activity(_incoming())
        assert not is_continuation_activity(_incoming(type="event", name="other"))


class TestRemoveRecipientMention:
    def test_removes_the_bots_mention_only(self) -> None:
        activity = _incoming(
            text="<at>Bot</at> hi <at>Adele</at>",
            entities=[
                {"type": "mention", "mentioned": {"id": "28:bot"}, "text": "<at>Bot</at>"},
                {"type": "mention", "mentioned": {"id": "29:adele"}, "text": "<at>Adele</at>"},
            ],
        )
        assert remove_recipient_mention(activity) == "hi <at>Adele</at>"

    def test_text_without_mentions_is_trimmed_only(self) -> None:
        assert remove_recipient_mention(_incoming(text="  hello ")) == "hello"

    def test_no_text_gives_none(self) -> None:
        assert remove_recipient_mention(_incoming(text=None)) is None

    def test_malformed_mention_entities_are_ignored(self) -> None:
        activity = _incoming(text="<at>Bot</at> hi")
        activity.entities = [
            Entity(type="mention"),
            Entity.model_validate({"type": "mention", "mentioned": "x"}),
        ]
        assert remove_recipient_mention(activity) == "<at>Bot</at> hi"
