"""ClaimsIdentity: the claims of the request as the turn sees them."""

from __future__ import annotations

import pytest

from bot.turn import ClaimsIdentity


class TestClaimsIdentity:
    def test_v1_tokens_name_the_caller_in_appid(self) -> None:
        identity = ClaimsIdentity({"ver": "1.0", "appid": "caller", "azp": "other"}, True)
        assert identity.app_id == "caller"

    def test_v2_tokens_name_the_caller_in_azp(self) -> None:
        identity = ClaimsIdentity({"ver": "2.0", "appid": "other", "azp": "caller"}, True)
        assert identity.app_id == "caller"

    def test_channel_token_claims(self) -> None:
        identity = ClaimsIdentity(
            {
                "aud": "bot-app",
                "iss": "https://api.botframework.com",
                "serviceurl": "https://smba.trafficmanager.net/emea/",
                "tid": "tenant-1",
            },
            is_authenticated=True,
            authentication_type="channel",
        )
        assert identity.audience == "bot-app"
        assert identity.service_url == "https://smba.trafficmanager.net/emea/"
        assert identity.tenant_id == "tenant-1"
        assert identity.app_id is None

    def test_non_string_claims_read_as_absent(self) -> None:
        identity = ClaimsIdentity({"aud": ["a", "b"], "exp": 123})
        assert identity.audience is None
        assert identity.get("exp") is None
        assert identity.claims["exp"] == 123

    def test_for_bot_and_anonymous(self) -> None:
        bot = ClaimsIdentity.for_bot("bot-app")
        assert (bot.audience, bot.app_id, bot.is_authenticated) == ("bot-app", "bot-app", True)
        anonymous = ClaimsIdentity.anonymous()
        assert not anonymous.is_authenticated
        assert anonymous.claims == {}

    def test_claims_cannot_change_under_the_turn(self) -> None:
        source = {"aud": "bot-app"}
        identity = ClaimsIdentity(source, True)
        source["aud"] = "changed"
        assert identity.audience == "bot-app"
        with pytest.raises(TypeError):
            identity.claims["aud"] = "x"  # type: ignore[index]
