"""The playground's conversation feed: entry kinds, the proactive mark, subscriptions, resuming."""

from __future__ import annotations

from typing import Any

import pytest

from dev.channel.events import resume_after
from dev.channel.feed import ConversationFeed
from dev.channel.recorder import ActivityRecorder, RecordedRequest

CONVERSATION = "a:1conversation"
OTHER = "a:1other"


def user_activity(conversation_id: str = CONVERSATION, text: str = "hi") -> dict[str, Any]:
    return {
        "type": "message",
        "id": "1700000000000",
        "text": text,
        "conversation": {"id": conversation_id},
        "from": {"id": "29:1user", "name": "Ada Lovelace"},
    }


def record(
    recorder: ActivityRecorder,
    operation: str = "sendToConversation",
    *,
    conversation_id: str | None = CONVERSATION,
    reply_to_id: str | None = None,
    activity: dict[str, Any] | None = None,
    status: int = 201,
    error_code: str | None = None,
) -> RecordedRequest:
    return recorder.record(
        method="POST",
        path="/v3/conversations/x/activities",
        operation=operation,
        conversation_id=conversation_id,
        activity_id=recorder.next_activity_id(),
        reply_to_id=reply_to_id,
        activity=activity if activity is not None else {"type": "message", "text": "hello"},
        has_authorization=False,
        authorization_scheme=None,
        authorized=True,
        status=status,
        error_code=error_code,
    )


@pytest.fixture
def feed() -> ConversationFeed:
    return ConversationFeed()


@pytest.fixture
def recorder(feed: ConversationFeed) -> ActivityRecorder:
    recorder = ActivityRecorder()
    recorder.add_listener(feed.on_record)
    return recorder


def test_a_reply_during_the_users_turn_is_not_proactive(
    feed: ConversationFeed, recorder: ActivityRecorder
) -> None:
    with feed.user_turn(user_activity()) as said:
        assert feed.in_turn(CONVERSATION)
        record(recorder, "replyToActivity", reply_to_id="1700000000000")
    assert not feed.in_turn(CONVERSATION)

    user, reply = feed.entries(CONVERSATION)
    assert said is user
    assert (user.kind, user.proactive, user.operation) == ("user", False, "userActivity")
    assert (reply.kind, reply.proactive, reply.reply_to_id) == ("bot", False, "1700000000000")


def test_a_send_outside_any_turn_is_proactive(
    feed: ConversationFeed, recorder: ActivityRecorder
) -> None:
    record(recorder)
    (entry,) = feed.entries(CONVERSATION)
    assert entry.kind == "bot"
    assert entry.proactive


def test_a_send_without_reply_to_during_a_turn_is_proactive(
    feed: ConversationFeed, recorder: ActivityRecorder
) -> None:
    # A queued message that lands while the user's own turn is running replies to nothing.
    with feed.user_turn(user_activity()):
        record(recorder)
    assert feed.entries(CONVERSATION)[-1].proactive


def test_a_reply_to_an_old_message_outside_a_turn_is_proactive(
    feed: ConversationFeed, recorder: ActivityRecorder
) -> None:
    record(recorder, activity={"type": "message", "text": "thread", "replyToId": "old"})
    (entry,) = feed.entries(CONVERSATION)
    assert entry.reply_to_id == "old"
    assert entry.proactive


def test_a_turn_of_another_conversation_does_not_count(
    feed: ConversationFeed, recorder: ActivityRecorder
) -> None:
    with feed.user_turn(user_activity(OTHER)):
        record(recorder, "replyToActivity", reply_to_id="1700000000000")
    assert feed.entries(CONVERSATION)[-1].proactive


def test_overlapping_turns_keep_the_conversation_in_flight(feed: ConversationFeed) -> None:
    with feed.user_turn(user_activity()):
        with feed.user_turn(user_activity(text="again")):
            pass
        assert feed.in_turn(CONVERSATION)
    assert not feed.in_turn(CONVERSATION)


@pytest.mark.parametrize(
    ("operation", "status", "activity", "kind"),
    [
        ("updateActivity", 200, {"type": "message", "text": "edited"}, "update"),
        ("deleteActivity", 200, None, "delete"),
        ("sendToConversation", 429, {"type": "message", "text": "x"}, "refused"),
        ("replyToActivity", 403, {"type": "message", "text": "x"}, "refused"),
        ("createConversation", 201, {"type": "message", "text": "first"}, "bot"),
    ],
)
def test_entry_kinds(
    feed: ConversationFeed,
    recorder: ActivityRecorder,
    operation: str,
    status: int,
    activity: dict[str, Any] | None,
    kind: str,
) -> None:
    recorder.record(
        method="POST",
        path="/v3/conversations",
        operation=operation,
        conversation_id=CONVERSATION,
        activity_id="act-9",
        reply_to_id=None,
        activity=activity,
        has_authorization=True,
        authorization_scheme="Bearer",
        authorized=True,
        status=status,
        error_code="Throttled" if status == 429 else None,
    )
    (entry,) = feed.entries(CONVERSATION)
    assert entry.kind == kind
    assert entry.proactive is (kind == "bot")
    assert entry.status == status


