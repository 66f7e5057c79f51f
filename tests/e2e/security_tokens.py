"""Forged channel tokens, and raw activity posts that carry them, for the security e2e tests.

The local channel mints most bad tokens itself (:class:`dev.channel.TokenDefect`). What it
cannot know is how an attacker would build one from public material only, so the forgeries
here start from what anybody can read: the issuer's published JWKS (found through
``BOT_OPENID_METADATA_URL``) and the claims of a genuine token, re-signed with the wrong key,
the wrong algorithm or no signature at all.

The posts go straight to ``/api/messages`` with exactly the bytes and headers a test chooses,
so a test controls every part of the request the bot validates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from dev.channel import ChannelControl

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60)
"""Generous: a 10 MB body on a busy two-core machine; tests never assert on timing."""


@dataclass(frozen=True)
class Answer:
    """The bot's HTTP answer.

    Attributes:
        status: The HTTP status.
        body: The decoded JSON, the text when it is not JSON, or None when empty.
        headers: The response headers.
    """

    status: int
    body: Any
    headers: Mapping[str, str]


async def post_to_bot(
    url: str,
    body: bytes,
    *,
    authorization: str | None = None,
    content_type: str | None = "application/json",
) -> Answer:
    """POST raw bytes to the bot with only the headers asked for.

    Args:
        url: The bot's ``/api/messages``.
        body: The exact request body.
        authorization: The whole ``Authorization`` value; no header when None.
        content_type: The ``Content-Type``; no header when None.
    """
    headers: dict[str, str] = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    if content_type is not None:
        headers["Content-Type"] = content_type
    # skip_auto_headers: without it aiohttp adds Content-Type: application/octet-stream.
    async with (
        aiohttp.ClientSession(
            timeout=REQUEST_TIMEOUT, skip_auto_headers=("Content-Type",)
        ) as session,
        session.post(url, data=body, headers=headers, allow_redirects=False) as response,
    ):
        raw = await response.read()
    return _answer(response, raw)


def _answer(response: aiohttp.ClientResponse, raw: bytes) -> Answer:
    decoded: Any = None
    if raw:
        text = raw.decode("utf-8", errors="replace")
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = text
    return Answer(response.status, decoded, dict(response.headers))


async def get_json(url: str) -> Answer:
    """GET ``url`` with no headers; its answer, decoded as :func:`post_to_bot` does."""
    async with (
        aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session,
        session.get(url, allow_redirects=False) as response,
    ):
        raw = await response.read()
    return _answer(response, raw)


def assert_error(answer: Answer, status: int, code: str | Collection[str]) -> None:
    """The answer is ``status`` with exactly ``{"error": {"code": code, "message": ...}}``.

    Args:
        answer: The bot's answer.
        status: The expected status.
        code: The expected error code, or the codes any of which is right.
    """
    codes = {code} if isinstance(code, str) else set(code)
    assert answer.status == status, f"expected {status} {codes}, got {answer.status}: {answer.body}"
    assert isinstance(answer.body, dict), answer.body
    assert set(answer.body) == {"error"}, answer.body
    error = answer.body["error"]
    assert isinstance(error, dict), answer.body
    assert set(error) == {"code", "message"}, answer.body
    assert error["code"] in codes, answer.body
    assert isinstance(error["message"], str), answer.body
    assert error["message"].strip(), answer.body


def new_conversation_id(label: str) -> str:
    """A conversation id no other test uses, shaped like a Teams personal chat id."""
    return f"a:e2e-{label}-{uuid.uuid4().hex}"


def message_activity(
    *,
    service_url: str,
    conversation_id: str,
    bot_id: str,
    text: str = "hi",
    channel_id: str = "msteams",
    tenant_id: str = "72f988bf-86f1-41af-91ab-2d7cd011db47",
) -> dict[str, Any]:
    """A Teams-shaped user message to the bot."""
    return {
        "type": "message",
        "id": uuid.uuid4().hex,
        "timestamp": "2026-01-01T00:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": channel_id,
        "from": {"id": "29:e2e-user", "name": "Mallory", "aadObjectId": str(uuid.uuid4())},
        "conversation": {
            "id": conversation_id,
            "conversationType": "personal",
            "tenantId": tenant_id,
        },
        "recipient": {"id": bot_id, "name": "Proactive Bot"},
        "text": text,
        "textFormat": "plain",
        "channelData": {"tenant": {"id": tenant_id}},
        "locale": "en-US",
    }


async def channel_message(
    channel: ChannelControl, conversation_id: str, text: str = "hi"
) -> dict[str, Any]:
    """A user message to the session's bot, addressed as the local channel would."""
    info = await channel.info()
    return message_activity(
        service_url=info["serviceUrl"],
        conversation_id=conversation_id,
        bot_id=info["appId"],
        tenant_id=info["tenantId"],
        text=text,
    )


