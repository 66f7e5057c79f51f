"""A local certificate authority and the token endpoint's server certificate.

MSAL only talks to an https authority, so the token endpoint needs a certificate the bot
process trusts. A CA is generated at start; its PEM is written alone (``ca.pem``) and appended
to certifi's bundle (``ca-bundle.pem``) so ``REQUESTS_CA_BUNDLE`` can point at the bundle
without losing the public roots.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CA_BUNDLE_FILE = "ca-bundle.pem"
SERVER_CERT_FILE = "token-endpoint.pem"
SERVER_KEY_FILE = "token-endpoint.key"
VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class LocalTls:
    """Files and contexts of the local TLS set-up.

    Attributes:
        ca_cert_path: The local CA alone, PEM.
        ca_bundle_path: certifi's CAs followed by the local CA, PEM (for ``REQUESTS_CA_BUNDLE``).
        server_cert_path: The server certificate for ``127.0.0.1`` and ``localhost``.
        server_key_path: Its private key (mode 0600).
    """

    ca_cert_path: Path
    ca_bundle_path: Path
    server_cert_path: Path
    server_key_path: Path

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context with the local server certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.server_cert_path, self.server_key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A TLS client context that trusts only the local CA."""
        return ssl.create_default_context(cafile=str(self.ca_cert_path))


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Local Bot Framework channel"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_certificate(key: rsa.RSAPrivateKey, now: datetime.datetime) -> x509.Certificate:
    name = _name("Local channel CA")
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(
    key: rsa.RSAPrivateKey,
    ca_key: rsa.RSAPrivateKey,
    ca_certificate: x509.Certificate,
    now: datetime.datetime,
) -> x509.Certificate:
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.DNSName("localhost"),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _write_private(path: Path, data: bytes) -> None:
    # The key never leaves the machine, but other local users need not read it either.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def create_local_tls(
    directory: Path, ca_key: rsa.RSAPrivateKey, server_key: rsa.RSAPrivateKey
) -> LocalTls:
    """Issue the CA and server certificates and write them under ``directory``.

    Args:
        directory: An existing directory private to this channel.
        ca_key: The CA's private key.
        server_key: The server certificate's private key.

    Returns:
        The paths of the written files.
    """
    now = datetime.datetime.now(datetime.UTC)
    ca_certificate = _ca_certificate(ca_key, now)
    server_certificate = _server_certificate(server_key, ca_key, ca_certificate, now)
    ca_pem = ca_certificate.public_bytes(serialization.Encoding.PEM)

    tls = LocalTls(
        ca_cert_path=directory / CA_FILE,
        ca_bundle_path=directory / CA_BUNDLE_FILE,
        server_cert_path=directory / SERVER_CERT_FILE,
        server_key_path=directory / SERVER_KEY_FILE,
    )
    tls.ca_cert_path.write_bytes(ca_pem)
    public_roots = Path(certifi.where()).read_bytes()
    tls.ca_bundle_path.write_bytes(public_roots.rstrip(b"\n") + b"\n" + ca_pem)
    tls.server_cert_path.write_bytes(
        server_certificate.public_bytes(serialization.Encoding.PEM) + ca_pem
    )
    _write_private(
        tls.server_key_path,
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return tls
