"""Channel tokens minted by the local issuer, and bot tokens of the local token endpoint."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import jwt
import pytest

from dev.channel.issuer import ChannelIssuer, TokenDefect
from dev.channel.keys import ChannelKeys
from dev.channel.token_endpoint import TokenAuthority, TokenRequestError

APP_ID = "11111111-2222-3333-4444-555555555555"
SERVICE_URL = "http://127.0.0.1:5000/"
SCOPE = "https://api.botframework.com/.default"


@pytest.fixture(scope="module")
def keys() -> ChannelKeys:
    return ChannelKeys.generate()


@pytest.fixture
def issuer(keys: ChannelKeys) -> ChannelIssuer:
    issuer = ChannelIssuer(
        keys.issuer.with_endorsements(("msteams", "test")),
        keys.issuer_restricted,
        keys.foreign,
        issuer="https://api.botframework.com",
    )
    issuer.base_url = "http://127.0.0.1:5001"
    return issuer


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    def decode(part: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return result

    header, payload, _ = token.split(".")
    return decode(header), decode(payload)


def _validate(issuer: ChannelIssuer, token: str, channel_id: str = "msteams") -> dict[str, Any]:
    """Validate the way the security reference says a bot must."""
    header = jwt.get_unverified_header(token)
    jwks = {key["kid"]: key for key in issuer.jwks()["keys"]}
    jwk = jwks.get(header.get("kid", ""))
    if jwk is None:
        raise LookupError("unknown kid")
    if channel_id not in jwk.get("endorsements", []):
        raise PermissionError("key not endorsed for the channel")
    claims: dict[str, Any] = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience=APP_ID,
        issuer="https://api.botframework.com",
        leeway=300,
        options={"require": ["exp", "serviceurl"]},
    )
    if not isinstance(claims["aud"], str):
        raise jwt.InvalidAudienceError("aud must be a string")
    if claims["serviceurl"] != SERVICE_URL:
        raise PermissionError("serviceurl mismatch")
    return claims


def test_metadata_points_at_the_jwks(issuer: ChannelIssuer) -> None:
    document = issuer.openid_configuration()
    assert document["issuer"] == "https://api.botframework.com"
    assert document["jwks_uri"] == "http://127.0.0.1:5001/v1/.well-known/keys"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    keys = issuer.jwks()["keys"]
    assert keys[0]["endorsements"] == ["msteams", "test"]
    assert all(key["kty"] == "RSA" and key["kid"] == key["x5t"] for key in keys)
    assert "d" not in keys[0]


def test_good_token_has_the_connector_claims(issuer: ChannelIssuer) -> None:
    token = issuer.mint(SERVICE_URL, APP_ID)
    claims = _validate(issuer, token)
    assert claims["aud"] == APP_ID
    assert claims["serviceurl"] == SERVICE_URL
    assert claims["nbf"] <= claims["iat"] < claims["exp"]
    header, _ = _segments(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == issuer.primary_key.kid


@pytest.mark.parametrize(
    ("defect", "error"),
    [
        (TokenDefect.EXPIRED, jwt.ExpiredSignatureError),
        (TokenDefect.NOT_YET_VALID, jwt.ImmatureSignatureError),
        (TokenDefect.WRONG_AUDIENCE, jwt.InvalidAudienceError),
        (TokenDefect.AUDIENCE_LIST, jwt.InvalidAudienceError),
        (TokenDefect.WRONG_ISSUER, jwt.InvalidIssuerError),
        (TokenDefect.MISSING_SERVICE_URL, jwt.MissingRequiredClaimError),
        (TokenDefect.MISSING_EXPIRY, jwt.MissingRequiredClaimError),
        (TokenDefect.WRONG_SERVICE_URL, PermissionError),
        (TokenDefect.UNKNOWN_KID, LookupError),
        (TokenDefect.FOREIGN_KEY, jwt.InvalidSignatureError),
        (TokenDefect.UNENDORSED_KEY, PermissionError),
        (TokenDefect.ALG_NONE, jwt.InvalidAlgorithmError),
        (TokenDefect.HS256_PUBLIC_KEY, jwt.InvalidAlgorithmError),
    ],
)
def test_bad_tokens_fail_validation(
    issuer: ChannelIssuer, defect: TokenDefect, error: type[Exception]
) -> None:
    token = issuer.mint(SERVICE_URL, APP_ID, defect=defect)
    with pytest.raises(error):
        _validate(issuer, token)


def test_defects_change_only_what_they_name(issuer: ChannelIssuer) -> None:
    now = datetime.datetime.now(datetime.UTC).timestamp()
    _, expired = _segments(issuer.mint(SERVICE_URL, APP_ID, defect=TokenDefect.EXPIRED))
    assert expired["exp"] < now - 300
    assert expired["aud"] == APP_ID
    _, listed = _segments(issuer.mint(SERVICE_URL, APP_ID, defect=TokenDefect.AUDIENCE_LIST))
    assert listed["aud"] == [APP_ID]
    header, _ = _segments(issuer.mint(SERVICE_URL, APP_ID, defect=TokenDefect.FOREIGN_KEY))
    assert header["kid"] == issuer.primary_key.kid
    none_token = issuer.mint(SERVICE_URL, APP_ID, defect=TokenDefect.ALG_NONE)
    assert none_token.endswith(".")
    assert _segments(none_token)[0]["alg"] == "none"


def test_expiry_inside_the_leeway_is_accepted(issuer: ChannelIssuer) -> None:
    issued = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=64)
    token = issuer.mint(SERVICE_URL, APP_ID, issued_at=issued)
    assert _validate(issuer, token)["aud"] == APP_ID


def test_omitted_and_extra_claims(issuer: ChannelIssuer) -> None:
    token = issuer.mint(SERVICE_URL, APP_ID, omit_claims=["jti"], extra_claims={"appid": "x"})
    _, claims = _segments(token)
    assert "jti" not in claims
    assert claims["appid"] == "x"


def test_rotation_keeps_the_old_key_published(issuer: ChannelIssuer) -> None:
    old = issuer.primary_key.kid
    new = issuer.rotate().kid
    kids = [key["kid"] for key in issuer.jwks()["keys"]]
    assert new != old
    assert {old, new} <= set(kids)
    assert _segments(issuer.mint(SERVICE_URL, APP_ID))[0]["kid"] == new


@pytest.fixture
def authority(keys: ChannelKeys) -> TokenAuthority:
    authority = TokenAuthority(
        app_id=APP_ID,
        app_password="right secret",
        signing_key=keys.token_endpoint,
        client_certificates=[keys.app_certificate],
    )
    authority.base_url = "https://127.0.0.1:5002"
    return authority


def _form(**overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": "right secret",
        "scope": SCOPE,
        "client_info": "1",
    }
    form.update(overrides)
    return form


def test_token_endpoint_issues_a_connector_token(authority: TokenAuthority) -> None:
    answer = authority.handle_token_request("botframework.com", _form())
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 3600
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://api.botframework.com"
    assert claims["appid"] == APP_ID
    assert authority.verify(answer["access_token"]) is None
    assert authority.stats.requests == 1
    assert authority.stats.issued == 1


def test_a_graph_token_is_only_good_for_graph(authority: TokenAuthority) -> None:
    answer = authority.handle_token_request(
        "tenant-1", _form(scope="https://graph.microsoft.com/.default")
    )
    token = answer["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["aud"], claims["tid"]) == ("https://graph.microsoft.com", "tenant-1")
    assert authority.verify(token, "https://graph.microsoft.com") is None
    assert authority.verify(token) is not None  # the Connector refuses it


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        (_form(client_secret="wrong"), 401, "invalid_client"),
        (_form(client_id="someone-else"), 400, "unauthorized_client"),
        (_form(scope="https://vault.azure.net/.default"), 400, "invalid_scope"),
        (_form(grant_type="password"), 400, "unsupported_grant_type"),
        (
            {key: value for key, value in _form().items() if key != "client_secret"},
            401,
            "invalid_client",
        ),
    ],
)
def test_token_endpoint_refuses_like_entra(
    authority: TokenAuthority, form: dict[str, str], status: int, error: str
) -> None:
    with pytest.raises(TokenRequestError) as refused:
        authority.handle_token_request("botframework.com", form)
    assert refused.value.status == status
    assert refused.value.to_json()["error"] == error
    assert authority.stats.rejected == 1
    assert authority.stats.issued == 0


def test_client_assertion_signed_with_the_registered_certificate(
    authority: TokenAuthority, keys: ChannelKeys
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    claims = {
        "aud": authority.token_endpoint(),
        "iss": APP_ID,
        "sub": APP_ID,
        "exp": now + datetime.timedelta(minutes=10),
        "iat": now,
        "jti": "1",
    }
    good = jwt.encode(
        claims,
        keys.app_certificate.private_key,
        algorithm="PS256",
        headers={"x5t#S256": keys.app_certificate.x5t_s256 + "="},
    )
    form = _form(
        client_assertion=good,
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    )
    del form["client_secret"]
    assert "access_token" in authority.handle_token_request("botframework.com", form)

    forged = jwt.encode(
        claims,
        keys.foreign.private_key,
        algorithm="PS256",
        headers={"x5t#S256": keys.app_certificate.x5t_s256},
    )
    with pytest.raises(TokenRequestError) as refused:
        authority.handle_token_request("botframework.com", {**form, "client_assertion": forged})
    assert refused.value.error == "invalid_client"


def test_connector_check_refuses_foreign_expired_and_revoked_tokens(
    authority: TokenAuthority, keys: ChannelKeys
) -> None:
    token = authority.handle_token_request("botframework.com", _form())["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, keys.foreign.private_key, algorithm="RS256")
    assert authority.verify(forged) is not None
    expired = jwt.encode(
        {**claims, "exp": int(datetime.datetime.now(datetime.UTC).timestamp()) - 10},
        keys.token_endpoint.private_key,
        algorithm="RS256",
    )
    assert authority.verify(expired) is not None
    other_audience = jwt.encode(
        {**claims, "aud": "https://graph.microsoft.com"},
        keys.token_endpoint.private_key,
        algorithm="RS256",
    )
    assert authority.verify(other_audience) is not None

    assert authority.revoke_all() == 1
    assert authority.verify(token) == "token revoked"
    fresh = authority.handle_token_request("botframework.com", _form())["access_token"]
    assert authority.verify(fresh) is None
