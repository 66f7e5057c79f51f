"""Deep copies of wire models (the turn copies activities and references on every send)."""

from __future__ import annotations

import copy

from bot.schema import Activity, ConversationReference

TEAMS_MESSAGE = {
    "type": "message",
    "id": "1",
    "channelId": "msteams",
    "serviceUrl": "https://smba.trafficmanager.net/amer/",
    "from": {"id": "29:1", "name": "Ada", "aadObjectId": "aad-1"},
    "recipient": {"id": "28:bot", "name": "bot"},
    "conversation": {"id": "a:1", "conversationType": "personal", "tenantId": "t"},
    "text": "hi",
    "entities": [{"type": "mention", "mentioned": {"id": "28:bot"}, "text": "<at>bot</at>"}],
    "channelData": {"tenant": {"id": "t"}, "notification": {"alert": True}, "unknown": None},
    "newProtocolField": {"nested": [1, {"deep": None}]},
}


def test_a_deep_copy_is_equal_and_round_trips_unchanged() -> None:
    activity = Activity.from_wire(TEAMS_MESSAGE)

    clone = activity.model_copy(deep=True)

    assert clone == activity
    assert clone.to_wire() == activity.to_wire()
    assert clone.model_fields_set == activity.model_fields_set


def test_a_deep_copy_shares_no_mutable_object() -> None:
    activity = Activity.from_wire(TEAMS_MESSAGE)

    clone = copy.deepcopy(activity)
    assert clone.from_ is not None
    assert activity.from_ is not None
    clone.from_.name = "Grace"
    assert clone.conversation is not None
    clone.conversation.id = "a:2"
    assert clone.entities is not None
    clone.entities[0].type = "changed"
    clone.channel_data["notification"]["alert"] = False
    assert clone.model_extra is not None
    clone.model_extra["newProtocolField"]["nested"][1]["deep"] = "set"

    assert activity.to_wire() == Activity.from_wire(TEAMS_MESSAGE).to_wire()


def test_a_reference_copy_keeps_unknown_fields() -> None:
    reference = ConversationReference.from_wire(
        {
            "user": {"id": "29:1", "aadObjectId": "aad-1"},
            "bot": {"id": "28:bot"},
            "conversation": {"id": "a:1", "tenantId": "t"},
            "channelId": "msteams",
            "serviceUrl": "https://smba.trafficmanager.net/amer/",
            "futureField": {"x": [1, 2]},
        }
    )

    clone = reference.model_copy(deep=True)

    assert clone.to_wire() == reference.to_wire()
    assert clone.model_extra is not None
    assert reference.model_extra is not None
    assert clone.model_extra["futureField"] is not reference.model_extra["futureField"]
