"""``python -m bot.proactive``: validation before anything is sent, and the exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.proactive.__main__ import EXIT_INVALID, EXIT_OK, main

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "schemas" / "proactive-message.schema.json"
VALID = {
    "version": 1,
    "id": "cli-1",
    "user": {"channelId": "msteams", "userId": "29:1abc"},
    "activities": [{"type": "message", "text": "hello"}],
}


def write(tmp_path: Path, document: object) -> str:
    path = tmp_path / "message.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_check_accepts_a_message_and_an_array(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--check", write(tmp_path, VALID)]) == EXIT_OK
    assert main(["--check", write(tmp_path, [VALID, {**VALID, "id": "cli-2"}])]) == EXIT_OK
    assert "2 valid message(s)" in capsys.readouterr().out


def test_an_invalid_message_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main([write(tmp_path, [VALID, {**VALID, "id": "no spaces allowed"}])])
    assert status == EXIT_INVALID
    assert "message 1: invalid: id:" in capsys.readouterr().err


def test_not_json_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{", encoding="utf-8")
    assert main([str(path)]) == EXIT_INVALID
    assert "not valid JSON" in capsys.readouterr().err


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    assert main([str(tmp_path / "absent.json")]) == EXIT_INVALID


def test_print_schema_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--print-schema"]) == EXIT_OK
    assert capsys.readouterr().out == SCHEMA_FILE.read_text(encoding="utf-8")
