"""The local channel's view of a card message: which card shows, whose view refreshes."""

from __future__ import annotations

from typing import Any

from dev.channel.card_views import answered_card, refresh_invoke_value, shown_card
from dev.channel.recorder import RecordedRequest

ADAPTIVE = "application/vnd.microsoft.card.adaptive"


def record(
    sequence: int, operation: str, activity_id: str, card: Any, status: int = 200
) -> RecordedRequest:
    activity = (
        {"type": "message", "attachments": [{"contentType": ADAPTIVE, "content": card}]}
        if card is not None
        else None
    )
    return RecordedRequest(
        sequence=sequence,
        method="PUT",
        path="/",
        operation=operation,
        conversation_id="c",
        activity_id=activity_id,
        reply_to_id=None,
        activity=activity,
        has_authorization=True,
        authorization_scheme="Bearer",
        authorized=True,
        status=status,
        error_code=None,
    )


def test_the_latest_accepted_update_shows_and_a_delete_removes_it() -> None:
    records = [
        record(1, "sendToConversation", "a1", {"v": 1}),
        record(2, "sendToConversation", "a2", {"other": True}),
        record(3, "updateActivity", "a1", {"v": 2}),
        record(4, "updateActivity", "a1", {"v": 3}, status=404),
    ]

    assert shown_card(records, "a1") == {"v": 2}
    assert shown_card([*records, record(5, "deleteActivity", "a1", None)], "a1") is None
    assert shown_card(records, "never") is None


def test_only_a_listed_user_refreshes() -> None:
    action = {"type": "Action.Execute", "verb": "mine", "data": {"x": 1}}
    card = {"refresh": {"action": action, "userIds": ["29:ada"]}}

    assert refresh_invoke_value(card, "29:ada") == {"action": action, "trigger": "automatic"}
    assert refresh_invoke_value(card, "29:grace") is None
    assert refresh_invoke_value({"refresh": {"action": action}}, "29:ada") is None
    submit = {"refresh": {"action": {"type": "Action.Submit"}, "userIds": ["29:ada"]}}
    assert refresh_invoke_value(submit, "29:ada") is None


def test_only_a_card_answer_is_a_card() -> None:
    card = {"type": "AdaptiveCard"}

    assert answered_card({"statusCode": 200, "type": ADAPTIVE, "value": card}) == card
    assert answered_card({"statusCode": 400, "type": ADAPTIVE, "value": card}) is None
    assert (
        answered_card({"statusCode": 200, "type": "application/vnd.microsoft.activity.message"})
        is None
    )
    assert answered_card(None) is None
