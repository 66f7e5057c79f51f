"""The versions of a delivery: each edit and recall recorded once, numbered after the send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.delivery import Receipt
from bot.delivery.documents import begun, new_document
from bot.delivery.versions import version_entry, versioned

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def delivered() -> dict[str, Any]:
    document = new_document(
        document_id="v1-x",
        delivery_id="report-42",
        activity_count=1,
        payload_hash=None,
        lease_token="t",
        lease_seconds=60,
        ttl_seconds=600,
        now=NOW,
    )
    document["_etag"] = "e1"
    return document


def test_versions_are_numbered_after_the_send_and_recorded_once() -> None:
    update = version_entry("update", "fix-1", ["act-1"], NOW)
    once = versioned(delivered(), update)
    assert once is not None
    assert "_etag" not in once
    assert versioned(once, update) is None
    twice = versioned(once, version_entry("delete", "recall-1", ["act-1"], NOW))
    assert twice is not None

    receipt = Receipt.from_document(twice)
    assert [v["version"] for v in receipt.to_json()["versions"]] == [1, 2, 3]
    assert [v["operation"] for v in receipt.to_json()["versions"]] == ["send", "update", "delete"]
    assert receipt.recalled


def test_the_first_write_stores_facts_once_and_never_shows_them() -> None:
    address = {"channelId": "msteams", "conversation": {"id": "a:1"}}
    first = begun(delivered(), lease_seconds=60, now=NOW, facts={"address": address})
    again = begun(first, lease_seconds=60, now=NOW, facts={"address": {"channelId": "other"}})

    assert again["address"] == address
    receipt = Receipt.from_document(again)
    assert receipt.address == address
    assert "address" not in receipt.to_json()
