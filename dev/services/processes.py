"""Child processes of the local services: started in their own process group, stopped safely.

A process is identified by its pid *and* its start time and command line, all recorded at
start; a pid that the system has since handed to another program is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from dev.services.errors import ServicesError

STOP_TIMEOUT_SECONDS = 10.0
CREATE_TIME_TOLERANCE_SECONDS = 1.0
"""How far two readings of one process's start time may differ."""
"""How long a service gets to shut down after SIGTERM before it is killed."""

LOG_TAIL_LINES = 30

WATCH_PARENT_VARIABLE = "DEV_SERVICES_WATCH_PARENT"
"""Set for children that must exit when the process that started them dies (see watch_parent.js)."""

WATCH_PARENT_SCRIPT = Path(__file__).with_name("watch_parent.js")


@dataclass(frozen=True)
class ChildProcess:
    """A started service process, as recorded in the state file."""

    name: str
    pid: int
    create_time: float
    cmdline: tuple[str, ...]
    log: str

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        data = asdict(self)
        data["cmdline"] = list(self.cmdline)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChildProcess:
        """A record read back from the state file."""
        return cls(
            name=str(data["name"]),
            pid=int(data["pid"]),
            create_time=float(data["create_time"]),
            cmdline=tuple(str(part) for part in data["cmdline"]),
            log=str(data["log"]),
        )


def node_command(script: Path, arguments: Sequence[str]) -> list[str]:
    """``node`` running ``script``, with the parent watch preloaded."""
    node = _find_node()
    return [node, "--require", str(WATCH_PARENT_SCRIPT), str(script), *arguments]


def _find_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise ServicesError("node is not on PATH; install Node.js 20 and run `make setup`")
    return node


def spawn(
    name: str,
    command: Sequence[str],
    *,
    log: Path,
    cwd: Path,
    watch_parent: bool,
) -> tuple[subprocess.Popen[bytes], ChildProcess]:
    """Start ``command`` in a new session (its own process group), output to ``log``.

    Args:
        name: The service's name, for messages and file names.
        command: The argument list.
        log: File that receives stdout and stderr (truncated first).
        cwd: Working directory of the process.
        watch_parent: Whether the child exits on its own when this process dies.
    """
    env = dict(os.environ)
    if watch_parent:
        env[WATCH_PARENT_VARIABLE] = "1"
    else:
        env.pop(WATCH_PARENT_VARIABLE, None)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        info = psutil.Process(process.pid)
        record = ChildProcess(
            name=name,
            pid=process.pid,
            create_time=info.create_time(),
            # What we asked to run, not what /proc says: read at once, /proc may still show
            # the forked parent's command line, before the child's exec.
            cmdline=tuple(command),
            log=str(log),
        )
    except psutil.Error as error:
        process.kill()
        process.wait()
        raise ServicesError(f"{name} exited at once; see {log}\n{log_tail(log)}") from error
    return process, record


def _live_process(record: ChildProcess) -> psutil.Process | None:
    """The process of ``record`` if it still runs and is the one we started."""
    try:
        process = psutil.Process(record.pid)
        # psutil adds the boot time to a process's start ticks, and each Python process reads
        # the boot time once, from /proc/stat, where the kernel recomputes it from the wall
        # clock: the record (written by another process) and this reading can differ by a
        # second. A recycled pid within a second, with the same command line, is not real.
        started = process.create_time()
        same = abs(started - record.create_time) <= CREATE_TIME_TOLERANCE_SECONDS
        same = same and tuple(process.cmdline()) == record.cmdline
        if same and process.status() != psutil.STATUS_ZOMBIE:
            return process
    except psutil.Error:
        pass
    return None


def is_running(record: ChildProcess) -> bool:
    """Whether the process we started (not a later one with the same pid) still runs."""
    return _live_process(record) is not None


def stop(record: ChildProcess, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM the process group of ``record``; SIGKILL it after ``timeout`` seconds.

    Does nothing when the process is gone or the pid now belongs to another program.
    """
    process = _live_process(record)
    if process is None:
        return
    # The child leads its own session, so its pid is its process group id.
    _signal_group(record.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
        return
    except psutil.TimeoutExpired:
        pass
    if _live_process(record) is not None:
        _signal_group(record.pid, signal.SIGKILL)
        with contextlib.suppress(psutil.Error):
            process.wait(STOP_TIMEOUT_SECONDS)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    if sys.platform == "win32":  # pragma: no cover - the dev tools target Linux and macOS
        os.kill(pgid, signum)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def wait_for_exit(record: ChildProcess, deadline: float) -> bool:
    """Whether the process of ``record`` is gone by ``deadline`` (a ``time.monotonic`` value)."""
    process = _live_process(record)
    if process is None:
        return True
    try:
        process.wait(max(0.0, deadline - time.monotonic()))
    except psutil.TimeoutExpired:
        return False
    except psutil.Error:
        pass
    return True


def log_tail(log: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log, for error messages."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {log})"
    tail = text.splitlines()[-lines:]
    return "\n".join(f"  | {line}" for line in tail) if tail else "  | (log is empty)"
