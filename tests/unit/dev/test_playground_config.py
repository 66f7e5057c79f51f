"""How the playground is configured: the queue settings, the bot's API base, the page guard."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from dev.channel.bot_proxy import bot_api_base
from dev.channel.config import DEFAULT_QUEUE_NAME, ChannelConfig, queue_from_environment
from dev.channel.page_guard import refusal
from dev.channel.runner import config_from_arguments, parse_arguments

CONNECTION = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"


def test_the_queue_comes_from_the_bots_settings() -> None:
    found = queue_from_environment(
        {"AzureWebJobsStorage": CONNECTION, "PROACTIVE_QUEUE_NAME": "sends-2"}
    )
    assert found == {"queue_connection": CONNECTION, "queue_name": "sends-2"}
    assert queue_from_environment({"AzureWebJobsStorage": "  ", "PROACTIVE_QUEUE_NAME": ""}) == {}


def test_a_channel_has_no_queue_by_default() -> None:
    config = ChannelConfig()
    assert config.queue_connection is None
    assert config.queue_name == DEFAULT_QUEUE_NAME
    assert CONNECTION not in repr(ChannelConfig(queue_connection=CONNECTION))


def test_the_runner_reads_the_queue_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", CONNECTION)
    monkeypatch.setenv("PROACTIVE_QUEUE_NAME", "from-env")
    for variable in ("LOCAL_CHANNEL_PORT", "LOCAL_ISSUER_PORT", "LOCAL_TOKEN_PORT"):
        monkeypatch.delenv(variable, raising=False)

    config = config_from_arguments(parse_arguments([]))
    assert (config.queue_connection, config.queue_name) == (CONNECTION, "from-env")

    named = config_from_arguments(parse_arguments(["--queue-name", "from-option"]))
    assert named.queue_name == "from-option"


@pytest.mark.parametrize(
    ("bot_url", "base"),
    [
        ("http://127.0.0.1:7071/api/messages", "http://127.0.0.1:7071/api/"),
        ("http://127.0.0.1:3978/bot/api/messages", "http://127.0.0.1:3978/bot/api/"),
    ],
)
def test_the_bots_api_base(bot_url: str, base: str) -> None:
    assert bot_api_base(bot_url) == base


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", {"Host": "127.0.0.1:3978"}, None),
        ("GET", {"Host": "localhost:3978"}, None),
        ("GET", {"Host": "[::1]:3978"}, None),
        ("GET", {"Host": "LOCALHOST"}, None),
        ("GET", {"Host": "evil.example"}, 403),
        ("GET", {"Host": "127.0.0.1.evil.example:3978"}, 403),
        ("POST", {"Host": "127.0.0.1:3978", "Content-Type": "application/json"}, None),
        (
            "POST",
            {
                "Host": "127.0.0.1:3978",
                "Content-Type": "application/json; charset=utf-8",
                "Origin": "http://127.0.0.1:3978",
            },
            None,
        ),
        (
            "POST",
            {
                "Host": "127.0.0.1:3978",
                "Content-Type": "application/json",
                "Origin": "http://evil.example",
            },
            403,
        ),
        ("POST", {"Host": "127.0.0.1:3978", "Content-Type": "text/plain"}, 415),
        ("DELETE", {"Host": "127.0.0.1:3978"}, 415),
    ],
)
def test_the_page_guard(method: str, headers: dict[str, str], status: int | None) -> None:
    answer = refusal(make_mocked_request(method, "/_channel/enqueue", headers=headers))
    assert (answer.status if answer is not None else None) == status
