"""Inbound Bot Framework token validation (docs/security-model.md, "Inbound")."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.auth.errors import AuthenticationError
from bot.auth.inbound import ANONYMOUS, InboundAuthenticator, InboundIdentity, _emulator_issuers
from bot.auth.service_url import ServiceUrlPolicy
from bot.auth.signing_keys import SigningKeyStore
from tests.unit.auth.jwt_minting import (
    APP_ID,
    BOTFRAMEWORK_TENANT,
    CHANNEL_ISSUER,
    EMULATOR_JWKS_URL,
    EMULATOR_METADATA_URL,
    JWKS_URL,
    METADATA_URL,
    SERVICE_URL,
    MintingKey,
    channel_claims,
    encode_segment,
    hmac_token,
    jwks,
    sign,
    sign_raw,
    unsigned_token,
    with_header,
)

CHANNEL_KEY = MintingKey("channel", "channel-kid-1")
ROTATED_KEY = MintingKey("rotated", "channel-kid-2")
ATTACKER_KEY = MintingKey("attacker", "channel-kid-1")
ENTRA_KEY = MintingKey("entra", "entra-kid", endorsements=[])
ALLOWED = ("https://smba.trafficmanager.net", "https://*.botframework.com", "http://localhost:*")


_JSON_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.lists(st.integers())
)
_HEADERS = st.fixed_dictionaries(
    {"alg": st.sampled_from(["RS256", "none", "HS256", "RS512"]) | _JSON_VALUES},
    optional={"kid": st.sampled_from([CHANNEL_KEY.kid, "x"]) | _JSON_VALUES, "typ": _JSON_VALUES},
)
_CLAIMS = st.fixed_dictionaries(
    {},
    optional={
        "iss": st.sampled_from([CHANNEL_ISSUER, f"https://sts.windows.net/{BOTFRAMEWORK_TENANT}/"])
        | _JSON_VALUES,
        "aud": st.just(APP_ID) | _JSON_VALUES,
        "exp": _JSON_VALUES,
        "nbf": _JSON_VALUES,
        "serviceurl": _JSON_VALUES,
    },
)
JWT_SHAPED = st.builds(
    lambda header, claims, signature: ".".join(
        [encode_segment(header), encode_segment(claims), signature]
    ),
    _HEADERS,
    _CLAIMS,
    st.text(alphabet="ABCDEFGHIJabcdefghij0123456789-_", max_size=40),
)
"""Tokens with well-formed base64url JSON segments and arbitrary contents."""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Documents:
    """An injected fetcher serving metadata and JWKS documents, counting requests."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {
            METADATA_URL: {"issuer": CHANNEL_ISSUER, "jwks_uri": JWKS_URL},
            JWKS_URL: jwks(CHANNEL_KEY),
            EMULATOR_METADATA_URL: {"jwks_uri": EMULATOR_JWKS_URL},
            EMULATOR_JWKS_URL: jwks(ENTRA_KEY),
        }
        self.requests: list[str] = []
        self.fail = False

    async def fetch(self, url: str) -> Any:
        self.requests.append(url)
        await asyncio.sleep(0)  # let concurrent callers pile up, as a real fetch would
        if self.fail:
            raise OSError("unreachable")
        return self.documents[url]


@pytest.fixture
def documents() -> Documents:
    return Documents()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_authenticator(
    documents: Documents, clock: FakeClock
) -> Callable[..., InboundAuthenticator]:
    def make(*, emulator: bool = False, auth_disabled: bool = False) -> InboundAuthenticator:
        return InboundAuthenticator(
            app_id=APP_ID,
            channel_keys=SigningKeyStore(METADATA_URL, documents.fetch, clock=clock),
            channel_issuer=CHANNEL_ISSUER,
            service_urls=ServiceUrlPolicy(ALLOWED, loopback_only=auth_disabled),
            emulator_keys=SigningKeyStore(EMULATOR_METADATA_URL, documents.fetch, clock=clock)
            if emulator
            else None,
            emulator_issuers=_emulator_issuers((BOTFRAMEWORK_TENANT,)),
            auth_disabled=auth_disabled,
        )

    return make