def encode(activity: Mapping[str, Any]) -> bytes:
    """The activity as a JSON body."""
    return json.dumps(activity).encode("utf-8")


def bearer(token: str) -> str:
    """An ``Authorization`` value for the token."""
    return "Bearer " + token


async def published_keys(metadata_url: str) -> list[dict[str, Any]]:
    """The issuer's public JWKS, found the way a bot finds it: metadata, then ``jwks_uri``."""
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session:
        async with session.get(metadata_url) as response:
            response.raise_for_status()
            metadata = await response.json()
        async with session.get(metadata["jwks_uri"]) as response:
            response.raise_for_status()
            document = await response.json()
    keys: list[dict[str, Any]] = document["keys"]
    return keys


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a token, unverified (to re-sign them)."""
    header: dict[str, Any] = jwt.get_unverified_header(token)
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return header, claims


def _segment(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode("ascii")


def _signing_input(header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    def part(value: Mapping[str, Any]) -> str:
        return _segment(json.dumps(value, separators=(",", ":")).encode("utf-8"))

    return f"{part(header)}.{part(claims)}"


def unsigned_token(claims: Mapping[str, Any], *, kid: str, alg: str = "none") -> str:
    """``alg: none`` (in any spelling) with an empty signature."""
    return _signing_input({"alg": alg, "typ": "JWT", "kid": kid}, claims) + "."


def hs256_token(claims: Mapping[str, Any], *, kid: str, secret: bytes) -> str:
    """HS256 with a public value as the HMAC secret (algorithm confusion).

    Signed by hand: PyJWT refuses key-shaped HMAC secrets, which is the point of the attack.
    """
    signing_input = _signing_input({"alg": "HS256", "typ": "JWT", "kid": kid}, claims)
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_segment(signature)}"


def attacker_token(claims: Mapping[str, Any], *, kid: str) -> str:
    """RS256 signed by a key the attacker just made, naming a published ``kid``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(dict(claims), key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


def public_key_secrets(jwk: Mapping[str, Any]) -> dict[str, bytes]:
    """Every public encoding of a published key a confused verifier might use as HMAC secret.

    Returns:
        By name: the SubjectPublicKeyInfo PEM and DER, PKCS#1 PEM, the JWK JSON as published,
        and the ``x5c`` certificate (DER and PEM) when the JWK has one.
    """
    public_key = RSAAlgorithm.from_jwk(json.dumps(dict(jwk)))
    assert isinstance(public_key, rsa.RSAPublicKey)
    secrets = {
        "spki-pem": public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "spki-der": public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "pkcs1-pem": public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ),
        "jwk-json": json.dumps(dict(jwk)).encode("utf-8"),
    }
    chain = jwk.get("x5c")
    if isinstance(chain, list) and chain:
        der = base64.b64decode(chain[0])
        secrets["x5c-der"] = der
        secrets["x5c-pem"] = x509.load_der_x509_certificate(der).public_bytes(
            serialization.Encoding.PEM
        )
    return secrets
