"""``make run``, Ctrl-C, ``make run`` again at once: it starts, and each stop leaves nothing.

Real processes: ``make run`` (make, ``python -m dev.run``, Azurite, the Cosmos DB emulator,
the local channel, the function host) on free ports set through the environment as a
developer would (``AZURITE_QUEUE_PORT=... make run``), its data and settings in a temporary
folder (``DEV_LOCAL_DIR``, ``LOCAL_SETTINGS_PATH``). Ctrl-C is SIGINT to the process group, as
a terminal sends it. The test keeps an idle connection open to listening ports across the
stop, so the servers close first and leave those ports in TIME_WAIT: the state in which the
second start was refused (the port check counted TIME_WAIT as "in use").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from dev.stack import REPOSITORY_ROOT

pytestmark = pytest.mark.e2e

PORT_VARIABLES = (
    "AZURITE_BLOB_PORT",
    "AZURITE_QUEUE_PORT",
    "AZURITE_TABLE_PORT",
    "COSMOS_EMULATOR_PORT",
    "LOCAL_CHANNEL_PORT",
    "LOCAL_ISSUER_PORT",
    "LOCAL_TOKEN_PORT",
    "FUNCTIONS_HTTP_PORT",
)
HELD_PORTS = ("AZURITE_QUEUE_PORT", "LOCAL_CHANNEL_PORT", "FUNCTIONS_HTTP_PORT")
"""Ports the test holds an idle connection to across the stop (one per kind of server)."""
START_DEADLINE_SECONDS = 180.0
STOP_DEADLINE_SECONDS = 60.0
INHERITED_OUT = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "LOCAL_SETTINGS_PATH", *PORT_VARIABLES)
"""Not passed on from this process: an outer make's flags, and what the test sets itself."""


def distinct_free_ports(count: int) -> list[int]:
    """Free ports on 127.0.0.1, all different (every probe stays bound until all are picked)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


@pytest.fixture
def run_environment(tmp_path: Path) -> dict[str, str]:
    """``make run``'s environment: free ports, data and settings under ``tmp_path``."""
    environment = {k: v for k, v in os.environ.items() if k not in INHERITED_OUT}
    ports = distinct_free_ports(len(PORT_VARIABLES))
    environment.update(zip(PORT_VARIABLES, map(str, ports), strict=True))
    environment["DEV_LOCAL_DIR"] = str(tmp_path / "local")
    environment["LOCAL_SETTINGS_PATH"] = str(tmp_path / "local.settings.json")
    return environment


class MakeRun:
    """One ``make run`` in its own process group, with everything it started."""

    def __init__(self, environment: dict[str, str], log: Path) -> None:
        self.environment = environment
        self.log = log
        make = shutil.which("make")
        assert make, "make is not installed"
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [make, "--no-print-directory", "run"],
                cwd=REPOSITORY_ROOT,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, like a terminal's foreground job
            )
        self.started: list[psutil.Process] = []

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.environment['FUNCTIONS_HTTP_PORT']}/api/health"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self) -> None:
        """Poll ``/api/health`` until 200 (Cosmos DB and the queue answer), with a deadline."""
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while True:
            assert self.process.poll() is None, f"make run exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"make run not healthy in time:\n{self.output()}"
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(self.health_url, timeout=5) as response,  # noqa: S310 - loopback
            ):
                if response.status == 200:
                    break
            time.sleep(0.2)
        # Everything it started, services included (they run in sessions of their own).
        self.started = psutil.Process(self.process.pid).children(recursive=True)

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the process group; wait for make and everything it started."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"make run did not stop after Ctrl-C:\n{self.output()}")
        _, alive = psutil.wait_procs(self.started, timeout=STOP_DEADLINE_SECONDS)
        assert not alive, f"left behind after Ctrl-C: {[p.pid for p in alive]}"

    def kill_leftovers(self) -> None:
        """After a failure: kill what this run started, by process id, and wait for it."""
        if self.process.poll() is None:
            self.process.kill()
        for process in self.started:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(self.started, timeout=STOP_DEADLINE_SECONDS)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(STOP_DEADLINE_SECONDS)


@contextlib.contextmanager
def make_run(environment: dict[str, str], log: Path) -> Iterator[MakeRun]:
    run = MakeRun(environment, log)
    try:
        yield run
    finally:
        if run.process.poll() is None or any(p.is_running() for p in run.started):
            run.kill_leftovers()


def idle_connections(environment: dict[str, str]) -> list[socket.socket]:
    """An open, silent connection to each of :data:`HELD_PORTS`."""
    return [
        socket.create_connection(("127.0.0.1", int(environment[name])), timeout=5)
        for name in HELD_PORTS
    ]


def ports_in_time_wait(ports: set[int]) -> set[int]:
    return {
        connection.laddr.port
        for connection in psutil.net_connections(kind="tcp4")
        if connection.status == psutil.CONN_TIME_WAIT and connection.laddr.port in ports
    }


def test_make_run_starts_again_at_once_after_ctrl_c(
    run_environment: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "make-run.log"
    held_ports = {int(run_environment[name]) for name in HELD_PORTS}

    with make_run(run_environment, log) as first:
        first.wait_healthy()
        held = idle_connections(run_environment)
        first.interrupt()
    for connection in held:
        connection.close()  # the servers closed first: their side is left in TIME_WAIT
    assert ports_in_time_wait(held_ports), "the stop left no port in TIME_WAIT"
    assert first.output().splitlines().count("stopped") == 1, first.output()

    with make_run(run_environment, log) as second:
        second.wait_healthy()
        second.interrupt()
    assert "already in use" not in second.output()
    assert second.output().splitlines().count("stopped") == 2, second.output()
