"""Test-only signing keys, JWKS documents and tokens shaped like the Bot Framework's."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

APP_ID = "00000000-0000-0000-0000-00000000b075"
CHANNEL_ISSUER = "https://api.botframework.com"
SERVICE_URL = "https://smba.trafficmanager.net/teams/"
METADATA_URL = "https://login.test/v1/.well-known/openidconfiguration"
JWKS_URL = "https://login.test/v1/.well-known/keys"
EMULATOR_METADATA_URL = "https://entra.test/common/v2.0/.well-known/openid-configuration"
EMULATOR_JWKS_URL = "https://entra.test/common/discovery/v2.0/keys"
BOTFRAMEWORK_TENANT = "d6d49420-f39b-4df7-a1dc-d59a935871db"


@cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """One RSA key per name, generated once per test process."""
    del name
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class MintingKey:
    """A named signing key with its ``kid`` and endorsements."""

    name: str
    kid: str
    endorsements: list[str] = field(default_factory=lambda: ["msteams", "webchat"])

    @property
    def private(self) -> rsa.RSAPrivateKey:
        return rsa_key(self.name)

    def jwk(self) -> dict[str, Any]:
        document: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        document.update(kid=self.kid, use="sig", endorsements=self.endorsements)
        return document

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def jwks(*keys: MintingKey) -> dict[str, Any]:
    return {"keys": [key.jwk() for key in keys]}


def channel_claims(**overrides: Any) -> dict[str, Any]:
    """Claims of a valid channel token; ``None`` values remove a claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "serviceurl": SERVICE_URL,
        "nbf": now - 60,
        "exp": now + 3600,
        "iss": CHANNEL_ISSUER,
        "aud": APP_ID,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign(claims: dict[str, Any], key: MintingKey, *, kid: str | None = None) -> str:
    return jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": kid or key.kid})


def sign_raw(claims: dict[str, Any], key: MintingKey) -> str:
    """RS256 over any JSON claims, even ones PyJWT's encoder refuses (a list ``iss``)."""
    payload = json.dumps(claims).encode()
    return jwt.PyJWS().encode(payload, key.private, algorithm="RS256", headers={"kid": key.kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned_token(claims: dict[str, Any], kid: str) -> str:
    """``alg: none`` with an empty signature."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def hmac_token(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """HS256 signed with ``secret`` (the classic public-key-as-HMAC-secret confusion)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def with_header(token: str, **header: Any) -> str:
    """``token`` with its header replaced (payload and signature kept)."""
    _, payload, signature = token.split(".")
    return f"{_b64(json.dumps(header).encode())}.{payload}.{signature}"


def encode_segment(document: Any) -> str:
    """One base64url JSON segment of a JWT."""
    return _b64(json.dumps(document).encode())
