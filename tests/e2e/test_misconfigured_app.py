"""An app started with an unresolved Key Vault reference, as in Azure: it says so, loses nothing.

A side host runs with ``WEBSITE_INSTANCE_ID`` set (what App Service sets on every instance) and
``KEY_HASH_SECRET`` left as the ``@Microsoft.KeyVault(...)`` text App Service passes through
when it cannot resolve a reference. Every function still registers; ``/api/health`` and the
send API answer 503 naming the setting; the queue trigger fails a proactive message at once,
so the message stays on the queue; once the setting is fixed and the host restarted, it is
delivered exactly once.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest

from dev.channel import ChannelControl
from dev.stack import HostProcess, LocalStack, free_port
from tests.e2e.producer import enqueue_with_command
from tests.e2e.security_tokens import get_json, post_to_bot
from tests.e2e.side_hosts import isolated_environment, startup_log

pytestmark = pytest.mark.e2e

DEADLINE_SECONDS = 30.0
UNRESOLVED = (
    "@Microsoft.KeyVault(SecretUri=https://kv-e2e.vault.azure.net/secrets/key-hash-secret/)"
)


async def wait_for_text(log_file: Path, text: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if text in await asyncio.to_thread(log_file.read_text, errors="replace"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{text!r} did not appear in {log_file}")


async def test_an_unresolved_key_vault_reference_answers_503_and_loses_no_message(
    e2e_stack: LocalStack, channel: ChannelControl
) -> None:
    begun = await channel.start_conversation(user_name="Grace Hopper")
    conversation_id = begun["conversationId"]
    await channel.wait_for_activities(conversation_id, 1)
    text = f"sent after the fix {uuid.uuid4().hex}"
    message = {
        "version": 1,
        "id": f"e2e-misconfigured-{uuid.uuid4().hex}",
        "conversation": {"channelId": "msteams", "conversationId": conversation_id},
        "activities": [{"type": "message", "text": text}],
    }
    broken = isolated_environment(
        e2e_stack, {"WEBSITE_INSTANCE_ID": "e2e", "KEY_HASH_SECRET": UNRESOLVED}
    )
    log_file = startup_log(e2e_stack, "key-vault")

    host = HostProcess.start(broken, port=free_port(), log_file=log_file)
    try:
        health = await get_json(host.url + "/api/health")
        send = await post_to_bot(
            host.url + "/api/sendactivity", json.dumps(message).encode(), authorization=None
        )
        await enqueue_with_command(broken, message)
        # The trigger ran and failed at once: the message is back on the queue for later.
        await wait_for_text(log_file, "MisconfiguredError")
    finally:
        host.stop()

    assert health.status == 503
    assert health.body["error"]["code"] == "InvalidSettings"
    assert [entry["name"] for entry in health.body["error"]["settings"]] == ["KEY_HASH_SECRET"]
    assert "Key Vault reference" in health.body["error"]["settings"][0]["problem"]
    assert send.status == 503
    assert send.body == health.body
    log = log_file.read_text(errors="replace")
    assert "KEY_HASH_SECRET: is an unresolved Key Vault reference" in log
    assert "kv-e2e.vault.azure.net" not in log + json.dumps(health.body)
    assert all(r["activity"].get("text") != text for r in await channel.activities(conversation_id))

    # Fixed: the secret resolves. WEBSITE_INSTANCE_ID goes too, only because the local channel
    # is a loopback serviceUrl, which Azure mode refuses (docs/security-model.md).
    fixed = {**broken, "KEY_HASH_SECRET": e2e_stack.host_environment["KEY_HASH_SECRET"]}
    del fixed["WEBSITE_INSTANCE_ID"]
    with_fix = HostProcess.start(
        fixed, port=free_port(), log_file=startup_log(e2e_stack, "key-vault-fixed")
    )
    try:
        records = await channel.wait_for_activities(conversation_id, 2, DEADLINE_SECONDS)
    finally:
        with_fix.stop()

    assert [r["activity"]["text"] for r in records[1:]] == [text]
