"""``python -m dev.host [--app-dir DIR] [--port PORT] [--queue-lease-seconds N]``: run a
function app locally."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

from dev.host.app import load_app
from dev.host.errors import HostError
from dev.host.message_lease import LEASE_VARIABLE, lease_from_environment, parse_lease_seconds
from dev.host.server import PORT_VARIABLE, port_from_environment, serve


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("[%(asctime)s.%(msecs)03dZ] %(message)s", "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # The Azure SDK logs request and response headers at INFO.
    logging.getLogger("azure").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    """Run the host; returns the process exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m dev.host", description="Run an Azure Functions Python app locally."
    )
    parser.add_argument(
        "--app-dir", type=Path, default=Path.cwd(), help="the app folder (default: here)"
    )
    parser.add_argument(
        "--port", type=int, help=f"HTTP port (default: ${PORT_VARIABLE}, else 7071)"
    )
    parser.add_argument(
        "--queue-lease-seconds",
        metavar="N",
        help=(
            "how long a fetched queue message stays invisible while its function runs, renewed "
            f"at half of it (default: ${LEASE_VARIABLE}, else 600 as the Functions host)"
        ),
    )
    args = parser.parse_args(argv)
    _configure_logging()
    try:
        app = load_app(args.app_dir)
        # After load_app: local.settings.json may set the variable.
        lease = (
            lease_from_environment()
            if args.queue_lease_seconds is None
            else parse_lease_seconds(args.queue_lease_seconds, "--queue-lease-seconds")
        )
        # The Python worker runs functions with the app folder as working directory.
        os.chdir(app.app_dir)
        port = args.port if args.port is not None else port_from_environment()
        return asyncio.run(serve(app, port, queue_lease_seconds=lease))
    except HostError as error:
        print(f"dev.host: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
