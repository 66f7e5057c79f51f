"""Entra ID validation of the send API's callers (docs/security-model.md T12, "Who may call")."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.auth.api_callers import (
    ANONYMOUS_CALLER,
    ApiAction,
    ApiCallerAuthenticator,
    ApiCallerSettings,
    is_app_only,
)
from bot.auth.errors import AuthenticationError
from bot.auth.signing_keys import SigningKeyStore
from bot.settings import SettingsError
from tests.unit.auth.jwt_minting import MintingKey, jwks, sign, unsigned_token

TENANT = "11111111-2222-3333-4444-555555555555"
AUDIENCE = "api://proactive-bot"
CLIENT = "99999999-0000-0000-0000-000000000001"
METADATA_URL = f"https://login.test/{TENANT}/v2.0/.well-known/openid-configuration"
JWKS_URL = f"https://login.test/{TENANT}/discovery/v2.0/keys"
ENTRA_KEY = MintingKey("entra-api", "entra-api-kid", endorsements=[])
OTHER_KEY = MintingKey("attacker-api", "entra-api-kid", endorsements=[])

SETTINGS = ApiCallerSettings.from_values(
    {
        "PROACTIVE_API_AUDIENCE": f"{AUDIENCE}, 00000000-0000-0000-0000-0000000000aa",
        "PROACTIVE_API_TENANT_ID": TENANT,
        "PROACTIVE_API_OPENID_METADATA_URL": METADATA_URL,
    }
)


async def fetch(url: str) -> Any:
    documents = {METADATA_URL: {"jwks_uri": JWKS_URL}, JWKS_URL: jwks(ENTRA_KEY)}
    return documents[url]


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
        "aud": AUDIENCE,
        "tid": TENANT,
        "azp": CLIENT,
        "ver": "2.0",
        "idtyp": "app",
        "roles": ["Proactive.Send"],
        "nbf": now - 60,
        "exp": now + 3600,
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def authenticator(settings: ApiCallerSettings = SETTINGS) -> ApiCallerAuthenticator:
    return ApiCallerAuthenticator(settings, SigningKeyStore(settings.openid_metadata_url, fetch))


async def status_of(
    header: str | None,
    settings: ApiCallerSettings = SETTINGS,
    action: ApiAction = ApiAction.SEND,
) -> int:
    try:
        await authenticator(settings).authenticate(header, action)
    except AuthenticationError as error:
        return error.status
    return 200


async def test_a_valid_token_with_the_role_is_accepted() -> None:
    caller = await authenticator().authenticate("Bearer " + sign(claims(), ENTRA_KEY))
    assert caller.authenticated
    assert caller.client_id == CLIENT


async def test_a_v1_token_for_the_client_id_audience_is_accepted() -> None:
    token = sign(
        claims(
            iss=f"https://sts.windows.net/{TENANT}/",
            aud="00000000-0000-0000-0000-0000000000aa",
            ver="1.0",
            idtyp=None,
            azp=None,
            appid=CLIENT,
        ),
        ENTRA_KEY,
    )
    assert (await authenticator().authenticate("Bearer " + token)).client_id == CLIENT


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("", 401),
        ("Bearer", 401),
        ("Basic eHl6", 401),
        ("Bearer not-a-jwt", 401),
        ("Bearer " + sign(claims(aud="api://another-api"), ENTRA_KEY), 401),
        ("Bearer " + sign(claims(aud=[AUDIENCE]), ENTRA_KEY), 401),
        (
            "Bearer " + sign(claims(iss="https://login.microsoftonline.com/other/v2.0"), ENTRA_KEY),
            401,
        ),
        ("Bearer " + sign(claims(tid="another-tenant"), ENTRA_KEY), 401),
        ("Bearer " + sign(claims(exp=int(time.time()) - 600), ENTRA_KEY), 401),
        ("Bearer " + sign(claims(exp=None), ENTRA_KEY), 401),
        # Made at collection, maybe minutes before the test runs: far beyond the 5 min skew.
        ("Bearer " + sign(claims(nbf=int(time.time()) + 7200), ENTRA_KEY), 401),
        ("Bearer " + sign(claims(), OTHER_KEY), 401),
        ("Bearer " + sign(claims(), ENTRA_KEY, kid="unknown-kid"), 401),
        ("Bearer " + unsigned_token(claims(), ENTRA_KEY.kid), 401),
        ("Bearer " + sign(claims(roles=None), ENTRA_KEY), 403),
        ("Bearer " + sign(claims(roles=["Proactive.Read"]), ENTRA_KEY), 403),
        ("Bearer " + sign(claims(roles="Proactive.Send"), ENTRA_KEY), 403),
    ],
)
async def test_bad_tokens(header: str | None, status: int) -> None:
    assert await status_of(header) == status


def settings_with(**values: str) -> ApiCallerSettings:
    """The test settings with more ``PROACTIVE_API_*`` values (by setting name)."""
    return ApiCallerSettings.from_values(
        {
            "PROACTIVE_API_AUDIENCE": AUDIENCE,
            "PROACTIVE_API_TENANT_ID": TENANT,
            "PROACTIVE_API_OPENID_METADATA_URL": METADATA_URL,
            **values,
        }
    )


async def test_a_client_not_on_the_allow_list_is_forbidden() -> None:
    settings = settings_with(PROACTIVE_API_ALLOWED_CLIENT_IDS="some-other-client")
    assert await status_of("Bearer " + sign(claims(), ENTRA_KEY), settings) == 403


async def test_unavailable_keys_are_a_503() -> None:
    async def down(url: str) -> Any:
        raise OSError("unreachable")

    broken = ApiCallerAuthenticator(SETTINGS, SigningKeyStore(METADATA_URL, down))
    with pytest.raises(AuthenticationError) as caught:
        await broken.authenticate("Bearer " + sign(claims(), ENTRA_KEY))
    assert caught.value.status == 503


async def test_without_an_audience_validation_is_off() -> None:
    off = ApiCallerAuthenticator(ApiCallerSettings.from_values({}), None)
    assert await off.authenticate(None) is ANONYMOUS_CALLER


def test_defaults_follow_the_tenant() -> None:
    settings = ApiCallerSettings.from_values(
        {"PROACTIVE_API_AUDIENCE": AUDIENCE, "PROACTIVE_API_TENANT_ID": TENANT}
    )
    assert settings.role == "Proactive.Send"
    assert settings.openid_metadata_url == (
        f"https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration"
    )
    assert settings.issuers == (
        f"https://login.microsoftonline.com/{TENANT}/v2.0",
        f"https://sts.windows.net/{TENANT}/",
    )


def test_an_audience_without_a_tenant_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="PROACTIVE_API_TENANT_ID"):
        ApiCallerSettings.from_values({"PROACTIVE_API_AUDIENCE": AUDIENCE})


@pytest.mark.parametrize(
    ("overrides", "app_only"),
    [
        ({"idtyp": "app"}, True),
        ({"idtyp": "user"}, False),
        ({"idtyp": "user", "scp": "Send"}, False),
        ({"idtyp": "app", "scp": "Send"}, False),
        ({"idtyp": None, "ver": "1.0"}, True),
        ({"idtyp": None, "ver": "1.0", "scp": "user_impersonation"}, False),
        # A v2 token that does not say (no idtyp optional claim): treated as delegated.
        ({"idtyp": None, "ver": "2.0"}, False),
    ],
)
def test_app_only_tokens(overrides: dict[str, Any], app_only: bool) -> None:
    assert is_app_only(claims(**overrides)) is app_only


async def test_a_delegated_token_is_forbidden_even_with_the_role() -> None:
    delegated = sign(claims(idtyp="user", scp="Send", oid="user-1"), ENTRA_KEY)
    with pytest.raises(AuthenticationError) as caught:
        await authenticator().authenticate("Bearer " + delegated)
    assert (caught.value.status, caught.value.code) == (403, "DelegatedTokenNotAllowed")


async def test_delegated_tokens_pass_where_a_setting_allows_them() -> None:
    settings = settings_with(PROACTIVE_API_ALLOW_DELEGATED="true")
    delegated = "Bearer " + sign(claims(idtyp="user", scp="Send"), ENTRA_KEY)
    assert await status_of(delegated, settings) == 200
    # Still with the action's role only.
    assert await status_of(delegated, settings, ApiAction.SCHEDULES) == 403


@pytest.mark.parametrize(
    ("action", "role"),
    [
        (ApiAction.SEND, "Proactive.Send"),
        (ApiAction.SCHEDULES, "Proactive.Schedules"),
        (ApiAction.READ, "Proactive.Read"),
    ],
)
async def test_each_action_needs_its_own_role(action: ApiAction, role: str) -> None:
    others = [name for name in ("Proactive.Send", "Proactive.Schedules", "Proactive.Read")]
    others.remove(role)
    assert await status_of("Bearer " + sign(claims(roles=[role]), ENTRA_KEY), action=action) == 200
    wrong = "Bearer " + sign(claims(roles=others), ENTRA_KEY)
    assert await status_of(wrong, action=action) == 403


def test_the_roles_can_be_renamed() -> None:
    settings = settings_with(
        PROACTIVE_API_SCHEDULE_ROLE="Bot.Schedules", PROACTIVE_API_READ_ROLE="Bot.Read"
    )
    assert settings.role_of(ApiAction.SCHEDULES) == "Bot.Schedules"
    assert settings.role_of(ApiAction.READ) == "Bot.Read"
    assert settings.role_of(ApiAction.SEND) == "Proactive.Send"
    assert settings.allow_delegated is False
