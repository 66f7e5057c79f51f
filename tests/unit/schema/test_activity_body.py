"""Every way an /api/messages body can be wrong, and the status it gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.schema import MAX_ACTIVITY_BODY_BYTES, Activity, ActivityBodyError, parse_activity_body

JSON = "application/json; charset=utf-8"


def _valid() -> dict[str, Any]:
    return {
        "type": "message",
        "id": "1",
        "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "conversation": {"id": "a:conv"},
        "from": {"id": "29:user"},
        "recipient": {"id": "28:bot"},
        "text": "a secret the user typed",
    }


def _body(document: Any) -> bytes:
    return json.dumps(document).encode()


def _error(body: bytes, content_type: str | None = JSON) -> ActivityBodyError:
    with pytest.raises(ActivityBodyError) as caught:
        parse_activity_body(body, content_type)
    return caught.value


class TestAccepted:
    def test_a_valid_activity_is_parsed(self) -> None:
        activity = parse_activity_body(_body(_valid()), JSON)
        assert isinstance(activity, Activity)
        assert activity.to_wire() == _valid()

    @pytest.mark.parametrize(
        "content_type",
        [
            "application/json",
            "Application/JSON",
            "application/json;charset=UTF-8",
            'application/json; charset="utf-8"',
            "application/activity+json",
        ],
    )
    def test_json_content_types_are_accepted(self, content_type: str) -> None:
        assert parse_activity_body(_body(_valid()), content_type).type == "message"

    def test_a_utf8_byte_order_mark_is_tolerated(self) -> None:
        assert parse_activity_body(b"\xef\xbb\xbf" + _body(_valid()), JSON).id == "1"

    def test_a_body_of_exactly_the_limit_is_accepted(self) -> None:
        document = _valid()
        document["text"] = ""
        padding = MAX_ACTIVITY_BODY_BYTES - len(_body(document))
        document["text"] = "x" * padding
        body = _body(document)
        assert len(body) == MAX_ACTIVITY_BODY_BYTES
        assert parse_activity_body(body, JSON).text == "x" * padding


class TestTooLarge:
    def test_over_256_kb_is_413(self) -> None:
        document = _valid()
        document["text"] = "x" * MAX_ACTIVITY_BODY_BYTES
        error = _error(_body(document))
        assert (error.status, error.code) == (413, "PayloadTooLarge")

    def test_size_is_checked_before_anything_else(self) -> None:
        # Not JSON and the wrong content type: the size alone decides.
        error = _error(b"\xff" * (MAX_ACTIVITY_BODY_BYTES + 1), "text/plain")
        assert error.status == 413

    def test_ten_megabytes_is_413(self) -> None:
        assert _error(b"{" * (10 * 1024 * 1024)).status == 413


class TestContentType:
    @pytest.mark.parametrize(
        "content_type",
        [
            None,
            "",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "application/json; charset=iso-8859-1",
            "text/json",
        ],
    )
    def test_not_json_is_415(self, content_type: str | None) -> None:
        error = _error(_body(_valid()), content_type)
        assert (error.status, error.code) == (415, "UnsupportedMediaType")


class TestNotJson:
    @pytest.mark.parametrize(
        "body",
        [
            b"",
            b"   ",
            b'{"type": "message"',
            b"{'type': 'message'}",
            b"not json",
            b'{"type": "message",}',
            b"\xff\xfe{}",
            b'{"type": NaN}',
            b"[" * 100_000,
        ],
        ids=[
            "empty",
            "blank",
            "truncated",
            "single-quotes",
            "text",
            "trailing-comma",
            "not-utf8",
            "nan",
            "deeply-nested",
        ],
    )
    def test_invalid_json_is_400(self, body: bytes) -> None:
        error = _error(body)
        assert (error.status, error.code) == (400, "InvalidJson")

    @pytest.mark.parametrize(
        ("document", "kind"),
        [
            ([_valid()], "an array"),
            ("message", "a string"),
            (42, "a number"),
            (None, "null"),
            (True, "a boolean"),
        ],
    )
    def test_json_that_is_not_an_object_is_400(self, document: Any, kind: str) -> None:
        error = _error(_body(document))
        assert (error.status, error.code) == (400, "InvalidJson")
        assert kind in error.message


class TestNotAnActivity:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"type": 5}, "type"),
            ({"conversation": "a:conv"}, "conversation"),
            ({"from": {"id": 7}}, "from.id"),
            ({"membersAdded": [{"id": "ok"}, {"id": ["bad"]}]}, "membersAdded[1].id"),
            ({"entities": "mention"}, "entities"),
        ],
    )
    def test_schema_errors_are_400_naming_the_field(
        self, change: dict[str, Any], field: str
    ) -> None:
        error = _error(_body({**_valid(), **change}))
        assert (error.status, error.code) == (400, "InvalidActivity")
        assert field in error.message

    @pytest.mark.parametrize(
        ("remove", "field"),
        [
            ("type", "type"),
            ("serviceUrl", "serviceUrl"),
            ("channelId", "channelId"),
            ("conversation", "conversation.id"),
        ],
    )
    def test_missing_required_field_is_400(self, remove: str, field: str) -> None:
        document = _valid()
        del document[remove]
        error = _error(_body(document))
        assert (error.status, error.code) == (400, "InvalidActivity")
        assert field in error.message

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"type": ""}, "type"),
            ({"channelId": ""}, "channelId"),
            ({"channelId": "  "}, "channelId"),
            ({"serviceUrl": ""}, "serviceUrl"),
            ({"conversation": {"id": ""}}, "conversation.id"),
            ({"conversation": {}}, "conversation.id"),
            ({"channelId": None}, "channelId"),
        ],
    )
    def test_empty_required_field_is_400(self, change: dict[str, Any], field: str) -> None:
        error = _error(_body({**_valid(), **change}))
        assert (error.status, error.code) == (400, "InvalidActivity")
        assert field in error.message

    def test_every_missing_field_is_named_at_once(self) -> None:
        error = _error(_body({"type": "message"}))
        assert "channelId" in error.message
        assert "serviceUrl" in error.message
        assert "conversation.id" in error.message

    def test_messages_never_echo_values(self) -> None:
        document = {**_valid(), "from": {"id": 12345}, "conversation": "a secret value"}
        error = _error(_body(document))
        assert "secret" not in error.message
        assert "12345" not in error.message

    def test_the_error_is_an_exception_with_the_message(self) -> None:
        error = _error(b"[]")
        assert str(error) == error.message