@pytest.fixture
def authenticator(make_authenticator: Callable[..., InboundAuthenticator]) -> InboundAuthenticator:
    return make_authenticator()


async def rejected(
    authenticator: InboundAuthenticator, header: str | None, status: int = 401
) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        await authenticator.authenticate(header)
    assert caught.value.status == status
    return caught.value


def bearer(token: str) -> str:
    return f"Bearer {token}"


class TestValidToken:
    async def test_a_valid_channel_token_is_accepted(
        self, authenticator: InboundAuthenticator
    ) -> None:
        identity = await authenticator.authenticate(bearer(sign(channel_claims(), CHANNEL_KEY)))

        assert identity.kind == "channel"
        assert identity.is_authenticated
        assert identity.claims["aud"] == APP_ID
        assert identity.endorsements == {"msteams", "webchat"}
        authenticator.check_activity(identity, channel_id="msteams", service_url=SERVICE_URL)

    async def test_the_scheme_is_case_insensitive(
        self, authenticator: InboundAuthenticator
    ) -> None:
        token = sign(channel_claims(), CHANNEL_KEY)

        identity = await authenticator.authenticate(f"bearer {token}")

        assert identity.kind == "channel"

    async def test_stored_claims_keep_only_the_listed_names(
        self, authenticator: InboundAuthenticator
    ) -> None:
        claims = channel_claims(appid="bf-app", ver="1.0", tid="tenant", email="a@b.c")
        identity = await authenticator.authenticate(bearer(sign(claims, CHANNEL_KEY)))

        assert identity.stored_claims() == {
            "aud": APP_ID,
            "appid": "bf-app",
            "ver": "1.0",
            "iss": CHANNEL_ISSUER,
            "tid": "tenant",
        }


class TestHeader:
    """Checklist 1 and 2."""

    @pytest.mark.parametrize("header", [None, "", "   "])
    async def test_no_token_is_401(
        self, authenticator: InboundAuthenticator, header: str | None
    ) -> None:
        error = await rejected(authenticator, header)

        assert error.code == "MissingToken"

    @pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer    "])
    async def test_bearer_without_a_token_is_401(
        self, authenticator: InboundAuthenticator, header: str
    ) -> None:
        error = await rejected(authenticator, header)

        assert error.code == "MissingToken"

    @pytest.mark.parametrize("header", ["Basic xyz", "Digest abc", "Token a.b.c", "a.b.c"])
    async def test_another_scheme_is_401(
        self, authenticator: InboundAuthenticator, header: str
    ) -> None:
        error = await rejected(authenticator, header)

        assert error.code == "InvalidAuthorizationScheme"

    @pytest.mark.parametrize(
        "token", ["abc", "a.b", "a.b.c.d", "not a jwt", "x" * 20000, "....", "a.b.c"]
    )
    async def test_a_malformed_token_is_401(
        self, authenticator: InboundAuthenticator, token: str
    ) -> None:
        await rejected(authenticator, bearer(token))

    @settings(
        max_examples=200,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        header=st.one_of(
            st.none(),
            st.text(max_size=300),
            st.text(max_size=300).map(bearer),
            JWT_SHAPED.map(bearer),
        )
    )
    async def test_any_header_gives_a_4xx_never_another_exception(
        self, make_authenticator: Callable[..., InboundAuthenticator], header: str | None
    ) -> None:
        for authenticator in (make_authenticator(), make_authenticator(emulator=True)):
            with pytest.raises(AuthenticationError) as caught:
                await authenticator.authenticate(header)
            assert caught.value.status == 401


