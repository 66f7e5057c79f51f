"""What one proactive message costs in Cosmos DB operations, counted on the real send path.

``python -m bench.cost measure --service-url URL --app-id ID`` runs with the host's settings in
its own process: it stores conversations of one tenant (as inbound turns store them, not
counted), then hands queue messages to the real queue sender (``QueueSender.process``: target
resolution, rate governor with its tenant shares and send logs, delivery ledger, Connector
POST to the local channel) one after the other, counting every Cosmos DB call by kind
(``azure.cosmos.aio.ContainerProxy`` methods, wrapped in this process only). Two message
kinds: by conversation id with its tenant, and without (the README's queue example). Prints
one JSON line.

:func:`run` (``python -m bench --only cost``) reports the operations per message and the
request units they come to under the stated assumptions (docs/deployment.md, "What a message
costs"): a 1 KB point read is 1 RU, a 1 KB write about 6 RU, a query at least 3 RU.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.report import Row
    from bench.session import BenchSession

NAME = "cost"
MESSAGES = 40
RU = {"read": 1.0, "create": 6.0, "replace": 6.0, "upsert": 6.0, "patch": 6.0, "delete": 6.0}
QUERY_RU = 3.0
"""Request units per operation kind (the assumptions of docs/deployment.md)."""
COUNTED = {
    "read_item": "read",
    "create_item": "create",
    "replace_item": "replace",
    "upsert_item": "upsert",
    "patch_item": "patch",
    "delete_item": "delete",
    "query_items": "query",
}


def count_cosmos_calls() -> Counter[str]:
    """Wrap the Cosmos DB container methods of this process to count each call by kind."""
    from azure.cosmos.aio import ContainerProxy

    calls: Counter[str] = Counter()

    def wrap(method: Callable[..., Any], kind: str) -> Callable[..., Any]:
        @functools.wraps(method)
        def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            calls[f"{self.id}:{kind}"] += 1
            return method(self, *args, **kwargs)

        return counted

    for name, kind in COUNTED.items():
        setattr(ContainerProxy, name, wrap(getattr(ContainerProxy, name), kind))
    return calls


def request_units(calls: Counter[str], messages: int) -> float:
    """The estimated RU per message of ``calls``."""
    total = 0.0
    for key, count in calls.items():
        kind = key.rsplit(":", 1)[1]
        total += count * (QUERY_RU if kind == "query" else RU[kind])
    return total / messages


async def measure(service_url: str, app_id: str, messages: int) -> dict[str, Any]:
    """Seed, then send ``messages`` of each kind through the queue sender, counting calls."""
    from bench.reference_seeder import CHANNEL_ISSUER
    from bot.app import proactive_queue_sender
    from bot.proactive.queue_sender import QueueAction
    from bot.references.store import ReferenceStore
    from bot.schema import ConversationReference
    from bot.storage.cosmos import cosmos_client

    tenant = f"cost-{uuid.uuid4().hex[:8]}"
    prefix = uuid.uuid4().hex[:10]
    claims = {"aud": app_id, "iss": CHANNEL_ISSUER, "serviceurl": service_url, "tid": tenant}
    store = ReferenceStore()
    conversations = [f"a:1cost-{prefix}-{index:04d}" for index in range(2 * messages)]
    for index, conversation in enumerate(conversations):
        reference = ConversationReference.model_validate(
            {
                "user": {"id": f"29:1cost-{prefix}-{index:04d}", "name": "Ada"},
                "bot": {"id": f"28:{app_id}", "name": "Bot"},
                "conversation": {
                    "id": conversation,
                    "conversationType": "personal",
                    "tenantId": tenant,
                },
                "channelId": "msteams",
                "serviceUrl": service_url,
            }
        )
        await store.capture(reference, claims, now=datetime.now(UTC))
    sender = proactive_queue_sender.get()
    calls = count_cosmos_calls()
    results: dict[str, Any] = {}
    try:
        for kind, batch, with_tenant in (
            ("untenanted", conversations[:messages], False),
            ("tenanted", conversations[messages:], True),
        ):
            calls.clear()
            for conversation in batch:
                target: dict[str, str] = {"channelId": "msteams", "conversationId": conversation}
                if with_tenant:
                    target["tenantId"] = tenant
                body = {
                    "version": 1,
                    "id": f"cost-{uuid.uuid4().hex}",
                    "conversation": target,
                    "activities": [{"type": "message", "text": "cost"}],
                }
                result = await sender.process(json.dumps(body).encode())
                if result.action is not QueueAction.DELIVERED:
                    raise RuntimeError(f"a message was {result.action}, not delivered")
            results[kind] = {
                "calls": {key: count / messages for key, count in sorted(calls.items())},
                "ru": round(request_units(calls, messages), 2),
            }
    finally:
        await cosmos_client.aclose()
    return {"messages": messages, **results}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.cost measure ...``: print the counted calls as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.cost")
    commands = parser.add_subparsers(dest="command", required=True)
    measuring = commands.add_parser("measure", help="count the calls of proactive messages")
    measuring.add_argument("--service-url", required=True)
    measuring.add_argument("--app-id", required=True)
    measuring.add_argument("--messages", type=int, default=MESSAGES)
    arguments = parser.parse_args(argv)
    figures = asyncio.run(measure(arguments.service_url, arguments.app_id, arguments.messages))
    print(json.dumps(figures))
    return 0


def run(session: BenchSession) -> list[Row]:
    """Count the Cosmos DB operations of proactive messages on the local stack."""
    from bench.child_process import run_json_child
    from bench.report import Row

    stack = session.stack()
    command = [sys.executable, "-m", "bench.cost", "measure"]
    command += ["--service-url", str(stack.channel.state["serviceUrl"])]
    command += ["--app-id", stack.channel.bot_settings["MicrosoftAppId"]]
    measured = run_json_child(command, stack.host_environment, timeout=300)
    rows = []
    for kind, label in (("untenanted", "without its tenant"), ("tenanted", "with its tenant")):
        figures = measured[kind]
        kinds: Counter[str] = Counter()
        for key, count in figures["calls"].items():
            kinds[key.rsplit(":", 1)[1]] += count
        listed = ", ".join(f"{count:g} {name}" for name, count in sorted(kinds.items()))
        ru = float(figures["ru"])
        rows.append(
            Row(
                name=f"cost[{kind}]",
                summary=(
                    f"one queued message by conversation id {label}: Cosmos DB {listed} per "
                    f"message (queries: {kinds.get('query', 0):g}), about {ru:.0f} RU; "
                    f"{ru:.0f} million RU per million messages"
                ),
                figures={"ru_per_message": ru, **{k: float(v) for k, v in kinds.items()}},
                details={"callsByContainer": figures["calls"]},
            )
        )
    return rows


if __name__ == "__main__":
    sys.exit(main())
