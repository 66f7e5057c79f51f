"""Reference documents: what is material, and what a capture or an inactivation decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.references.documents import (
    captured_document,
    filter_claims,
    fingerprint,
    inactive_document,
    is_personal,
    plan_capture,
    plan_inactive,
    plan_user_index,
    reference_wire,
    stored_fingerprint,
    to_record,
    user_index_document,
)
from bot.references.recent import RecentCaptures
from bot.references.records import CaptureOutcome, ReferenceKey
from bot.schema.reference import ConversationReference
from bot.storage.timestamps import to_timestamp

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def wire(**changes: Any) -> dict[str, Any]:
    reference: dict[str, Any] = {
        "activityId": "activity-1",
        "user": {"id": "29:user", "name": "User"},
        "bot": {"id": "28:bot", "name": "Bot"},
        "conversation": {"id": "a:conv", "conversationType": "personal", "tenantId": "t1"},
        "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "locale": "en-US",
    }
    reference.update(changes)
    return reference


def group_wire(**changes: Any) -> dict[str, Any]:
    conversation = {"id": "19:group", "conversationType": "groupChat", "isGroup": True}
    return wire(conversation=conversation, **changes)


def stored(reference: dict[str, Any], claims: dict[str, str], **fields: Any) -> dict[str, Any]:
    key = ReferenceKey("msteams", reference["conversation"]["id"], "t1")
    document = captured_document(
        None,
        key,
        {k: v for k, v in reference.items() if k != "activityId"},
        claims,
        T0,
        86_400,
    )
    document.update(fields)
    document["_etag"] = '"1"'
    return document


pytestmark = pytest.mark.usefixtures("configured")


class TestClaims:
    def test_only_the_persisted_claims_are_kept(self) -> None:
        claims = {
            "aud": "app",
            "azp": "caller",
            "appid": "caller",
            "idtyp": "app",
            "ver": "1.0",
            "iss": "https://api.botframework.com",
            "tid": "tenant",
            "serviceurl": "https://x",
            "nbf": 1,
            "exp": 2,
            "upn": "someone@example.com",
        }

        assert filter_claims(claims) == {
            "aud": "app",
            "azp": "caller",
            "appid": "caller",
            "idtyp": "app",
            "ver": "1.0",
            "iss": "https://api.botframework.com",
            "tid": "tenant",
        }

    def test_non_string_values_and_no_claims_keep_nothing(self) -> None:
        assert filter_claims({"aud": ["a", "b"], "ver": 2}) == {}
        assert filter_claims(None) == {}


class TestMaterialChange:
    def test_the_activity_id_is_not_stored_nor_material(self) -> None:
        reference = ConversationReference.from_wire(wire())

        assert "activityId" not in reference_wire(reference)
        assert fingerprint(wire(), {}) == fingerprint(wire(activityId="other"), {})

    @pytest.mark.parametrize(
        "change",
        [
            {"serviceUrl": "https://smba.trafficmanager.net/amer/"},
            {"bot": {"id": "28:other-bot"}},
            {"conversation": {"id": "a:conv", "conversationType": "personal", "tenantId": "t2"}},
            {"user": {"id": "29:user", "name": "Renamed"}},
            {"locale": "fr-FR"},
            {"unknownField": {"kept": True}},
        ],
    )
    def test_every_other_field_is_material(self, change: dict[str, Any]) -> None:
        assert fingerprint(wire(), {}) != fingerprint(wire(**change), {})

    def test_claims_are_material(self) -> None:
        assert fingerprint(wire(), {"aud": "a"}) != fingerprint(wire(), {"aud": "b"})

    def test_the_speaker_of_a_group_is_not_material(self) -> None:
        assert fingerprint(group_wire(), {}) == fingerprint(
            group_wire(user={"id": "29:someone-else"}), {}
        )

    def test_key_order_does_not_matter(self) -> None:
        assert fingerprint(dict(reversed(wire().items())), {}) == fingerprint(wire(), {})

    def test_a_stored_document_has_the_fingerprint_of_what_it_holds(self) -> None:
        assert stored_fingerprint(stored(wire(), {"aud": "a"})) == fingerprint(wire(), {"aud": "a"})

    @pytest.mark.parametrize(
        ("conversation", "personal"),
        [
            ({"id": "a", "conversationType": "personal"}, True),
            ({"id": "a", "conversationType": "groupChat", "isGroup": True}, False),
            ({"id": "a", "conversationType": "channel"}, False),
            ({"id": "a"}, True),
            ({"id": "a", "isGroup": False}, True),
            ({"id": "a", "isGroup": True}, False),
        ],
    )
    def test_personal_conversations(self, conversation: dict[str, Any], personal: bool) -> None:
        assert is_personal(wire(conversation=conversation)) is personal


class TestPlanCapture:
    def test_nothing_stored_is_a_create(self) -> None:
        assert plan_capture(None, "f", T0, DAY) is CaptureOutcome.CREATED

    def test_the_same_reference_within_the_interval_is_unchanged(self) -> None:
        document = stored(wire(), {})

        outcome = plan_capture(document, fingerprint(wire(), {}), T0 + DAY / 2, DAY)

        assert outcome is CaptureOutcome.UNCHANGED

    def test_the_same_reference_after_the_interval_is_a_refresh(self) -> None:
        document = stored(wire(), {})

        assert plan_capture(document, fingerprint(wire(), {}), T0 + DAY, DAY) is (
            CaptureOutcome.REFRESHED
        )

    def test_a_material_change_is_an_update(self) -> None:
        document = stored(wire(), {})

        outcome = plan_capture(document, fingerprint(wire(locale="de"), {}), T0, DAY)

        assert outcome is CaptureOutcome.UPDATED

    def test_a_capture_older_than_the_stored_one_is_stale(self) -> None:
        document = stored(wire(), {})

        outcome = plan_capture(document, fingerprint(wire(locale="de"), {}), T0 - DAY, DAY)

        assert outcome is CaptureOutcome.STALE

    def test_a_turn_after_the_inactivation_revives(self) -> None:
        document = stored(wire(), {}, active=False, reason="Uninstalled")
        document["inactiveAt"] = to_timestamp(T0 + timedelta(minutes=1))
        same = fingerprint(wire(), {})

        assert plan_capture(document, same, T0 + timedelta(minutes=2), DAY) is (
            CaptureOutcome.REVIVED
        )
        assert plan_capture(document, same, T0 + timedelta(minutes=1), DAY) is (
            CaptureOutcome.STALE
        )
        assert plan_capture(document, same, T0 + timedelta(seconds=30), DAY) is (
            CaptureOutcome.STALE
        )

    def test_a_capture_makes_the_document_active_and_keeps_other_fields(self) -> None:
        document = stored(wire(), {}, active=False, reason="Uninstalled", optOut=True)
        document["inactiveAt"] = to_timestamp(T0)
        key = ReferenceKey("msteams", "a:conv", "t1")

        after = captured_document(document, key, wire(), {}, T0 + DAY, 7)

        assert (after["active"], after["reason"], after["inactiveAt"]) == (True, None, None)
        assert after["optOut"] is True
        assert after["firstSeen"] == to_timestamp(T0)
        assert after["lastSeen"] == to_timestamp(T0 + DAY)
        assert after["ttl"] == 7
        assert "_etag" not in after


class TestPlanInactive:
    def test_nothing_stored_is_missing(self) -> None:
        assert plan_inactive(None, "Uninstalled", T0) == "missing"

    def test_an_active_reference_is_retired(self) -> None:
        document = stored(wire(), {})

        assert plan_inactive(document, "Uninstalled", T0 + DAY) == "write"
        after = inactive_document(document, "Uninstalled", T0 + DAY)
        assert (after["active"], after["reason"]) == (False, "Uninstalled")
        assert after["inactiveAt"] == to_timestamp(T0 + DAY)
        assert after["ttl"] == document["ttl"]

    def test_an_event_older_than_the_last_turn_is_stale(self) -> None:
        assert plan_inactive(stored(wire(), {}), "Uninstalled", T0 - DAY) == "stale"

    def test_the_same_reason_again_is_unchanged_and_another_is_written(self) -> None:
        document = stored(wire(), {}, active=False, reason="Uninstalled")

        assert plan_inactive(document, "Uninstalled", T0 + DAY) == "unchanged"
        assert plan_inactive(document, "ConversationNotFound", T0 + DAY) == "write"


class TestUserIndex:
    def test_the_index_follows_the_latest_personal_conversation(self) -> None:
        first = stored(wire(), {})
        index = user_index_document(None, "index-id", first)
        second = stored(wire(conversation={"id": "a:other", "conversationType": "personal"}), {})
        second["lastSeen"] = to_timestamp(T0 + DAY)
        older = dict(second, lastSeen=to_timestamp(T0 - DAY))

        assert plan_user_index(None, first) is True
        assert index["conversationKey"] == first["id"]
        assert index["userId"] == "29:user"
        assert plan_user_index(index, first) is False
        assert plan_user_index(index, second) is True
        assert plan_user_index(index, older) is False

    def test_a_refresh_of_the_same_conversation_refreshes_the_index(self) -> None:
        document = stored(wire(), {})
        index = user_index_document(None, "index-id", document)
        refreshed = dict(document, lastSeen=to_timestamp(T0 + DAY))

        assert plan_user_index(index, refreshed) is True


class TestRecord:
    def test_a_document_reads_back_as_a_typed_record(self) -> None:
        document = stored(wire(), {"aud": "app"}, active=False, reason="BotRemoved")
        document["inactiveAt"] = to_timestamp(T0 + DAY)

        record = to_record(document)

        assert record.key == ReferenceKey("msteams", "a:conv", "t1")
        assert record.id == document["id"]
        assert record.reference.service_url == "https://smba.trafficmanager.net/emea/"
        assert record.reference.activity_id is None
        assert record.claims == {"aud": "app"}
        assert (record.active, record.reason, record.inactive_at) == (False, "BotRemoved", T0 + DAY)
        assert record.personal is True
        assert record.user_id == "29:user"
        assert record.etag == '"1"'

    def test_a_user_index_document_is_not_a_reference(self) -> None:
        index = user_index_document(None, "index-id", stored(wire(), {}))

        with pytest.raises(ValueError, match="not a conversation"):
            to_record(index)


class TestRecentCaptures:
    def test_a_capture_is_remembered_for_a_window(self) -> None:
        recent = RecentCaptures(timedelta(seconds=30), size=10)
        recent.remember("doc", "f1", T0)

        assert recent.fresh("doc", "f1", T0 + timedelta(seconds=29)) is True
        assert recent.fresh("doc", "f1", T0 + timedelta(seconds=30)) is False
        assert recent.fresh("doc", "f2", T0) is False
        assert recent.fresh("other", "f1", T0) is False

    def test_the_least_recently_used_is_dropped(self) -> None:
        recent = RecentCaptures(timedelta(seconds=30), size=2)
        recent.remember("a", "f", T0)
        recent.remember("b", "f", T0)
        recent.fresh("a", "f", T0)
        recent.remember("c", "f", T0)

        assert recent.fresh("a", "f", T0) is True
        assert recent.fresh("b", "f", T0) is False
        assert recent.fresh("c", "f", T0) is True

    def test_forgotten_and_disabled_memories_hold_nothing(self) -> None:
        recent = RecentCaptures(timedelta(seconds=30), size=2)
        recent.remember("a", "f", T0)
        recent.forget("a")
        disabled = RecentCaptures(timedelta(0), size=2)
        disabled.remember("a", "f", T0)

        assert recent.fresh("a", "f", T0) is False
        assert disabled.fresh("a", "f", T0) is False