class TestSignature:
    """Checklist 3, 4 and 5."""

    async def test_alg_none_is_401(self, authenticator: InboundAuthenticator) -> None:
        token = unsigned_token(channel_claims(), CHANNEL_KEY.kid)

        error = await rejected(authenticator, bearer(token))

        assert error.code == "UnsupportedAlgorithm"

    async def test_hs256_signed_with_the_public_key_is_401(
        self, authenticator: InboundAuthenticator
    ) -> None:
        token = hmac_token(channel_claims(), CHANNEL_KEY.public_pem(), CHANNEL_KEY.kid)

        error = await rejected(authenticator, bearer(token))

        assert error.code == "UnsupportedAlgorithm"

    @pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "ES256"])
    async def test_other_asymmetric_algorithms_are_401(
        self, authenticator: InboundAuthenticator, alg: str
    ) -> None:
        # The real payload and signature under a header claiming another algorithm.
        token = with_header(sign(channel_claims(), CHANNEL_KEY), alg=alg, kid=CHANNEL_KEY.kid)

        error = await rejected(authenticator, bearer(token))

        assert error.code == "UnsupportedAlgorithm"

    async def test_an_attacker_key_with_a_real_kid_is_401(
        self, authenticator: InboundAuthenticator
    ) -> None:
        token = sign(channel_claims(), ATTACKER_KEY)

        error = await rejected(authenticator, bearer(token))

        assert error.code == "InvalidSignature"

    async def test_a_tampered_payload_is_401(self, authenticator: InboundAuthenticator) -> None:
        good = sign(channel_claims(), CHANNEL_KEY)
        other = sign(channel_claims(aud="someone-else"), CHANNEL_KEY)
        header, _, signature = good.split(".")
        payload = other.split(".")[1]

        error = await rejected(authenticator, bearer(f"{header}.{payload}.{signature}"))

        assert error.code == "InvalidSignature"


class TestSigningKeys:
    """Checklist 6: unknown kid, and the refetch limit."""

    async def test_unknown_kid_is_401_and_refetches_at_most_once_per_window(
        self, authenticator: InboundAuthenticator, documents: Documents, clock: FakeClock
    ) -> None:
        await authenticator.authenticate(bearer(sign(channel_claims(), CHANNEL_KEY)))
        assert documents.requests == [METADATA_URL, JWKS_URL]

        for _ in range(5):
            clock.now += 10
            error = await rejected(
                authenticator, bearer(sign(channel_claims(), CHANNEL_KEY, kid="unknown"))
            )
            assert error.code == "UnknownSigningKey"

        assert documents.requests == [METADATA_URL, JWKS_URL]

        clock.now += 300
        await rejected(authenticator, bearer(sign(channel_claims(), CHANNEL_KEY, kid="unknown")))
        await rejected(authenticator, bearer(sign(channel_claims(), CHANNEL_KEY, kid="unknown")))

        assert documents.requests == [METADATA_URL, JWKS_URL] * 2

    async def test_a_rotated_key_is_picked_up_on_its_first_use(
        self, authenticator: InboundAuthenticator, documents: Documents, clock: FakeClock
    ) -> None:
        await authenticator.authenticate(bearer(sign(channel_claims(), CHANNEL_KEY)))
        documents.documents[JWKS_URL] = jwks(CHANNEL_KEY, ROTATED_KEY)
        clock.now += 301

        identity = await authenticator.authenticate(bearer(sign(channel_claims(), ROTATED_KEY)))

        assert identity.kind == "channel"

    async def test_concurrent_first_requests_share_one_fetch(
        self, authenticator: InboundAuthenticator, documents: Documents
    ) -> None:
        token = bearer(sign(channel_claims(), CHANNEL_KEY))

        identities = await asyncio.gather(*(authenticator.authenticate(token) for _ in range(20)))

        assert all(identity.kind == "channel" for identity in identities)
        assert documents.requests == [METADATA_URL, JWKS_URL]

    async def test_concurrent_unknown_kids_share_one_refetch(
        self, authenticator: InboundAuthenticator, documents: Documents, clock: FakeClock
    ) -> None:
        await authenticator.authenticate(bearer(sign(channel_claims(), CHANNEL_KEY)))
        clock.now += 301
        token = bearer(sign(channel_claims(), CHANNEL_KEY, kid="unknown"))

        results = await asyncio.gather(
            *(authenticator.authenticate(token) for _ in range(20)), return_exceptions=True
        )

        assert all(isinstance(result, AuthenticationError) for result in results)
        assert documents.requests == [METADATA_URL, JWKS_URL] * 2

    async def test_unreachable_keys_are_503_not_500(
        self, authenticator: InboundAuthenticator, documents: Documents
    ) -> None:
        documents.fail = True

        error = await rejected(authenticator, bearer(sign(channel_claims(), CHANNEL_KEY)), 503)

        assert error.code == "SigningKeysUnavailable"


