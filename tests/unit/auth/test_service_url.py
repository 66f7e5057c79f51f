"""The serviceUrl allow-list at the policy level (docs/security-model.md)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.auth.errors import ServiceUrlNotAllowed
from bot.auth.service_url import ServiceUrlPolicy
from bot.settings import DEFAULT_ALLOWED_SERVICE_URLS, SettingsError

DEFAULT = ServiceUrlPolicy(DEFAULT_ALLOWED_SERVICE_URLS)


def refused(policy: ServiceUrlPolicy, url: str) -> ServiceUrlNotAllowed:
    with pytest.raises(ServiceUrlNotAllowed) as caught:
        policy.check(url)
    return caught.value


class TestDefaultList:
    @pytest.mark.parametrize(
        ("url", "base"),
        [
            ("https://smba.trafficmanager.net/teams/", "https://smba.trafficmanager.net/teams"),
            ("https://smba.trafficmanager.net/amer/", "https://smba.trafficmanager.net/amer"),
            (
                "https://smba.trafficmanager.net/amer/72f988bf-86f1-41af-91ab-2d7cd011db47/",
                "https://smba.trafficmanager.net/amer/72f988bf-86f1-41af-91ab-2d7cd011db47",
            ),
            ("https://SMBA.TrafficManager.NET/teams", "https://smba.trafficmanager.net/teams"),
            ("HTTPS://smba.trafficmanager.net", "https://smba.trafficmanager.net"),
            ("https://smba.trafficmanager.net:443/teams/", "https://smba.trafficmanager.net/teams"),
            ("https://webchat.botframework.com/", "https://webchat.botframework.com"),
            (
                "https://europe.directline.botframework.com/",
                "https://europe.directline.botframework.com",
            ),
            (
                "https://smba.infra.gcc.teams.microsoft.com/teams",
                "https://smba.infra.gcc.teams.microsoft.com/teams",
            ),
            ("https://x.botframework.azure.us/", "https://x.botframework.azure.us"),
        ],
    )
    def test_bot_framework_and_teams_hosts_are_allowed(self, url: str, base: str) -> None:
        assert DEFAULT.check(url) == base
        assert DEFAULT.is_allowed(url)

    @pytest.mark.parametrize(
        "url",
        [
            # 16: a foreign host
            "https://evil.example/",
            # 17: plain http
            "http://smba.trafficmanager.net/teams/",
            "ftp://smba.trafficmanager.net/",
            # 18: suffix and userinfo tricks
            "https://smba.trafficmanager.net.evil.com/",
            "https://user@smba.trafficmanager.net@evil.com/",
            "https://user@smba.trafficmanager.net/",
            "https://user:password@smba.trafficmanager.net/",
            "https://evil.com@smba.trafficmanager.net/",
            "https://evilbotframework.com/",
            "https://botframework.com.evil.com/",
            "https://botframework.com/",
            "https://xsmba.trafficmanager.net/",
            "https://sub.smba.trafficmanager.net/",
            # 19: content hosts the Agents SDK default list would accept
            "https://x.blob.core.windows.net/",
            "https://contoso.sharepoint.com/",
            # trailing dots, IDNA, encodings, separators
            "https://smba.trafficmanager.net./teams/",
            "https://webchat.botframework.com./",
            "https://smba\uff0etrafficmanager\uff0enet/",
            "https://smba.trafficmanager.net\u3002/",
            "https://smb\u0430.trafficmanager.net/",
            "https://smba%2etrafficmanager.net/",
            "https://smba.trafficmanager.net\\@evil.com/",
            "https://evil.com\\.smba.trafficmanager.net/",
            "https://smba.trafficmanager.net%00.evil.com/",
            "https:/smba.trafficmanager.net/",
            "https:smba.trafficmanager.net",
            "//smba.trafficmanager.net/",
            "smba.trafficmanager.net",
            " https://smba.trafficmanager.net/",
            "https://smba.trafficmanager.net/\n",
            "https://smba.trafficmanager.net/te ams/",
            # ports
            "https://smba.trafficmanager.net:8443/",
            "https://smba.trafficmanager.net:80/",
            "https://smba.trafficmanager.net:/",
            "https://smba.trafficmanager.net:+443/",
            "https://smba.trafficmanager.net:99999/",
            # query, fragment, odd paths
            "https://smba.trafficmanager.net/teams/?x=1",
            "https://smba.trafficmanager.net/teams/#x",
            "https://smba.trafficmanager.net/teams/?",
            "https://smba.trafficmanager.net/teams/../evil/",
            "https://smba.trafficmanager.net/./teams/",
            "https://smba.trafficmanager.net/teams/%2e%2e/",
            # IP literals and loopback are not on the default list
            "https://127.0.0.1/",
            "https://[::1]/",
            "http://localhost:3978/",
            "",
            "https://",
            "javascript:alert(1)",
        ],
    )
    def test_everything_else_is_refused(self, url: str) -> None:
        refused(DEFAULT, url)
        assert not DEFAULT.is_allowed(url)

    def test_the_message_names_the_host(self) -> None:
        error = refused(DEFAULT, "https://evil.example/teams/")

        assert error.host == "evil.example"
        assert "evil.example" in error.message
        assert error.code == "ServiceUrlNotAllowed"

    def test_userinfo_is_never_echoed(self) -> None:
        error = refused(DEFAULT, "https://eyJtoken:secret@smba.trafficmanager.net/")

        assert "eyJ" not in str(error)
        assert "secret" not in str(error)

    @pytest.mark.parametrize("value", [None, ["https://smba.trafficmanager.net/"], {"a": 1}, 7])
    def test_a_non_string_is_refused(self, value: object) -> None:
        refused(DEFAULT, value)  # type: ignore[arg-type]


class TestEntries:
    def test_a_listed_port_is_the_only_port(self) -> None:
        policy = ServiceUrlPolicy(["https://connector.example.com:8443"])

        assert policy.check("https://connector.example.com:8443/x/") == (
            "https://connector.example.com:8443/x"
        )
        refused(policy, "https://connector.example.com/")
        refused(policy, "https://connector.example.com:443/")
        refused(policy, "https://connector.example.com:8444/")

    def test_a_star_port_matches_any_port(self) -> None:
        policy = ServiceUrlPolicy(["http://127.0.0.1:*", "http://[::1]:*"])

        assert policy.check("http://127.0.0.1:53111/") == "http://127.0.0.1:53111"
        assert policy.check("http://127.0.0.1/") == "http://127.0.0.1"
        assert policy.check("http://[::1]:3978") == "http://[::1]:3978"
        refused(policy, "http://127.0.0.2:53111/")
        refused(policy, "http://localhost:53111/")
        refused(policy, "https://127.0.0.1:53111/")

    def test_a_wildcard_matches_whole_labels_only(self) -> None:
        policy = ServiceUrlPolicy(["https://*.example.com"])

        policy.check("https://a.example.com/")
        policy.check("https://a.b.example.com/")
        refused(policy, "https://example.com/")
        refused(policy, "https://aexample.com/")
        refused(policy, "https://a.example.com.evil/")

    def test_entries_are_case_insensitive_and_may_end_with_a_slash(self) -> None:
        policy = ServiceUrlPolicy([" HTTPS://Connector.Example.COM/ ", ""])

        policy.check("https://connector.example.com/")

    @pytest.mark.parametrize(
        "entry",
        [
            "http://example.com",
            "http://*.example.com",
            "http://10.0.0.1:*",
            "https://*.com",
            "https://*",
            "https://example.com/path",
            "https://user@example.com",
            "https://example.com:abc",
            "https://example.com:70000",
            "example.com",
            "https://exa mple.com",
            "https://b\u00fccher.example",
            "https://example.com.",
        ],
    )
    def test_a_bad_entry_fails_at_start_up_naming_the_setting(self, entry: str) -> None:
        with pytest.raises(SettingsError, match="BOT_ALLOWED_SERVICE_URLS"):
            ServiceUrlPolicy([entry])

    def test_loopback_only_refuses_every_other_host(self) -> None:
        policy = ServiceUrlPolicy(
            ["https://smba.trafficmanager.net", "http://127.0.0.1:*", "http://localhost:*"],
            loopback_only=True,
        )

        assert policy.check("http://127.0.0.1:3978") == "http://127.0.0.1:3978"
        assert policy.check("http://localhost:3978/") == "http://localhost:3978"
        error = refused(policy, "https://smba.trafficmanager.net/teams/")
        assert "BOT_AUTH_DISABLED" in error.message

    def test_loopback_only_still_needs_an_entry(self) -> None:
        policy = ServiceUrlPolicy(DEFAULT_ALLOWED_SERVICE_URLS, loopback_only=True)

        refused(policy, "http://127.0.0.1:3978/")


@given(st.text(max_size=80))
def test_whatever_passes_is_a_listed_https_host(url: str) -> None:
    try:
        base = DEFAULT.check(url)
    except ServiceUrlNotAllowed:
        return
    parts = urlsplit(base)
    assert parts.scheme == "https"
    assert parts.port is None
    assert parts.username is None
    host = parts.hostname or ""
    assert host in {
        "smba.trafficmanager.net",
        "smba.infra.gcc.teams.microsoft.com",
        "smba.infra.gov.teams.microsoft.us",
        "smba.infra.dod.teams.microsoft.us",
    } or host.endswith((".botframework.com", ".botframework.azure.us"))


@given(
    prefix=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.@:/\\%", max_size=20),
    suffix=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.@:/\\%?#", max_size=20),
)
def test_tricks_around_an_allowed_host_never_reach_another_host(prefix: str, suffix: str) -> None:
    url = f"https://{prefix}smba.trafficmanager.net{suffix}"
    try:
        base = DEFAULT.check(url)
    except ServiceUrlNotAllowed:
        return
    host = urlsplit(base).hostname or ""
    assert host == "smba.trafficmanager.net" or host.endswith(".botframework.com")
