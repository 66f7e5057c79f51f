"""Loading the bot's client certificate (``MicrosoftAppCertificatePath``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.auth.certificate import CertificateError, load_certificate
from dev.channel.keys import self_signed_certificate
from tests.unit.auth.jwt_minting import rsa_key


def certificate_for(key: rsa.RSAPrivateKey) -> x509.Certificate:
    return self_signed_certificate(key, "bot")


def key_pem(key: rsa.RSAPrivateKey, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def cert_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_the_thumbprint_is_the_sha1_of_the_certificate(tmp_path: Path) -> None:
    key = rsa_key("certificate")
    certificate = certificate_for(key)
    path = tmp_path / "bot.pem"
    path.write_bytes(key_pem(key) + cert_pem(certificate))

    credential = load_certificate(str(path))

    assert credential.thumbprint == certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303
    assert credential.thumbprint_sha256 == certificate.fingerprint(hashes.SHA256()).hex().upper()
    assert credential.msal_credential() == {
        "private_key": key_pem(key).decode().strip(),
        "thumbprint": credential.thumbprint,
    }
    assert "PRIVATE" not in repr(credential)


def test_the_order_of_the_blocks_does_not_matter(tmp_path: Path) -> None:
    key = rsa_key("certificate")
    path = tmp_path / "bot.pem"
    path.write_bytes(cert_pem(certificate_for(key)) + b"\n" + key_pem(key))

    assert load_certificate(str(path)).thumbprint


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (lambda key, other: cert_pem(certificate_for(key)), "no PRIVATE KEY"),
        (lambda key, other: key_pem(key), "no CERTIFICATE"),
        (lambda key, other: key_pem(other) + cert_pem(certificate_for(key)), "does not belong"),
        (lambda key, other: key_pem(key, b"pw") + cert_pem(certificate_for(key)), "encrypted"),
        (lambda key, other: b"garbage", "no CERTIFICATE"),
    ],
)
def test_an_unusable_file_names_the_setting_but_no_key_material(
    tmp_path: Path, content: object, reason: str
) -> None:
    key, other = rsa_key("certificate"), rsa_key("attacker")
    path = tmp_path / "bot.pem"
    path.write_bytes(content(key, other))  # type: ignore[operator]

    with pytest.raises(CertificateError, match=reason) as caught:
        load_certificate(str(path))

    assert "MicrosoftAppCertificatePath" in str(caught.value)
    assert "BEGIN" not in str(caught.value)


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match="cannot be read"):
        load_certificate(str(tmp_path / "absent.pem"))