@pytest.mark.parametrize(
    ("operation", "conversation_id", "activity", "status"),
    [
        ("getConversationMembers", CONVERSATION, None, 200),
        ("redirectSink", None, None, 200),
        ("unknown", None, None, 404),
        ("createConversation", CONVERSATION, None, 201),
        ("createConversation", None, {"type": "message"}, 400),
        ("deleteActivity", CONVERSATION, None, 404),
    ],
)
def test_what_the_feed_leaves_out(
    feed: ConversationFeed,
    recorder: ActivityRecorder,
    operation: str,
    conversation_id: str | None,
    activity: dict[str, Any] | None,
    status: int,
) -> None:
    recorder.record(
        method="GET",
        path="/v3/conversations",
        operation=operation,
        conversation_id=conversation_id,
        activity_id=None,
        reply_to_id=None,
        activity=activity,
        has_authorization=False,
        authorization_scheme=None,
        authorized=True,
        status=status,
        error_code=None,
    )
    assert feed.entries() == []


def test_activities_without_a_conversation_are_not_added(feed: ConversationFeed) -> None:
    with feed.user_turn({"type": "message", "text": "hi"}) as entry:
        assert entry is None
    assert feed.entries() == []


def test_entries_are_numbered_and_bounded() -> None:
    feed = ConversationFeed(max_entries=3)
    recorder = ActivityRecorder()
    recorder.add_listener(feed.on_record)
    for _ in range(5):
        record(recorder)
    assert [entry.sequence for entry in feed.entries()] == [3, 4, 5]
    assert feed.last_sequence == 5
    assert [entry.sequence for entry in feed.entries(after=4)] == [5]


def test_the_entry_json_is_camel_case(feed: ConversationFeed, recorder: ActivityRecorder) -> None:
    record(recorder, error_code=None)
    body = feed.entries()[0].to_json()
    assert set(body) == {
        "sequence",
        "kind",
        "conversationId",
        "activityId",
        "replyToId",
        "proactive",
        "operation",
        "status",
        "errorCode",
        "activity",
        "receivedAt",
    }
    assert body["activity"] == {"type": "message", "text": "hello"}


async def test_a_subscription_gets_the_backlog_then_live_entries_of_its_conversation(
    feed: ConversationFeed, recorder: ActivityRecorder
) -> None:
    record(recorder)
    record(recorder, conversation_id=OTHER)
    backlog, subscription = feed.subscribe(CONVERSATION)
    assert [entry.conversation_id for entry in backlog] == [CONVERSATION]

    record(recorder, conversation_id=OTHER)
    record(recorder, activity={"type": "message", "text": "live"})
    live = await subscription.next()
    assert live is not None
    assert live.activity == {"type": "message", "text": "live"}

    feed.close()
    assert await subscription.next() is None


async def test_a_closed_subscription_gets_nothing_more(
    feed: ConversationFeed, recorder: ActivityRecorder
) -> None:
    _, subscription = feed.subscribe()
    subscription.close()
    record(recorder)
    _, late = feed.subscribe(after=feed.last_sequence)
    feed.close()
    assert await late.next() is None
    _, after_close = feed.subscribe()
    assert await after_close.next() is None


def test_removed_listeners_are_not_called(feed: ConversationFeed) -> None:
    recorder = ActivityRecorder()
    recorder.add_listener(feed.on_record)
    recorder.remove_listener(feed.on_record)
    recorder.remove_listener(feed.on_record)
    record(recorder)
    assert feed.entries() == []


@pytest.mark.parametrize(
    ("last_event_id", "expected"),
    [
        (None, 0),
        ("", 0),
        ("{instance}:2", 2),
        ("2", 2),
        ("{instance}:9", 0),  # beyond what this feed numbered: another feed's id
        ("other:2", 0),
        ("{instance}:x", 0),
        ("{instance}:-1", 0),
    ],
)
def test_resume_after(
    feed: ConversationFeed, recorder: ActivityRecorder, last_event_id: str | None, expected: int
) -> None:
    for _ in range(3):
        record(recorder)
    value = last_event_id.format(instance=feed.instance) if last_event_id else last_event_id
    assert resume_after(feed, value) == expected