class TestLifetime:
    """Checklist 7 and 8."""

    async def test_expired_six_minutes_ago_is_401(
        self, authenticator: InboundAuthenticator
    ) -> None:
        now = int(time.time())
        token = sign(channel_claims(exp=now - 360, nbf=now - 3600), CHANNEL_KEY)

        error = await rejected(authenticator, bearer(token))

        assert error.code == "TokenExpired"

    async def test_expired_four_minutes_ago_is_accepted(
        self, authenticator: InboundAuthenticator
    ) -> None:
        now = int(time.time())
        token = sign(channel_claims(exp=now - 240, nbf=now - 3600), CHANNEL_KEY)

        identity = await authenticator.authenticate(bearer(token))

        assert identity.kind == "channel"

    async def test_not_before_ten_minutes_ahead_is_401(
        self, authenticator: InboundAuthenticator
    ) -> None:
        now = int(time.time())
        token = sign(channel_claims(nbf=now + 600, exp=now + 3600), CHANNEL_KEY)

        error = await rejected(authenticator, bearer(token))

        assert error.code == "TokenNotYetValid"

    async def test_not_before_four_minutes_ahead_is_accepted(
        self, authenticator: InboundAuthenticator
    ) -> None:
        now = int(time.time())
        token = sign(channel_claims(nbf=now + 240, exp=now + 3600), CHANNEL_KEY)

        identity = await authenticator.authenticate(bearer(token))

        assert identity.kind == "channel"

    async def test_a_token_without_exp_is_401(self, authenticator: InboundAuthenticator) -> None:
        token = sign(channel_claims(exp=None), CHANNEL_KEY)

        error = await rejected(authenticator, bearer(token))

        assert error.code == "InvalidToken"


class TestIssuerAndAudience:
    """Checklist 9 and 10."""

    async def test_an_entra_issuer_on_the_channel_path_is_401(
        self, authenticator: InboundAuthenticator
    ) -> None:
        claims = channel_claims(iss=f"https://sts.windows.net/{BOTFRAMEWORK_TENANT}/")

        error = await rejected(authenticator, bearer(sign(claims, CHANNEL_KEY)))

        assert error.code == "InvalidIssuer"

    @pytest.mark.parametrize(
        "issuer", ["https://api.botframework.com/", "https://API.botframework.com", "evil", ""]
    )
    async def test_a_near_miss_issuer_is_401(
        self, authenticator: InboundAuthenticator, issuer: str
    ) -> None:
        error = await rejected(authenticator, bearer(sign(channel_claims(iss=issuer), CHANNEL_KEY)))

        assert error.code == "InvalidIssuer"

    async def test_another_audience_is_401(self, authenticator: InboundAuthenticator) -> None:
        token = sign(channel_claims(aud="11111111-2222-3333-4444-555555555555"), CHANNEL_KEY)

        error = await rejected(authenticator, bearer(token))

        assert error.code == "InvalidAudience"

    @pytest.mark.parametrize("audience", [[APP_ID], [APP_ID, "other"], None])
    async def test_an_array_or_missing_audience_is_401(
        self, authenticator: InboundAuthenticator, audience: Any
    ) -> None:
        token = sign(channel_claims(aud=audience), CHANNEL_KEY)

        error = await rejected(authenticator, bearer(token))

        assert error.code == "InvalidAudience"

    async def test_a_channel_token_without_a_serviceurl_claim_is_401(
        self, authenticator: InboundAuthenticator
    ) -> None:
        token = sign(channel_claims(serviceurl=None), CHANNEL_KEY)

        error = await rejected(authenticator, bearer(token))

        assert error.code == "MissingServiceUrlClaim"


