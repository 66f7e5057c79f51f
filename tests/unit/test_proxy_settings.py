"""The Azure SDK clients read proxy settings from the environment only when there are some."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.storage.proxy_settings import use_env_settings

PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
)


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    use_env_settings.cache_clear()
    yield
    use_env_settings.cache_clear()


def test_without_a_proxy_the_environment_is_not_read_per_request() -> None:
    assert use_env_settings() is False


@pytest.mark.parametrize("name", ["https_proxy", "HTTP_PROXY"])
def test_a_configured_proxy_is_honoured(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "http://proxy.internal:3128")

    assert use_env_settings() is True
