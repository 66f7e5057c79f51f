"""Hostile JSON at every entry: a 4xx or an invalid message, never an unhandled exception.

Each entry's parsing step gets arbitrary bytes, arbitrary JSON, deep JSON, huge strings, wrong
types, NaN and duplicate keys (hypothesis). What parses must also serialize, since a document
that validated and then failed to serialize was a 500 (HTTP) or a retry loop (queue). The real
entry points get the same inputs end to end in tests/e2e/test_hostile_input.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import azure.functions as func
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from bot.broadcast.fanout import _parse as parse_fanout
from bot.broadcast.request import BroadcastRequest
from bot.http.api_request import RefusedRequest, parse_body
from bot.http.schedules import _json_object as schedule_body
from bot.http.send import SendActivityBody, SendToReferenceBody
from bot.proactive.message import (
    ConversationTarget,
    InvalidMessageError,
    parse_message,
    payload_hash,
)
from bot.proactive.poison import PoisonReason, poison_text
from bot.schedules.service import ScheduleRequestError, validate_fields
from bot.schema import ActivityBodyError, parse_activity_body
from bot.schema.json_document import MAX_JSON_DEPTH, JsonDocumentError, exceeds_depth, parse_json

pytestmark = pytest.mark.usefixtures("configured")

T = TypeVar("T")
E = TypeVar("E", bound=Exception)

ACTIVITY = {"type": "message", "text": "hi"}
REFERENCE = {
    "channelId": "msteams",
    "serviceUrl": "https://smba.trafficmanager.net/teams/",
    "conversation": {"id": "a:1"},
    "bot": {"id": "28:bot"},
}
VALID = {
    "messages": {
        **ACTIVITY,
        "id": "1",
        "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/teams/",
        "from": {"id": "29:u"},
        "conversation": {"id": "a:1"},
        "recipient": {"id": "28:bot"},
    },
    "sendactivity": {"conversationId": "a:1", "channelId": "msteams", "activity": ACTIVITY},
    "sendtoreference": {"conversationReference": REFERENCE, "activities": [ACTIVITY]},
    "broadcasts": {"audience": {"channelId": "msteams"}, "activities": [ACTIVITY]},
    "schedules": {
        "cron": "0 9 * * *",
        "timeZone": "UTC",
        "conversation": {"channelId": "msteams", "conversationId": "a:1"},
        "activities": [ACTIVITY],
    },
    "queue": {
        "version": 1,
        "id": "m-1",
        "conversation": {"channelId": "msteams", "conversationId": "a:1"},
        "activities": [ACTIVITY],
    },
    "fanout": {"version": 1, "operationId": "op-1", "page": 0},
}
"""A valid document per entry, for the mutations to start from."""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)


def _nest(depth: int, container: str) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value] if container == "list" else {"k": value}
    return value


def _replace(document: Any, path: list[int], value: Any) -> Any:
    """``document`` with the member chosen by ``path`` (indexes into keys) set to ``value``."""
    if not path or not isinstance(document, dict) or not document:
        return value
    keys = sorted(document)
    key = keys[path[0] % len(keys)]
    return {**document, key: _replace(document[key], path[1:], value)}


def _insert(document: Any, path: list[int], key: str, value: Any) -> Any:
    """``document`` with ``key: value`` added to the object chosen by ``path``.

    Wire models keep unknown fields, so this is how a deep value gets past validation.
    """
    if not isinstance(document, dict):
        return document
    children = sorted(name for name, child in document.items() if isinstance(child, dict))
    if not path or not children:
        return {**document, key: value}
    child = children[path[0] % len(children)]
    return {**document, child: _insert(document[child], path[1:], key, value)}


@st.composite
def hostile_bodies(draw: st.DrawFn, entry: str) -> bytes:
    """Bytes for ``entry``: garbage, JSON of any shape, or its valid document made hostile."""
    valid = VALID[entry]
    kind = draw(
        st.sampled_from(
            ["bytes", "json", "wrong-type", "deep", "huge", "constant", "duplicate", "valid"]
        )
    )
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    path = draw(st.lists(st.integers(0, 10), min_size=1, max_size=4))
    if kind == "wrong-type":
        return json.dumps(_replace(valid, path, draw(json_values))).encode()
    if kind == "deep":
        # Built as text: Python's own encoder cannot write the deepest of these.
        depth = draw(st.sampled_from([MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH, 300, 900, 20_000]))
        opening, closing = draw(st.sampled_from([("[", "]"), ('{"k":', "}")]))
        deep = opening * depth + '"x"' + closing * depth
        if draw(st.booleans()):
            document = _replace(valid, path, "__DEEP__")
        else:
            document = _insert(valid, path, "channelData", "__DEEP__")
        return json.dumps(document).replace('"__DEEP__"', deep).encode()
    if kind == "huge":
        size = draw(st.sampled_from([70_000, 300_000, 3_000_000]))
        return json.dumps(_replace(valid, path, "x" * size)).encode()
    if kind == "constant":
        constant = draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))
        text = json.dumps(_replace(valid, path, "__CONSTANT__"))
        return text.replace('"__CONSTANT__"', constant).encode()
    if kind == "duplicate":
        text = json.dumps(valid)
        return ('{"type": ' + json.dumps(draw(json_values)) + ", " + text[1:]).encode()
    return json.dumps(valid).encode()


PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _request(body: bytes) -> func.HttpRequest:
    return func.HttpRequest(
        method="POST", url="/api/x", body=body, headers={"Content-Type": "application/json"}
    )


def _within_limits(body: bytes) -> bool:
    try:
        parse_json(body)
    except JsonDocumentError:
        return False
    return True


def _attempt(call: Callable[[], T], refusal: type[E]) -> T | E:
    """The call's result, or the refusal it raised (anything else fails the test)."""
    try:
        return call()
    except refusal as error:
        return error


