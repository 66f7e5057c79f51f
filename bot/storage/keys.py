"""Storage ids: keyed hashes of canonical keys, never the raw ids.

Cosmos DB ids may not hold ``/ \\ ? #`` and are limited to 1,023 bytes, while channel ids are
free text of any length; and a raw (or plainly hashed) Teams ``29:`` user id in an id or a
partition key is personal data that anyone with a list of candidate ids could link. So every
document id is ``v1-`` + the hex HMAC-SHA256, under ``KEY_HASH_SECRET``, of the canonical
encoding of its kind and key parts. The raw ids live in ordinary fields of the document.

The canonical encoding is a JSON array, so no choice of characters in the parts can make two
different keys encode alike (``("a:b", "c")`` and ``("a", "b:c")`` differ). The version prefix
names the secret: rotating the secret means a new prefix and a migration of the stored ids.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from bot.settings import SettingsError, get_settings

KEY_VERSION = "v1"
"""Names the secret and the encoding the ids are made with."""

DEVELOPMENT_SECRET = b"local-development-only: set KEY_HASH_SECRET"
"""Used only when ``KEY_HASH_SECRET`` is unset, which settings allow only with
``BOT_AUTH_DISABLED=true`` (local development), never in Azure."""


def canonical_key(kind: str, *parts: str) -> bytes:
    """The unambiguous byte encoding of a key: a compact, ASCII-only JSON array.

    ASCII-only escaping makes every Python string encodable, lone surrogates included, and
    gives one spelling per string.

    Args:
        kind: What the key addresses (``"conversation"``, ``"user"``, ``"delivery"``, ...).
        *parts: The key's parts, in order.

    Returns:
        The bytes the HMAC is computed over.
    """
    return json.dumps([kind, *parts], ensure_ascii=True, separators=(",", ":")).encode("ascii")


def storage_id(kind: str, *parts: str, secret: bytes | None = None) -> str:
    """The document id of a key: ``v1-`` and 64 lowercase hex digits.

    Args:
        kind: What the key addresses; two kinds never share an id.
        *parts: The raw key parts (any characters, any length).
        secret: The HMAC key; ``KEY_HASH_SECRET`` from the settings when omitted.

    Returns:
        An id that is valid in Cosmos DB, holds no part of the raw key and cannot be computed
        without the secret.
    """
    key = secret if secret is not None else _configured_secret()
    digest = hmac.new(key, canonical_key(kind, *parts), hashlib.sha256).hexdigest()
    return f"{KEY_VERSION}-{digest}"


def _configured_secret() -> bytes:
    settings = get_settings()
    configured = settings.key_hash_secret
    if configured is None:
        if settings.running_in_azure:
            # Settings refuse this already; a constant key must not be one edit away in Azure.
            raise SettingsError("KEY_HASH_SECRET: required in Azure")
        return DEVELOPMENT_SECRET
    return configured.get_secret_value().encode("utf-8")
