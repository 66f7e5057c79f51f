"""``python -m dev.channel``: run the local channel until SIGINT or SIGTERM.

It starts the three servers, writes the state file (every URL, the CA bundle and the bot's
settings) once they all listen, prints the URLs, and on a signal stops the servers and removes
the state file and its temporary files. The state file appearing is the readiness signal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dev.channel.config import (
    DEFAULT_BOT_URL,
    ChannelConfig,
    ports_from_environment,
    queue_from_environment,
)
from dev.channel.server import RunningChannel, start_channel


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The runner's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m dev.channel",
        description="A local Bot Framework channel: Bot Connector, OpenID issuer and token "
        "endpoint on 127.0.0.1, and the playground page. Ports come from LOCAL_CHANNEL_PORT, "
        "LOCAL_ISSUER_PORT and LOCAL_TOKEN_PORT, or are picked free. The playground enqueues "
        "proactive messages with the storage connection in AzureWebJobsStorage (from the "
        "environment only: it holds a key) to PROACTIVE_QUEUE_NAME.",
    )
    parser.add_argument("--bot-url", default=DEFAULT_BOT_URL, help="the bot's /api/messages")
    parser.add_argument("--app-id", help="the bot's app id (a fresh one if not given)")
    parser.add_argument("--app-password", help="its client secret (a fresh one if not given)")
    parser.add_argument("--state-file", type=Path, help="write URLs and bot settings here")
    parser.add_argument("--work-dir", type=Path, help="keep certificates here (default: temp)")
    parser.add_argument("--channel-id", default="msteams", help="channelId of activities")
    parser.add_argument("--service-path", default="/", help="path of the serviceUrl")
    parser.add_argument("--rate-limits", action="store_true", help="enforce Teams limits")
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="no tokens either way (for a bot with BOT_AUTH_DISABLED=true)",
    )
    parser.add_argument(
        "--bot-sample",
        help="the sample the bot runs (BOT_SAMPLE), shown by the playground",
    )
    parser.add_argument(
        "--queue-name",
        help="the bot's proactive queue (default: PROACTIVE_QUEUE_NAME, or proactive-sends)",
    )
    return parser.parse_args(argv)


def config_from_arguments(arguments: argparse.Namespace) -> ChannelConfig:
    """The channel settings the command line and the port variables ask for."""
    options: dict[str, Any] = {
        "bot_url": arguments.bot_url,
        "channel_id": arguments.channel_id,
        "service_path": arguments.service_path,
        "rate_limits": arguments.rate_limits,
        "auth_required": not arguments.no_auth,
        "work_dir": arguments.work_dir,
        **ports_from_environment(),
        **queue_from_environment(),
    }
    if arguments.queue_name:
        options["queue_name"] = arguments.queue_name
    if arguments.bot_sample:
        options["bot_sample"] = arguments.bot_sample
    if arguments.app_id:
        options["app_id"] = arguments.app_id
    if arguments.app_password:
        options["app_password"] = arguments.app_password
    return ChannelConfig(**options)


def write_state_file(path: Path, state: dict[str, Any]) -> None:
    """Write the state atomically (readers never see half a file), readable by the owner only.

    It holds the local app password, which is random per run but still a secret.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2)
    partial.replace(path)


def _print_urls(channel: RunningChannel) -> None:
    described = channel.describe()
    lines = [
        "local channel ready",
        f"  connector (serviceUrl)  {described['serviceUrl']}",
        f"  control API             {described['controlUrl']}",
        f"  OpenID metadata         {described['openIdMetadataUrl']}",
        f"  token authority         {described['tokenAuthority']}",
        f"  CA bundle               {described['caBundlePath']}",
        f"  playground              {described['playgroundUrl']}",
        f"  bot                     {described['botUrl']}",
        f"  app id                  {described['appId']}",
    ]
    print("\n".join(lines), flush=True)


async def run(config: ChannelConfig, state_file: Path | None) -> None:
    """Run the channel until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    channel = await start_channel(config)
    try:
        if state_file is not None:
            await asyncio.to_thread(write_state_file, state_file, channel.describe())
        _print_urls(channel)
        await stop.wait()
    finally:
        if state_file is not None:
            await asyncio.to_thread(state_file.unlink, missing_ok=True)
        await channel.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m dev.channel``."""
    arguments = parse_arguments(argv)
    try:
        config = config_from_arguments(arguments)
    except ValueError as error:
        print(f"dev.channel: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(run(config, arguments.state_file))
    except OSError as error:
        print(f"dev.channel: cannot start: {error}", file=sys.stderr)
        return 1
    return 0
