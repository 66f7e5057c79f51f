"""``make run``: the whole stack in the foreground until Ctrl-C, then nothing left behind.

Data lives in ``.local/`` (``DEV_LOCAL_DIR`` moves it) and survives restarts. Settings come
from ``local.settings.json`` (``LOCAL_SETTINGS_PATH`` names another file), copied from
``local.settings.sample.json`` on first run; the emulators' and the local channel's addresses
are layered over it, since they change from run to run.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from pathlib import Path

from bot.samples.catalog import SAMPLES
from bot.settings import LOCAL_SETTINGS_PATH_VARIABLE, read_local_values
from dev.services import DEFAULT_DATA_DIR, ServicesError, services_status
from dev.stack import REPOSITORY_ROOT, StackError, start_stack

LOCAL_DIR = REPOSITORY_ROOT / ".local"
LOCAL_DIR_VARIABLE = "DEV_LOCAL_DIR"
"""Moves ``.local/`` (a test runs ``make run`` without touching the developer's data)."""
LOCAL_SETTINGS = REPOSITORY_ROOT / "local.settings.json"
SAMPLE_SETTINGS = REPOSITORY_ROOT / "local.settings.sample.json"


def _ensure_local_settings() -> Path:
    configured = os.environ.get(LOCAL_SETTINGS_PATH_VARIABLE, "").strip()
    path = Path(configured) if configured else LOCAL_SETTINGS
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLE_SETTINGS, path)
        print(f"created {path} from {SAMPLE_SETTINGS.name}")
    return path


def _local_dir() -> Path:
    configured = os.environ.get(LOCAL_DIR_VARIABLE, "").strip()
    return Path(configured).resolve() if configured else LOCAL_DIR


def sample_lines(running: str) -> list[str]:
    """What ``make run`` says about the sample: which one runs, how to start another.

    The environment wins over ``local.settings.json`` (as with ``func start``), so a variable
    on the command line is enough; ``make`` passes it on either way.
    """
    other = "echo" if running == "assistant" else "assistant"
    return [
        f"  sample bot             {running} (BOT_SAMPLE; one of {', '.join(SAMPLES)})",
        f"Another sample: stop with Ctrl-C, then `BOT_SAMPLE={other} make run` (or set BOT_SAMPLE",
        "in local.settings.json). The car scenario: BOT_SAMPLE=assistant, then DeviceStart from",
        "the playground's event form.",
    ]


def main() -> int:
    """Start everything, print the URLs, wait for Ctrl-C (or SIGTERM), stop everything."""
    values = read_local_values(_ensure_local_settings())
    local_dir = _local_dir()
    # The standard place keeps the standard data folder (and `.local/services.env`).
    data_dir = DEFAULT_DATA_DIR if local_dir == LOCAL_DIR else local_dir / "services"
    if services_status(data_dir).running:
        print("the emulators of `make services` are running; stop them first with `make stop`")
        return 1
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    try:
        stack = start_stack(
            local_dir / "run",
            data_dir=data_dir,
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
        print("\n".join(sample_lines(stack.bot_sample)))
        print("Press Ctrl-C to stop.")
        stop_requested.wait()
        print("stopping...")
    finally:
        stack.stop()
    print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
