"""Proactive send throughput: 2,000 conversations, one message each, concurrency 50.

The connector is the project's local channel (``python -m dev.channel``) in its own process,
answering every Connector request after 20 ms (an injected delay fault that never runs out).
The sender is ``python -m bench.send_worker`` in another process: stored reference ->
``BotAdapter.continue_conversation`` -> ``ConnectorSender`` -> ``ConnectorClient`` on the
shared aiohttp session. Both share the machine's cores, as the peers' mock and clients did.

Two variants:

* ``auth``: the channel requires a bot token; the sender gets a real one from the channel's
  HTTPS token endpoint through MSAL (once, then cached), and the connector verifies it on every
  request. This is the production path.
* ``no-auth``: the channel runs with ``--no-auth`` and the sender with
  ``BOT_AUTH_DISABLED=true`` (no token at all), which is how the peers' SDK figures were taken.

The connector's records are counted afterwards: every send must have arrived exactly once.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from bench.child_process import run_json_child
from bench.environment import OFFLINE_SETTINGS, child_environment, clean_environment
from bench.report import Check, Row, Target
from bench.session import BenchSession, Sizes
from dev.channel import ChannelControl, ChannelProcess

NAME = "proactive_send"
TARGET_MESSAGES_PER_S = 1500.0
TARGET_PEAK_RSS_MB = 120.0
WARMUP = 20
SEND_OPERATION = "sendToConversation"


def send_targets() -> tuple[Target, Target]:
    """The send-rate and memory targets (shared with the peers' comparison)."""
    return (
        Target("messages_per_s", TARGET_MESSAGES_PER_S, "/s", higher_is_better=True, label="rate"),
        Target("peak_rss_mb", TARGET_PEAK_RSS_MB, "MB", higher_is_better=False, label="peak RSS"),
    )


def run_sender(
    service_url: str, settings: dict[str, str], sizes: Sizes, *, sends: int | None = None
) -> dict[str, Any]:
    """Run ``bench.send_worker`` against ``service_url`` and return its figures."""
    count = sends if sends is not None else sizes.proactive_sends
    command = [
        sys.executable,
        "-m",
        "bench.send_worker",
        "--service-url",
        service_url,
        "--sends",
        str(count),
        "--concurrency",
        str(sizes.proactive_concurrency),
        "--warmup",
        str(WARMUP),
    ]
    return run_json_child(command, child_environment(settings), timeout=120 + count / 10)


async def _prepare(connector_url: str, delay_ms: int) -> None:
    async with ChannelControl(connector_url) as control:
        await control.set_fault(delay_seconds=delay_ms / 1000, times=None)


async def _connector_counts(connector_url: str) -> dict[str, int]:
    async with ChannelControl(connector_url) as control:
        records = await control.requests()
        tokens = await control.token_stats()
        # The next run starts from empty records (the delay fault stays).
        await control.clear()
        await control.reset_token_stats()
    sends = [record for record in records if record["operation"] == SEND_OPERATION]
    return {
        "requests": len(records),
        "accepted": sum(1 for record in sends if 200 <= record["status"] < 300),
        "refused": sum(1 for record in sends if record["status"] >= 300),
        "with_token": sum(1 for record in sends if record["hasAuthorization"]),
        "token_requests": tokens["requests"],
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median send rate (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda run: float(run["messages_per_s"]))
    return ordered[(len(ordered) - 1) // 2]


def _variant(session: BenchSession, *, auth: bool) -> Row:
    sizes = session.sizes
    variant = "auth" if auth else "no-auth"
    work_dir = session.work_dir / f"proactive-{variant}"
    work_dir.mkdir(parents=True, exist_ok=True)
    channel = ChannelProcess.start(
        work_dir / "channel.json",
        extra_arguments=() if auth else ("--no-auth",),
        environ=clean_environment(),
        output=work_dir / "channel.log",
    )
    runs: list[dict[str, Any]] = []
    try:
        asyncio.run(_prepare(channel.connector_url, sizes.connector_delay_ms))
        settings = {**OFFLINE_SETTINGS, **channel.bot_settings}
        for _ in range(sizes.proactive_repeats):
            figures = run_sender(str(channel.state["serviceUrl"]), settings, sizes)
            figures["connector"] = asyncio.run(_connector_counts(channel.connector_url))
            runs.append(figures)
    finally:
        channel.stop()

    chosen = median_run(runs)
    counts = chosen["connector"]
    expected = sizes.proactive_sends + WARMUP
    rates = sorted(float(run["messages_per_s"]) for run in runs)
    peak_rss = max(float(run["peak_rss_mb"]) for run in runs)
    row_figures: dict[str, float | int | str | None] = {
        "sends": sizes.proactive_sends,
        "concurrency": sizes.proactive_concurrency,
        "connector_delay_ms": sizes.connector_delay_ms,
        "runs": len(runs),
        "seconds": chosen["seconds"],
        "messages_per_s": chosen["messages_per_s"],
        "messages_per_s_min": rates[0],
        "messages_per_s_max": rates[-1],
        "peak_rss_mb": peak_rss,
        "rss_before_mb": chosen["rss_before_mb"],
        "errors": sum(int(run["errors"]) for run in runs),
        "connector_accepted": counts["accepted"],
        "token_requests": counts["token_requests"],
    }
    token_note = (
        f"bot token from the local HTTPS token endpoint: {counts['token_requests']} token "
        f"request(s) per run, {counts['with_token']} of {counts['accepted']} sends carried it"
        if auth
        else "no token (BOT_AUTH_DISABLED=true, channel --no-auth)"
    )
    missing = sum(max(0, expected - run["connector"]["accepted"]) for run in runs)
    refused = sum(int(run["connector"]["refused"]) for run in runs)
    error_types: dict[str, int] = {}
    for run in runs:
        for name, count in run["error_types"].items():
            error_types[name] = error_types.get(name, 0) + int(count)
    spread = (
        f"median of {len(runs)} runs ({rates[0]:,.0f} to {rates[-1]:,.0f} msg/s)"
        if len(runs) > 1
        else "1 run"
    )
    return Row(
        f"{NAME}[{variant}]",
        f"{chosen['messages_per_s']:,.0f} msg/s, peak RSS {peak_rss:.0f} MB "
        f"({sizes.proactive_sends:,} convs, c={sizes.proactive_concurrency}, "
        f"+{sizes.connector_delay_ms} ms)",
        row_figures,
        targets=send_targets(),
        checks=(
            Check("send errors", int(row_figures["errors"] or 0)),
            Check("sends missing at the connector", missing),
            Check("sends refused by the connector", refused),
        ),
        notes=[
            f"{spread}; connector = dev.channel in its own process with a "
            f"{sizes.connector_delay_ms} ms delay fault; {token_note}; RSS before the run "
            f"{chosen['rss_before_mb']:.0f} MB",
            *([f"errors by type: {error_types}"] if error_types else []),
        ],
        details={"runs": runs},
    )


def run(session: BenchSession) -> list[Row]:
    """Measure proactive sends with the production token path and without auth."""
    return [_variant(session, auth=True), _variant(session, auth=False)]
