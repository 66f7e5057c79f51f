"""The bot's client certificate (``MicrosoftAppCertificatePath``), as MSAL wants it.

The file is a PEM holding the certificate and its unencrypted private key, in any order. MSAL
signs its client assertion with the key and names the certificate by its SHA-1 thumbprint
(the ``x5t`` header Entra matches against the app registration), as botbuilder does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)


class CertificateError(Exception):
    """The certificate file is missing, unreadable or lacks a certificate or a key.

    The message names the setting and the path, never key material.
    """


@dataclass(frozen=True, slots=True)
class CertificateCredential:
    """A certificate credential for ``msal.ConfidentialClientApplication``.

    Attributes:
        private_key_pem: The private key, PEM (PKCS#8 or traditional).
        certificate_pem: The certificate, PEM.
        thumbprint: SHA-1 of the certificate's DER encoding, upper-case hex.
        thumbprint_sha256: SHA-256 of the DER encoding, upper-case hex (for operators).
    """

    private_key_pem: str
    certificate_pem: str
    thumbprint: str
    thumbprint_sha256: str

    def __repr__(self) -> str:
        return f"CertificateCredential(thumbprint={self.thumbprint!r})"

    def msal_credential(self) -> dict[str, str]:
        """The ``client_credential`` dict MSAL accepts."""
        return {"private_key": self.private_key_pem, "thumbprint": self.thumbprint}


def load_certificate(path: str) -> CertificateCredential:
    """Read a PEM with a certificate and its private key.

    Raises:
        CertificateError: The file cannot be read, or a part is missing or does not parse.
    """

    def fail(reason: str) -> CertificateError:
        return CertificateError(f"MicrosoftAppCertificatePath: {path}: {reason}")

    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise fail(f"cannot be read ({type(error).__name__})") from None
    certificate_block = key_block = None
    for match in _PEM_BLOCK.finditer(data):
        label = match.group(1)
        if label == b"CERTIFICATE" and certificate_block is None:
            certificate_block = match.group(0)
        elif label.endswith(b"PRIVATE KEY") and key_block is None:
            key_block = match.group(0)
    if certificate_block is None:
        raise fail("no CERTIFICATE block")
    if key_block is None:
        raise fail("no PRIVATE KEY block")
    if b"ENCRYPTED" in key_block:
        raise fail("the private key is encrypted; store it unencrypted (Key Vault protects it)")
    try:
        certificate = x509.load_pem_x509_certificate(certificate_block)
        private_key = serialization.load_pem_private_key(key_block, password=None)
    except (ValueError, TypeError) as error:
        raise fail(f"does not parse ({type(error).__name__})") from None
    certificate_public = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_public = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if certificate_public != key_public:
        raise fail("the private key does not belong to the certificate")
    return CertificateCredential(
        private_key_pem=key_block.decode("ascii"),
        certificate_pem=certificate_block.decode("ascii"),
        thumbprint=certificate.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303
        thumbprint_sha256=certificate.fingerprint(hashes.SHA256()).hex().upper(),
    )
