"""``python -m dev.services start|stop|status``: the local services in the background."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dev.services.errors import ServicesError
from dev.services.stack import (
    DEFAULT_DATA_DIR,
    services_status,
    start_services,
    stop_services,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dev.services",
        description="Azurite and the Cosmos DB emulator, in the background.",
    )
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where data, logs and pid files live (default .local/services)",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help=(
            "where the connection settings are written (default .local/services.env, or "
            "DATA_DIR/services.env with another --data-dir)"
        ),
    )
    parser.add_argument("--fresh", action="store_true", help="delete the data first (start)")
    return parser


def _print_status(data_dir: Path) -> int:
    status = services_status(data_dir)
    if not status.running:
        print(f"local services: not running ({status.data_dir})")
        return 1
    for record in status.running:
        print(f"{record.name}: running, pid {record.pid}, log {record.log}")
    for name in status.stopped:
        print(f"{name}: NOT running (see {status.data_dir / (name + '.log')})")
    for key in ("COSMOS_ENDPOINT", "AzureWebJobsStorage"):
        if key in status.env:
            value = status.env[key]
            if key == "AzureWebJobsStorage":
                # The endpoints, not the (well-known) key.
                value = ";".join(part for part in value.split(";") if "Endpoint=" in part)
            print(f"{key}: {value}")
    if status.env_file:
        print(f"settings: {status.env_file}")
    return 0 if not status.stopped else 1


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "start":
            status = services_status(args.data_dir)
            if status.running and not status.stopped and not args.fresh:
                print("local services already running")
                return _print_status(args.data_dir)
            if status.running:
                # Half a stack, or fresh data asked for: start again from a clean slate.
                stop_services(args.data_dir)
            start_services(args.data_dir, fresh=args.fresh, env_file=args.env_file, detach=True)
            return _print_status(args.data_dir)
        if args.command == "stop":
            stopped = stop_services(args.data_dir)
            print(f"stopped: {', '.join(stopped)}" if stopped else "local services: not running")
            return 0
        return _print_status(args.data_dir)
    except ServicesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
