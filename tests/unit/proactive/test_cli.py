"""``python -m bot.proactive``: validation before anything is sent, and the exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.proactive.__main__ import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_QUEUE_ERROR,
    main,
    parse_arguments,
    parse_redrive_arguments,
    storage_access,
)
from bot.proactive.queue_access import QueueAccess

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


ACCOUNT_URL = "https://stproactive.queue.core.windows.net"


@pytest.fixture
def no_storage_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCAL_SETTINGS_PATH", str(tmp_path / "absent.json"))
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    monkeypatch.delenv("AzureWebJobsStorage__queueServiceUri", raising=False)


@pytest.mark.usefixtures("no_storage_settings")
async def test_an_account_url_signs_in_with_default_azure_credential() -> None:
    from azure.identity.aio import DefaultAzureCredential
    from azure.storage.queue import TextBase64EncodePolicy

    access = storage_access(parse_arguments(["m.json", "--account-url", ACCOUNT_URL]))

    assert access is not None
    assert access.uses_entra_id
    async with access.queues() as queues:
        client = queues.queue("proactive-sends")
        assert client.url == f"{ACCOUNT_URL}/proactive-sends"
        assert isinstance(client.credential, DefaultAzureCredential)
        # Base64, as the Functions queue trigger reads it.
        assert isinstance(client._message_encode_policy, TextBase64EncodePolicy)


@pytest.mark.usefixtures("no_storage_settings")
def test_the_app_setting_of_an_identity_connection_is_the_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AzureWebJobsStorage__queueServiceUri", ACCOUNT_URL)

    access = storage_access(parse_arguments(["m.json"]))

    assert access == QueueAccess(account_url=ACCOUNT_URL)


@pytest.mark.usefixtures("no_storage_settings")
def test_without_a_storage_account_the_command_says_what_to_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([write(tmp_path, VALID)]) == EXIT_QUEUE_ERROR
    assert "--account-url" in capsys.readouterr().err


def test_a_connection_string_and_an_account_url_are_exclusive() -> None:
    with pytest.raises(SystemExit):
        parse_arguments(["m.json", "--account-url", ACCOUNT_URL, "--connection-string", "x"])


def test_redrive_refuses_a_queue_that_is_not_a_poison_queue(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["redrive", "--queue", "proactive-sends", "--account-url", ACCOUNT_URL]) == (
        EXIT_INVALID
    )
    assert "not a poison queue" in capsys.readouterr().err


def test_redrive_conditions_need_a_path_and_a_value() -> None:
    assert parse_redrive_arguments(["--where", "reason.code=Expired"]).conditions == [
        (("reason", "code"), "Expired")
    ]
    with pytest.raises(SystemExit):
        parse_redrive_arguments(["--where", "reason.code"])