@PROPERTY
@given(st.binary(max_size=300) | hostile_bodies("sendactivity"))
def test_parse_json_refuses_with_its_own_error_only(body: bytes) -> None:
    document = _attempt(lambda: parse_json(body), JsonDocumentError)
    if isinstance(document, JsonDocumentError):
        assert document.message
    else:
        assert not exceeds_depth(document, MAX_JSON_DEPTH)
        json.dumps(document)


@PROPERTY
@given(hostile_bodies("messages"))
def test_api_messages_body(body: bytes) -> None:
    activity = _attempt(lambda: parse_activity_body(body, "application/json"), ActivityBodyError)
    if isinstance(activity, ActivityBodyError):
        assert 400 <= activity.status < 500
    else:
        assert _within_limits(body)
        activity.to_wire_json()


@PROPERTY
@given(
    st.sampled_from(
        [
            ("sendactivity", SendActivityBody),
            ("sendtoreference", SendToReferenceBody),
            ("broadcasts", BroadcastRequest),
        ]
    ).flatmap(lambda pair: st.tuples(st.just(pair[1]), hostile_bodies(pair[0])))
)
def test_send_and_broadcast_bodies(case: tuple[type[BaseModel], bytes]) -> None:
    model, body = case
    parsed = _attempt(lambda: parse_body(_request(body), model), RefusedRequest)
    if isinstance(parsed, RefusedRequest):
        assert 400 <= parsed.response.status_code < 500
        assert json.loads(parsed.response.get_body())["error"]["code"]
        return
    assert _within_limits(body)
    parsed.model_dump_json(by_alias=True)
    if isinstance(parsed, SendActivityBody):
        target = ConversationTarget(conversation_id=parsed.conversation_id)
        payload_hash(target, parsed.activity_list())


@PROPERTY
@given(hostile_bodies("schedules"))
def test_schedule_bodies(body: bytes) -> None:
    fields = _attempt(lambda: validate_fields(schedule_body(_request(body))), ScheduleRequestError)
    if isinstance(fields, ScheduleRequestError):
        assert 400 <= fields.status < 500
    else:
        assert _within_limits(body)
        fields.to_wire_json()


@PROPERTY
@given(hostile_bodies("queue"))
def test_proactive_queue_messages(body: bytes) -> None:
    message = _attempt(lambda: parse_message(body), InvalidMessageError)
    if isinstance(message, InvalidMessageError):
        # What goes to the poison queue names the reason and is itself within the limits.
        reason = PoisonReason("InvalidMessage", str(message), errors=message.errors)
        text = poison_text(body, reason, queue_name="q", dequeue_count=1, now=datetime.now(UTC))
        poisoned = parse_json(text)
        assert poisoned["reason"]["code"] == "InvalidMessage"
        assert poisoned["reason"]["message"]
    else:
        assert _within_limits(body)
        payload_hash(message.target, message.activity_list)
        message.to_json()


@PROPERTY
@given(hostile_bodies("fanout"))
def test_fanout_messages(body: bytes) -> None:
    parsed = _attempt(lambda: parse_fanout(body), InvalidMessageError)
    if isinstance(parsed, InvalidMessageError):
        assert parsed.errors
    else:
        operation_id, page, edit = parsed
        assert operation_id
        assert page >= 0
        assert edit is None or edit >= 1


@pytest.mark.parametrize("entry", sorted(VALID))
def test_each_valid_document_is_accepted(entry: str) -> None:
    # The mutations start from documents that pass, so a refusal is the mutation's doing.
    body = json.dumps(VALID[entry]).encode()
    if entry == "messages":
        parse_activity_body(body, "application/json")
    elif entry == "schedules":
        validate_fields(schedule_body(_request(body)))
    elif entry == "queue":
        parse_message(body)
    elif entry == "fanout":
        parse_fanout(body)
    else:
        models: dict[str, type[BaseModel]] = {
            "sendactivity": SendActivityBody,
            "sendtoreference": SendToReferenceBody,
            "broadcasts": BroadcastRequest,
        }
        parse_body(_request(body), models[entry])


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 300])
def test_the_depth_limit_is_exact(depth: int) -> None:
    # _nest(n) is n containers around a string: n levels.
    body = json.dumps(_nest(depth, "list")).encode()
    if depth <= MAX_JSON_DEPTH:
        parse_json(body)
    else:
        with pytest.raises(JsonDocumentError, match=f"deeper than {MAX_JSON_DEPTH} levels"):
            parse_json(body)
