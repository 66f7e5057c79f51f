"""RSA key material generated at start: nothing secret is ever committed.

A :class:`SigningKey` is an RSA 2048 key with a short-lived self-signed certificate, published
as a JWK the way ``login.botframework.com`` publishes its keys (``kid`` is the certificate's
SHA-1 thumbprint, ``x5t`` and ``x5c`` are set). :class:`ChannelKeys` is every key one channel
needs; tests may generate it once per module and hand it to several channels.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

CERTIFICATE_LIFETIME = datetime.timedelta(days=2)


def generate_rsa_key() -> rsa.RSAPrivateKey:
    """A fresh RSA 2048 private key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def base64url(data: bytes) -> str:
    """Unpadded base64url, as JOSE headers and JWKs spell binary values."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def self_signed_certificate(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    """A self-signed certificate for ``key``, valid from a day ago for two days."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + CERTIFICATE_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


@dataclass(frozen=True)
class SigningKey:
    """An RSA signing key with its certificate and JWK identity.

    Attributes:
        private_key: The RSA private key.
        certificate: A self-signed certificate of the public key (published as ``x5c``).
        endorsements: Channels the key is endorsed for; empty means no ``endorsements``
            member in the JWK.
    """

    private_key: rsa.RSAPrivateKey = field(repr=False)
    certificate: x509.Certificate = field(repr=False)
    endorsements: tuple[str, ...] = ()

    @classmethod
    def generate(cls, common_name: str, endorsements: tuple[str, ...] = ()) -> SigningKey:
        """A new key with a self-signed certificate named ``common_name``."""
        key = generate_rsa_key()
        return cls(key, self_signed_certificate(key, common_name), endorsements)

    def with_endorsements(self, endorsements: tuple[str, ...]) -> SigningKey:
        """The same key, endorsed for other channels."""
        return SigningKey(self.private_key, self.certificate, endorsements)

    @property
    def kid(self) -> str:
        """The key id: the certificate's SHA-1 thumbprint, base64url, as Bot Framework does."""
        return self.x5t

    @property
    def x5t(self) -> str:
        """SHA-1 thumbprint of the certificate (DER), base64url."""
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return base64url(hashlib.sha1(der, usedforsecurity=False).digest())

    @property
    def x5t_s256(self) -> str:
        """SHA-256 thumbprint of the certificate (DER), base64url."""
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return base64url(hashlib.sha256(der).digest())

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK, with ``endorsements`` when the key has any."""
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        jwk.update(
            {
                "kty": "RSA",
                "use": "sig",
                "kid": self.kid,
                "x5t": self.x5t,
                "x5c": [base64.b64encode(der).decode("ascii")],
            }
        )
        if self.endorsements:
            jwk["endorsements"] = list(self.endorsements)
        return jwk

    def private_pem(self) -> bytes:
        """The private key, PKCS#8 PEM, unencrypted (local files only)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def certificate_pem(self) -> bytes:
        """The certificate, PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class ChannelKeys:
    """Every RSA key of one channel.

    Attributes:
        issuer: Signs channel tokens; in the JWKS with the configured endorsements.
        issuer_restricted: In the JWKS too, endorsed only for a channel no test uses, so a
            token it signs fails the endorsement check.
        foreign: Never published: tokens it signs must fail signature checks.
        token_endpoint: Signs the bot's access tokens at the token endpoint.
        app_certificate: The bot's client certificate, registered at the token endpoint.
        tls_ca: The local certificate authority.
        tls_server: The token endpoint's TLS key.
    """

    issuer: SigningKey
    issuer_restricted: SigningKey
    foreign: SigningKey
    token_endpoint: SigningKey
    app_certificate: SigningKey
    tls_ca: rsa.RSAPrivateKey = field(repr=False)
    tls_server: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> ChannelKeys:
        """Fresh keys (about 0.3 s of CPU)."""
        return cls(
            issuer=SigningKey.generate("local channel issuer"),
            issuer_restricted=SigningKey.generate(
                "local channel issuer (restricted)", ("restricted-channel",)
            ),
            foreign=SigningKey.generate("not the local channel"),
            token_endpoint=SigningKey.generate("local token endpoint"),
            app_certificate=SigningKey.generate("local bot client certificate"),
            tls_ca=generate_rsa_key(),
            tls_server=generate_rsa_key(),
        )
