"""Run the local channel as a child process (``make run``, end-to-end fixtures).

    with ChannelProcess.start(state_file, bot_url="http://127.0.0.1:7071/api/messages") as channel:
        environment.update(channel.bot_settings)
        ...

The child writes the state file once every server listens; :meth:`ChannelProcess.start`
waits for it (polling with a deadline, failing early if the child exits).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

POLL_INTERVAL = 0.05
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ChannelProcess:
    """A ``python -m dev.channel`` child process.

    Attributes:
        process: The child.
        state_file: Its state file.
        state: The state file's content: URLs, paths and ``botSettings``.
    """

    process: subprocess.Popen[bytes]
    state_file: Path
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def bot_settings(self) -> dict[str, str]:
        """The app settings that make a bot talk to this channel."""
        return dict(self.state["botSettings"])

    @property
    def connector_url(self) -> str:
        """The connector's origin, also the control API's base URL."""
        return str(self.state["connectorUrl"])

    @classmethod
    def start(
        cls,
        state_file: Path,
        *,
        bot_url: str | None = None,
        app_id: str | None = None,
        app_password: str | None = None,
        extra_arguments: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        output: Path | None = None,
    ) -> ChannelProcess:
        """Start the channel and wait until it is ready.

        Args:
            state_file: Where the child writes its state (must not exist yet).
            bot_url: The bot's ``/api/messages``.
            app_id: The bot's app id (a fresh one if None).
            app_password: Its client secret (a fresh one if None).
            extra_arguments: More command-line options (``--rate-limits``...).
            environ: The child's environment (this process's when None).
            timeout: Seconds to wait for readiness.
            output: File for the child's stdout and stderr (discarded when None).

        Raises:
            RuntimeError: The child exited or did not get ready in time (it is stopped).
        """
        state_file.unlink(missing_ok=True)
        arguments = [sys.executable, "-m", "dev.channel", "--state-file", str(state_file)]
        if bot_url:
            arguments += ["--bot-url", bot_url]
        if app_id:
            arguments += ["--app-id", app_id]
        if app_password:
            arguments += ["--app-password", app_password]
        arguments += list(extra_arguments)
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(output.open("ab")) if output else subprocess.DEVNULL
            process = subprocess.Popen(
                arguments,
                cwd=REPOSITORY_ROOT,
                env=dict(os.environ if environ is None else environ),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        channel = cls(process, state_file)
        deadline = time.monotonic() + timeout
        while not state_file.exists():
            if process.poll() is not None:
                raise RuntimeError(f"dev.channel exited with {process.returncode} before ready")
            if time.monotonic() > deadline:
                channel.stop()
                raise RuntimeError(f"dev.channel not ready after {timeout} s")
            time.sleep(POLL_INTERVAL)
        channel.state = json.loads(state_file.read_text(encoding="utf-8"))
        return channel

    def stop(self, timeout: float = 10.0) -> int:
        """Stop the child (SIGTERM, then SIGKILL after ``timeout``); returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> ChannelProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
