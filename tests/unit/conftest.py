"""Settings for unit tests that need them: `configured` gives a valid, hermetic environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import get_settings


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Settings from this environment only (no local.settings.json), cache cleared around."""
    monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(tmp_path / "absent.json"))
    monkeypatch.setenv("BOT_AUTH_DISABLED", "true")
    monkeypatch.setenv("KEY_HASH_SECRET", "unit-test-key-hash-secret-of-32-bytes")
    monkeypatch.setenv("COSMOS_ENDPOINT", "https://127.0.0.1:8081")
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
