"""Which sample the local stack runs: resolved as the host resolves it, named by ``make run``
and carried to the playground through the channel's command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dev.channel.config import ChannelConfig
from dev.channel.runner import config_from_arguments, parse_arguments
from dev.run import sample_lines
from dev.stack import DEFAULT_SAMPLE, resolve_bot_sample


def _settings_file(path: Path, values: dict[str, str]) -> Path:
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values}), encoding="utf-8")
    return path


def test_the_environment_wins_over_local_settings(tmp_path: Path) -> None:
    local = _settings_file(tmp_path / "local.settings.json", {"BOT_SAMPLE": "counter"})

    assert resolve_bot_sample({"LOCAL_SETTINGS_PATH": str(local)}) == "counter"
    assert (
        resolve_bot_sample({"LOCAL_SETTINGS_PATH": str(local), "BOT_SAMPLE": "assistant"})
        == "assistant"
    )


def test_echo_when_nothing_names_a_sample(tmp_path: Path) -> None:
    empty = _settings_file(tmp_path / "local.settings.json", {})
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")

    assert resolve_bot_sample({"LOCAL_SETTINGS_PATH": str(empty)}) == DEFAULT_SAMPLE == "echo"
    assert resolve_bot_sample({"LOCAL_SETTINGS_PATH": str(tmp_path / "none.json")}) == "echo"
    # The host itself refuses to start with a broken file, naming it; this only labels.
    assert resolve_bot_sample({"LOCAL_SETTINGS_PATH": str(broken)}) == "echo"


@pytest.mark.parametrize(("running", "other"), [("echo", "assistant"), ("assistant", "echo")])
def test_make_run_names_the_sample_and_how_to_start_another(running: str, other: str) -> None:
    text = "\n".join(sample_lines(running))

    assert f"sample bot             {running} (BOT_SAMPLE; one of echo, counter, assistant)" in text
    assert f"`BOT_SAMPLE={other} make run`" in text


def test_the_channel_takes_the_sample_from_its_command_line() -> None:
    assert ChannelConfig().bot_sample is None
    config = config_from_arguments(parse_arguments(["--bot-sample", "assistant"]))
    assert config.bot_sample == "assistant"
