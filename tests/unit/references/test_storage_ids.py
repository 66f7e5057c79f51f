"""Storage ids: HMAC of an unambiguous canonical key, never the raw id."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.storage.keys import DEVELOPMENT_SECRET, KEY_VERSION, canonical_key, storage_id

SECRET = b"unit-test-key-hash-secret-of-32-bytes"
ID_FORMAT = re.compile(r"v1-[0-9a-f]{64}")
FORBIDDEN_IN_COSMOS_IDS = set("/\\?#")


def test_an_id_is_the_version_and_a_lowercase_hex_hmac() -> None:
    document_id = storage_id("user", "msteams", "29:abc", secret=SECRET)

    assert ID_FORMAT.fullmatch(document_id)
    assert KEY_VERSION == "v1"


def test_the_id_is_the_hmac_sha256_of_the_canonical_key() -> None:
    import hmac

    expected = hmac.new(SECRET, b'["user","msteams","29:abc"]', hashlib.sha256).hexdigest()

    assert storage_id("user", "msteams", "29:abc", secret=SECRET) == f"v1-{expected}"


def test_the_raw_id_and_its_md5_never_appear() -> None:
    user_id = "29:abc"
    document_id = storage_id("user", "msteams", user_id, secret=SECRET)

    assert user_id not in document_id
    assert "abc" not in document_id
    assert hashlib.md5(user_id.encode()).hexdigest() not in document_id  # noqa: S324
    assert hashlib.sha256(user_id.encode()).hexdigest() not in document_id


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("a:b", "c"), ("a", "b:c")),
        (("ab",), ("a", "b")),
        (("a", ""), ("a",)),
        (('a","b',), ("a", "b")),
        (("a\\", "b"), ("a", "\\b")),
    ],
)
def test_different_part_tuples_never_share_an_id(
    first: tuple[str, ...], second: tuple[str, ...]
) -> None:
    assert canonical_key("k", *first) != canonical_key("k", *second)
    assert storage_id("k", *first, secret=SECRET) != storage_id("k", *second, secret=SECRET)


def test_the_kind_is_part_of_the_key() -> None:
    assert storage_id("user", "x", secret=SECRET) != storage_id("delivery", "x", secret=SECRET)


def test_another_secret_gives_another_id() -> None:
    assert storage_id("user", "x", secret=SECRET) != storage_id("user", "x", secret=b"other")


@pytest.mark.parametrize(
    "part",
    ["a/b\\c?d#e\nf\tg\r*", "x" * 2000, "é" * 1000, "\ud800 lone surrogate", "", "\x00"],
    ids=["forbidden-characters", "2000-bytes", "2000-bytes-utf8", "surrogate", "empty", "nul"],
)
def test_any_characters_and_length_give_a_valid_cosmos_id(part: str) -> None:
    document_id = storage_id("conversation", "msteams", "", part, secret=SECRET)

    assert ID_FORMAT.fullmatch(document_id)
    assert not FORBIDDEN_IN_COSMOS_IDS & set(document_id)
    assert len(document_id.encode()) <= 1023


@given(
    st.lists(st.text(), min_size=0, max_size=4),
    st.lists(st.text(), min_size=0, max_size=4),
)
def test_the_canonical_encoding_is_unambiguous(first: list[str], second: list[str]) -> None:
    if first != second:
        assert canonical_key("k", *first) != canonical_key("k", *second)
    assert json.loads(canonical_key("k", *first)) == ["k", *first]


@pytest.mark.usefixtures("configured")
def test_the_secret_comes_from_key_hash_secret() -> None:
    assert storage_id("user", "x") == storage_id(
        "user", "x", secret=b"unit-test-key-hash-secret-of-32-bytes"
    )


@pytest.mark.usefixtures("configured")
def test_local_development_without_a_secret_uses_the_development_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KEY_HASH_SECRET")

    assert storage_id("user", "x") == storage_id("user", "x", secret=DEVELOPMENT_SECRET)


@pytest.mark.usefixtures("configured")
def test_no_constant_key_in_azure(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import Settings, SettingsError, get_settings

    # Settings refuse this combination at load; the key function refuses it again on its own.
    monkeypatch.delenv("KEY_HASH_SECRET")
    get_settings()
    monkeypatch.setattr(Settings, "running_in_azure", property(lambda self: True))

    with pytest.raises(SettingsError, match="KEY_HASH_SECRET"):
        storage_id("user", "x")
