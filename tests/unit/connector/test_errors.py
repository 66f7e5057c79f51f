"""Connector error parsing and classification (Teams status-code table), and path encoding."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.connector.client import path_segment
from bot.connector.errors import ConnectorError, error_code_and_message, parse_retry_after

NOW = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC).timestamp()


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("value", "seconds"),
        [
            ("3", 3.0),
            (" 120 ", 120.0),
            ("0", 0.0),
            ("999999999", 86400.0),
            ("Sun, 22 Nov 2026 09:00:30 GMT", 30.0),
            ("Sun, 22 Nov 2026 08:59:00 GMT", 0.0),
            (None, None),
            ("", None),
            ("-5", None),
            ("1.5", None),
            ("soon", None),
            ("\u00b9", None),
            ("\u0663", None),
            ("Sun, 22 Nov 2026 09:00:30", None),
        ],
    )
    def test_delta_seconds_and_http_dates(self, value: str | None, seconds: float | None) -> None:
        assert parse_retry_after(value, now=NOW) == seconds

    def test_an_http_date_is_relative_to_now(self) -> None:
        later = format_datetime(datetime.fromtimestamp(NOW + 90, UTC), usegmt=True)

        assert parse_retry_after(later, now=NOW) == 90.0

    @given(st.text(max_size=60))
    def test_never_raises_never_negative(self, value: str) -> None:
        seconds = parse_retry_after(value, now=NOW)

        assert seconds is None or 0.0 <= seconds <= 86400.0


class TestErrorBody:
    def test_code_and_message_are_read(self) -> None:
        body = b'{"error":{"code":"ConversationBlockedByUser","message":"User blocked the bot"}}'

        assert error_code_and_message(body) == (
            "ConversationBlockedByUser",
            "User blocked the bot",
        )

    @pytest.mark.parametrize(
        "body",
        [b"", b"not json", b"[]", b'{"error":"x"}', b'{"error":{"code":5}}', b'{"message":"m"}'],
    )
    def test_anything_else_gives_nothing(self, body: bytes) -> None:
        assert error_code_and_message(body)[0] is None

    def test_long_messages_are_bounded(self) -> None:
        body = ('{"error":{"code":"X","message":"' + "m" * 5000 + "\\n" + '"}}').encode()

        _, message = error_code_and_message(body)

        assert message is not None
        assert len(message) <= 300
        assert "\n" not in message


class TestClassification:
    @pytest.mark.parametrize("status", [412, 429, 502, 503, 504, None])
    def test_transient_statuses(self, status: int | None) -> None:
        assert ConnectorError(status, "X", "m").is_transient

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 500, 501, 302])
    def test_permanent_statuses(self, status: int) -> None:
        error = ConnectorError(status, "X", "m")

        assert error.is_permanent
        assert not error.is_transient

    @pytest.mark.parametrize(
        ("status", "code", "gone"),
        [
            (403, "BotNotInConversationRoster", True),
            (403, "ConversationBlockedByUser", True),
            (403, "BotDisabledByAdmin", True),
            (404, "ConversationNotFound", True),
            (404, "ActivityNotFoundInConversation", False),
            (403, "NotEnoughPermissions", False),
            (400, "ConversationNotFound", False),
        ],
    )
    def test_conversation_gone(self, status: int, code: str, gone: bool) -> None:
        assert ConnectorError(status, code, "m").is_conversation_gone is gone

    def test_an_explicit_classification_wins(self) -> None:
        assert not ConnectorError(None, "InvalidId", "m", transient=False).is_transient

    def test_str_names_the_operation_status_and_code(self) -> None:
        error = ConnectorError(429, "Throttled", "slow down", operation="send_to_conversation")

        assert str(error) == "send_to_conversation: 429 Throttled: slow down"
        assert "Throttled" in repr(error)


class TestPathSegment:
    @pytest.mark.parametrize(
        ("value", "encoded"),
        [
            ("a:1x2y3z", "a%3A1x2y3z"),
            ("19:abc@thread.skype;messageid=1", "19%3Aabc%40thread.skype%3Bmessageid%3D1"),
            ("../../v3/conversations/other", "..%2F..%2Fv3%2Fconversations%2Fother"),
            ("a?b#c d", "a%3Fb%23c%20d"),
            ("é", "%C3%A9"),
            ("...", "..."),
        ],
    )
    def test_ids_become_one_segment(self, value: str, encoded: str) -> None:
        assert path_segment(value, "id") == encoded

    @pytest.mark.parametrize("value", ["", ".", ".."])
    def test_empty_and_dot_segments_are_refused(self, value: str) -> None:
        with pytest.raises(ConnectorError) as caught:
            path_segment(value, "conversation id")

        assert caught.value.code == "InvalidId"

    @given(st.text(min_size=1).filter(lambda v: v not in (".", "..")))
    def test_no_id_can_add_a_path_separator(self, value: str) -> None:
        encoded = path_segment(value, "id")

        assert "/" not in encoded
        assert "?" not in encoded
        assert "#" not in encoded