class TestActivityAgainstToken:
    """Checklist 11 and 12, and the allow-list."""

    async def identity(self, authenticator: InboundAuthenticator, **claims: Any) -> InboundIdentity:
        return await authenticator.authenticate(bearer(sign(channel_claims(**claims), CHANNEL_KEY)))

    @pytest.mark.parametrize(
        "service_url",
        [
            "https://smba.trafficmanager.net/teams",
            "https://smba.trafficmanager.net/amer/",
            "https://SMBA.trafficmanager.net/teams/",
            "https://webchat.botframework.com/",
        ],
    )
    async def test_a_serviceurl_differing_from_the_claim_is_403(
        self, authenticator: InboundAuthenticator, service_url: str
    ) -> None:
        identity = await self.identity(authenticator)

        with pytest.raises(AuthenticationError) as caught:
            authenticator.check_activity(identity, channel_id="msteams", service_url=service_url)

        assert (caught.value.status, caught.value.code) == (403, "ServiceUrlMismatch")

    async def test_a_channel_missing_from_the_endorsements_is_403(
        self, authenticator: InboundAuthenticator
    ) -> None:
        identity = await self.identity(authenticator)

        with pytest.raises(AuthenticationError) as caught:
            authenticator.check_activity(identity, channel_id="slack", service_url=SERVICE_URL)

        assert (caught.value.status, caught.value.code) == (403, "ChannelNotEndorsed")

    async def test_a_key_without_msteams_endorsement_is_403_for_msteams(
        self, authenticator: InboundAuthenticator, documents: Documents
    ) -> None:
        webchat_only = MintingKey("channel", "webchat-only", endorsements=["webchat"])
        documents.documents[JWKS_URL] = jwks(webchat_only)
        identity = await authenticator.authenticate(bearer(sign(channel_claims(), webchat_only)))

        with pytest.raises(AuthenticationError) as caught:
            authenticator.check_activity(identity, channel_id="msteams", service_url=SERVICE_URL)

        assert (caught.value.status, caught.value.code) == (403, "ChannelNotEndorsed")

    @pytest.mark.parametrize("channel_id", [None, "", "  "])
    async def test_an_empty_channel_id_is_400(
        self, authenticator: InboundAuthenticator, channel_id: str | None
    ) -> None:
        identity = await self.identity(authenticator)

        with pytest.raises(AuthenticationError) as caught:
            authenticator.check_activity(identity, channel_id=channel_id, service_url=SERVICE_URL)

        assert (caught.value.status, caught.value.code) == (400, "MissingChannelId")

    async def test_a_serviceurl_outside_the_allow_list_is_403_even_when_signed(
        self, authenticator: InboundAuthenticator
    ) -> None:
        evil = "https://evil.example/"
        identity = await self.identity(authenticator, serviceurl=evil)

        with pytest.raises(AuthenticationError) as caught:
            authenticator.check_activity(identity, channel_id="msteams", service_url=evil)

        assert (caught.value.status, caught.value.code) == (403, "ServiceUrlNotAllowed")


