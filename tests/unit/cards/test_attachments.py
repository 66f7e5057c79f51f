"""An activity's cards: a template by id or inline is expanded, every card is validated."""

from __future__ import annotations

from typing import Any

import pytest

from bot.cards import ADAPTIVE_CARD_CONTENT_TYPE
from bot.cards.attachments import CardError, prepare_activity
from bot.proactive.message import InvalidMessageError, parse_message
from bot.schema import Activity

pytestmark = pytest.mark.usefixtures("configured")


def activity(**attachment: Any) -> Activity:
    return Activity.from_wire(
        {
            "type": "message",
            "attachments": [{"contentType": ADAPTIVE_CARD_CONTENT_TYPE, **attachment}],
        }
    )


def test_a_template_by_id_is_expanded_and_the_template_fields_dropped() -> None:
    data = {"incidentId": "INC-1", "title": "Disk full", "severity": "high"}
    prepared = prepare_activity(activity(templateId="incident-alert", data=data))

    [attachment] = prepared.to_wire()["attachments"]
    assert set(attachment) == {"contentType", "content"}
    card = attachment["content"]
    assert card["body"][0]["text"] == "Disk full"
    assert [action["verb"] for action in card["actions"]] == ["acknowledge"]
    assert card["actions"][0]["data"]["incidentId"] == "INC-1"


def test_an_inline_template_is_expanded() -> None:
    template = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [{"type": "TextBlock", "text": "Hello ${name}"}],
    }
    prepared = prepare_activity(activity(template=template, data={"name": "Ada"}))
    assert prepared.to_wire()["attachments"][0]["content"]["body"][0]["text"] == "Hello Ada"


@pytest.mark.parametrize(
    ("attachment", "path"),
    [
        ({"templateId": "no-such-card"}, "attachments[0].templateId"),
        ({"templateId": "../secrets"}, "attachments[0].templateId"),
        ({"template": {"a": "${f(x)}"}}, "attachments[0].template.a"),
        (
            {"content": {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "Nope"}]}},
            "attachments[0].content.body[0].type",
        ),
        ({"content": {"type": "AdaptiveCard", "version": "2.0"}}, "attachments[0].content.version"),
        ({"template": {}, "templateId": "incident-alert"}, "attachments[0]"),
    ],
)
def test_problems_name_the_path(attachment: dict[str, Any], path: str) -> None:
    with pytest.raises(CardError) as caught:
        prepare_activity(activity(**attachment))
    assert caught.value.path == path


def test_a_queue_message_with_an_invalid_card_is_invalid_with_the_path() -> None:
    message = {
        "version": 1,
        "id": "card-1",
        "conversation": {"conversationId": "a:1"},
        "activities": [
            {
                "type": "message",
                "attachments": [
                    {
                        "contentType": ADAPTIVE_CARD_CONTENT_TYPE,
                        "content": {"type": "AdaptiveCard", "version": "1.5", "body": [{}]},
                    }
                ],
            }
        ],
    }
    with pytest.raises(InvalidMessageError) as caught:
        parse_message(message)
    assert "attachments[0].content.body[0].type" in str(caught.value)
