"""Start-up rules, then no token or secret in any log (docs/security-model.md T11).

The start-up cases run their own ``python -m dev.host`` on a free port with the session's
services and channel settings, so the session host is never disturbed. Those hosts get a
queue of their own and a yearly timer, so they cannot take work meant for the session host.

The log check comes last in this module, the last of the security modules, and first
exercises failures of its own, so it holds whatever else ran before it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from dev.channel import ChannelControl, TokenDefect
from dev.stack import HostProcess, LocalStack
from tests.e2e.security_tokens import (
    assert_error,
    attacker_token,
    bearer,
    encode,
    get_json,
    message_activity,
    new_conversation_id,
    post_to_bot,
    unsigned_token,
    unverified_parts,
)
from tests.e2e.side_hosts import STARTUP_LOG_FOLDER, refused_start, side_host

pytestmark = pytest.mark.e2e

NON_LOOPBACK_SERVICE_URL = "https://smba.trafficmanager.net/teams/"
BEARER_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]{4,}")
"""A base64url JSON object: the start of every JWT (``{"`` encodes as ``eyJ``)."""


@pytest.mark.parametrize("app_id", ["", None], ids=["empty", "absent"])
def test_without_an_app_id_a_host_with_auth_on_does_not_start(
    e2e_stack: LocalStack, app_id: str | None
) -> None:
    output = refused_start(
        e2e_stack, "no-app-id", {"MicrosoftAppId": app_id, "BOT_AUTH_DISABLED": "false"}
    )

    assert "MicrosoftAppId" in output
    assert e2e_stack.host_environment["MicrosoftAppPassword"] not in output


AZURE_REFUSALS = {
    "auth-disabled": ({"BOT_AUTH_DISABLED": "true"}, "BOT_AUTH_DISABLED"),
    "loopback-service-url": (
        {"BOT_ALLOWED_SERVICE_URLS": "https://smba.trafficmanager.net,http://127.0.0.1:*"},
        "BOT_ALLOWED_SERVICE_URLS",
    ),
    "short-key-hash-secret": ({"KEY_HASH_SECRET": "too-short"}, "KEY_HASH_SECRET"),
}


@pytest.mark.parametrize("case", sorted(AZURE_REFUSALS))
async def test_in_azure_a_development_switch_or_a_short_key_serves_only_503s(
    e2e_stack: LocalStack, case: str
) -> None:
    # WEBSITE_INSTANCE_ID is what App Service sets on every instance (docs/security-model.md). There
    # a refused setting does not stop the import (the host would serve 404s and say nothing):
    # every route answers 503 naming the setting, so nothing of the bot runs (bot/startup.py).
    changes, setting = AZURE_REFUSALS[case]

    with side_host(e2e_stack, case, {"WEBSITE_INSTANCE_ID": "e2e", **changes}) as host:
        health = await get_json(host.url + "/api/health")
        activity = await post_to_bot(host.url + "/api/messages", b"{}", authorization=None)

    assert health.status == 503
    assert [entry["name"] for entry in health.body["error"]["settings"]] == [setting]
    assert activity.status == 503
    assert activity.body["error"]["code"] == "InvalidSettings"
    assert "too-short" not in json.dumps(health.body)
    assert "too-short" not in host.log_file.read_text(errors="replace")


@pytest.fixture
def auth_disabled_host(e2e_stack: LocalStack) -> Iterator[HostProcess]:
    """A host with ``BOT_AUTH_DISABLED=true`` and no app id, as in local development.

    A non-loopback host is on its allow-list too, so only the loopback rule can refuse it.
    """
    connector = e2e_stack.channel.connector_url
    changes = {
        "BOT_AUTH_DISABLED": "true",
        "MicrosoftAppId": "",
        "MicrosoftAppPassword": None,
        "BOT_ALLOWED_SERVICE_URLS": f"{connector},https://smba.trafficmanager.net",
    }
    with side_host(e2e_stack, "auth-disabled", changes) as host:
        yield host


async def test_with_auth_disabled_a_loopback_activity_needs_no_token_and_gets_none(
    auth_disabled_host: HostProcess, channel: ChannelControl
) -> None:
    info = await channel.info()
    conversation_id = new_conversation_id("auth-disabled")
    activity = message_activity(
        service_url=info["serviceUrl"], conversation_id=conversation_id, bot_id="local-bot"
    )
    token_requests = await channel.token_requests()

    answer = await post_to_bot(
        auth_disabled_host.url + "/api/messages", encode(activity), authorization=None
    )

    assert answer.status == 200, answer.body
    # The turn ran and replied without a token (this channel wants one, so it answered 401).
    attempts = await channel.requests(conversation_id)
    assert attempts
    assert not any(record["hasAuthorization"] for record in attempts)
    assert await channel.token_requests() == token_requests


async def test_with_auth_disabled_a_non_loopback_service_url_is_403(
    auth_disabled_host: HostProcess, channel: ChannelControl
) -> None:
    conversation_id = new_conversation_id("auth-disabled-remote")
    activity = message_activity(
        service_url=NON_LOOPBACK_SERVICE_URL, conversation_id=conversation_id, bot_id="local-bot"
    )
    token_requests = await channel.token_requests()

    answer = await post_to_bot(
        auth_disabled_host.url + "/api/messages", encode(activity), authorization=None
    )

    assert_error(answer, 403, "ServiceUrlNotAllowed")
    assert "loopback" in answer.body["error"]["message"]
    assert await channel.requests(conversation_id) == []
    assert await channel.token_requests() == token_requests


async def exercise_failures(stack: LocalStack, channel: ChannelControl) -> list[str]:
    """Bad inbound tokens and refused outbound tokens; returns every token used."""
    info = await channel.info()
    service_url = info["serviceUrl"]
    tokens = [
        await channel.channel_token(service_url, defect=defect)
        for defect in (
            TokenDefect.EXPIRED,
            TokenDefect.WRONG_AUDIENCE,
            TokenDefect.FOREIGN_KEY,
            TokenDefect.HS256_PUBLIC_KEY,
            TokenDefect.UNENDORSED_KEY,
            TokenDefect.WRONG_SERVICE_URL,
        )
    ]
    header, claims = unverified_parts(await channel.channel_token(service_url))
    tokens.append(unsigned_token(claims, kid=header["kid"]))
    tokens.append(attacker_token(claims, kid=header["kid"]))
    tokens.append(await channel.channel_token("https://evil.example/"))
    for token in tokens:
        claimed = unverified_parts(token)[1].get("serviceurl", service_url)
        activity = message_activity(
            service_url=claimed,
            conversation_id=new_conversation_id("log-scan"),
            bot_id=info["appId"],
        )
        answer = await post_to_bot(
            stack.messages_url, encode(activity), authorization=bearer(token)
        )
        assert 400 <= answer.status < 500, answer.body

    # A bot token the Connector refuses: the refused one and its replacement pass the logs.
    started = await channel.start_conversation(user_name="Trudy")
    conversation_id = started["conversationId"]
    await channel.wait_for_activities(conversation_id, 1)
    await channel.revoke_tokens()
    said = await channel.say(conversation_id, "log scan")
    assert said["response"]["status"] == 200
    await channel.wait_for_activities(conversation_id, 2)
    return tokens


def secrets_of(stack: LocalStack) -> dict[str, str]:
    """The secrets no log may hold, by setting name."""
    environment = stack.host_environment
    secrets = {
        "MicrosoftAppPassword": environment["MicrosoftAppPassword"],
        "KEY_HASH_SECRET": environment["KEY_HASH_SECRET"],
    }
    assert all(len(value) >= 8 for value in secrets.values())  # a real value, not a blank
    return secrets


async def test_no_bearer_token_or_secret_reaches_any_log(
    e2e_stack: LocalStack, channel: ChannelControl
) -> None:
    tokens = await exercise_failures(e2e_stack, channel)
    logs = [e2e_stack.host.log_file, e2e_stack.work_dir / "channel.log"]
    logs += sorted((e2e_stack.work_dir / STARTUP_LOG_FOLDER).glob("*.log"))
    secrets = secrets_of(e2e_stack)
    assert e2e_stack.host.log_file.stat().st_size > 0

    for log in logs:
        text = log.read_text(errors="replace")
        assert not BEARER_TOKEN.search(text), f"a bearer token is in {log.name}"
        for token in tokens:
            signature = token.rsplit(".", 1)[-1]
            assert not signature or signature not in text, f"a token signature is in {log.name}"
        for name, value in secrets.items():
            assert value not in text, f"{name} is in {log.name}"