class TestEmulator:
    def emulator_claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "aud": APP_ID,
            "iss": f"https://sts.windows.net/{BOTFRAMEWORK_TENANT}/",
            "appid": APP_ID,
            "ver": "1.0",
            "nbf": now - 60,
            "exp": now + 3600,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    async def test_emulator_tokens_are_refused_unless_enabled(
        self, authenticator: InboundAuthenticator
    ) -> None:
        error = await rejected(authenticator, bearer(sign(self.emulator_claims(), ENTRA_KEY)))

        assert error.code == "InvalidIssuer"

    @pytest.mark.parametrize(
        "overrides",
        [
            {},
            {
                "ver": "2.0",
                "appid": None,
                "azp": APP_ID,
                "iss": f"https://login.microsoftonline.com/{BOTFRAMEWORK_TENANT}/v2.0",
            },
        ],
    )
    async def test_v1_and_v2_emulator_tokens_are_accepted_when_enabled(
        self, make_authenticator: Callable[..., InboundAuthenticator], overrides: dict[str, Any]
    ) -> None:
        authenticator = make_authenticator(emulator=True)

        identity = await authenticator.authenticate(
            bearer(sign(self.emulator_claims(**overrides), ENTRA_KEY))
        )

        assert identity.kind == "emulator"
        authenticator.check_activity(
            identity, channel_id="emulator", service_url="http://localhost:5000"
        )

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"appid": "another-app"}, "InvalidClient"),
            ({"ver": None}, "InvalidClient"),
            ({"ver": "2.0"}, "InvalidClient"),
            ({"aud": "another-app"}, "InvalidAudience"),
            ({"iss": "https://sts.windows.net/another-tenant/"}, "InvalidIssuer"),
        ],
    )
    async def test_emulator_tokens_for_someone_else_are_401(
        self,
        make_authenticator: Callable[..., InboundAuthenticator],
        overrides: dict[str, Any],
        code: str,
    ) -> None:
        authenticator = make_authenticator(emulator=True)

        error = await rejected(
            authenticator, bearer(sign(self.emulator_claims(**overrides), ENTRA_KEY))
        )

        assert error.code == code

    @pytest.mark.parametrize("issuer", [["https://api.botframework.com"], {"a": 1}, 7, None])
    async def test_a_non_string_issuer_is_401(
        self, make_authenticator: Callable[..., InboundAuthenticator], issuer: Any
    ) -> None:
        authenticator = make_authenticator(emulator=True)

        error = await rejected(
            authenticator, bearer(sign_raw(self.emulator_claims(iss=issuer), ENTRA_KEY))
        )

        assert error.code == "InvalidIssuer"

    async def test_a_channel_key_cannot_sign_an_emulator_token(
        self, make_authenticator: Callable[..., InboundAuthenticator]
    ) -> None:
        authenticator = make_authenticator(emulator=True)

        error = await rejected(
            authenticator, bearer(sign(self.emulator_claims(), CHANNEL_KEY, kid=ENTRA_KEY.kid))
        )

        assert error.code == "InvalidSignature"


class TestAuthDisabled:
    async def test_any_header_gives_the_anonymous_identity(
        self, make_authenticator: Callable[..., InboundAuthenticator], documents: Documents
    ) -> None:
        authenticator = make_authenticator(auth_disabled=True)

        assert await authenticator.authenticate(None) is ANONYMOUS
        assert await authenticator.authenticate("Basic x") is ANONYMOUS
        assert documents.requests == []

    async def test_only_loopback_service_urls_pass(
        self, make_authenticator: Callable[..., InboundAuthenticator]
    ) -> None:
        authenticator = make_authenticator(auth_disabled=True)

        authenticator.check_activity(
            ANONYMOUS, channel_id="emulator", service_url="http://localhost:3978/"
        )
        with pytest.raises(AuthenticationError) as caught:
            authenticator.check_activity(ANONYMOUS, channel_id="msteams", service_url=SERVICE_URL)
        assert (caught.value.status, caught.value.code) == (403, "ServiceUrlNotAllowed")


async def test_no_token_reaches_the_log(
    authenticator: InboundAuthenticator, caplog: pytest.LogCaptureFixture, documents: Documents
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = [
        sign(channel_claims(), ATTACKER_KEY),
        sign(channel_claims(exp=int(time.time()) - 3600), CHANNEL_KEY),
        unsigned_token(channel_claims(), CHANNEL_KEY.kid),
        sign(channel_claims(aud=[APP_ID]), CHANNEL_KEY),
    ]
    for token in tokens:
        with pytest.raises(AuthenticationError) as caught:
            await authenticator.authenticate(bearer(token))
        assert token not in str(caught.value)
    documents.fail = True

    text = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert "eyJ" not in text
