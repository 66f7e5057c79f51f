"""``make run``: the whole stack in the foreground until Ctrl-C, then nothing left behind.

Data lives in ``.local/`` and survives restarts. Settings come from ``local.settings.json``
(copied from ``local.settings.sample.json`` on first run); the emulators' and the local
channel's addresses are layered over it, since they change from run to run.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from pathlib import Path

from bot.settings import read_local_values
from dev.services import DEFAULT_DATA_DIR, ServicesError, services_status
from dev.stack import REPOSITORY_ROOT, StackError, start_stack

LOCAL_DIR = REPOSITORY_ROOT / ".local"
LOCAL_SETTINGS = REPOSITORY_ROOT / "local.settings.json"
SAMPLE_SETTINGS = REPOSITORY_ROOT / "local.settings.sample.json"


def _ensure_local_settings() -> Path:
    if not LOCAL_SETTINGS.exists():
        shutil.copyfile(SAMPLE_SETTINGS, LOCAL_SETTINGS)
        print(f"created {LOCAL_SETTINGS.name} from {SAMPLE_SETTINGS.name}")
    return LOCAL_SETTINGS


def main() -> int:
    """Start everything, print the URLs, wait for Ctrl-C (or SIGTERM), stop everything."""
    values = read_local_values(_ensure_local_settings())
    if services_status(DEFAULT_DATA_DIR).running:
        print("the emulators of `make services` are running; stop them first with `make stop`")
        return 1
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    try:
        stack = start_stack(
            LOCAL_DIR / "run",
            data_dir=DEFAULT_DATA_DIR,
            # As with `func start`: the environment wins over local.settings.json.
            host_port=int(
                os.environ.get("FUNCTIONS_HTTP_PORT") or values.get("FUNCTIONS_HTTP_PORT") or 7071
            ),
            app_id=values.get("MicrosoftAppId") or None,
            app_password=values.get("MicrosoftAppPassword") or None,
            # HOSTS=3: a scale-out rehearsal, several instances on the same queues and timer.
            hosts=int(os.environ.get("HOSTS") or 1),
        )
    except (StackError, ServicesError, RuntimeError, ValueError) as error:
        print(f"make run: {error}", file=sys.stderr)
        return 1
    try:
        print()
        print("Proactive bot is running:")
        print(f"  playground (open me)   {stack.channel.connector_url}/playground/")
        print(f"  bot messages endpoint  {stack.messages_url}")
        print(f"  health                 {stack.host.url}/api/health")
        for number, host in enumerate(stack.more_hosts, start=2):
            print(f"  host {number}                 {host.url}")
        print(f"  local channel          {stack.channel.connector_url}/_channel/info")
        print(f"  logs                   {stack.work_dir}")
        print("Press Ctrl-C to stop.")
        stop_requested.wait()
        print("stopping...")
    finally:
        stack.stop()
    print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
