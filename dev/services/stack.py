"""Start, stop and inspect the local stack: Azurite and the Cosmos DB emulator.

The state of a started stack lives in its data directory: ``services.json`` (ports, settings
and the identity of each process), ``<service>.pid`` and ``<service>.log``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dev.services import processes
from dev.services.errors import ServicesError
from dev.services.ports import HOST, PORT_VARIABLES, ServicePorts, choose_ports
from dev.services.processes import ChildProcess
from dev.services.provisioning import provision
from dev.services.readiness import ServiceExitedError, wait_until_answers
from dev.services.settings_file import (
    load_services_env,
    services_settings,
    write_services_env,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = PROJECT_ROOT / "node_modules"
COSMOS_LAUNCHER = Path(__file__).with_name("cosmos_server.js")

DEFAULT_DATA_DIR = PROJECT_ROOT / ".local" / "services"
DEFAULT_ENV_FILE = PROJECT_ROOT / ".local" / "services.env"
"""Read by ``make host`` and ``dev.run``."""
STATE_FILE = "services.json"

START_TIMEOUT_SECONDS = 60.0
START_ATTEMPTS = 3
"""Free ports are chosen before the services bind them; a lost race is retried on new ports."""


@dataclass
class RunningServices:
    """A started local stack.

    Attributes:
        data_dir: Where the services keep their data, logs, pid files and state.
        env_file: The ``services.env`` written for this stack.
        env: The app settings pointing at the stack (``AzureWebJobsStorage``,
            ``COSMOS_ENDPOINT``, ``COSMOS_KEY``, ``COSMOS_DATABASE``, ``COSMOS_VERIFY_TLS``,
            ``PROACTIVE_QUEUE_NAME``).
        ports: The ports the services listen on.
        processes: The service processes.
    """

    data_dir: Path
    env_file: Path
    env: dict[str, str]
    ports: ServicePorts
    processes: tuple[ChildProcess, ...]
    _popens: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    def stop(self) -> None:
        """Stop every service process (SIGTERM, then SIGKILL) and remove the state files.

        Safe to call more than once.
        """
        atexit.unregister(self.stop)
        for record in self.processes:
            processes.stop(record)
        for popen in self._popens:
            # Reap the children started by this process so none is left as a zombie.
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=processes.STOP_TIMEOUT_SECONDS)
        _remove_state(self.data_dir, self.env_file, self.env)

    def __enter__(self) -> RunningServices:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_services(
    data_dir: Path = DEFAULT_DATA_DIR,
    *,
    fresh: bool = False,
    env_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    detach: bool = False,
    persist: bool = True,
    timeout: float = START_TIMEOUT_SECONDS,
) -> RunningServices:
    """Start Azurite and the Cosmos DB emulator, wait until they answer, provision them.

    Args:
        data_dir: Where the services keep their data; it survives restarts.
        fresh: Delete the data first.
        env_file: Where to write the settings as KEY=VALUE lines. When not given:
            :data:`DEFAULT_ENV_FILE` for the default data directory, else
            ``data_dir/services.env`` (so a test stack never overwrites the developer's).
        environ: Where ``AZURITE_*_PORT``, ``COSMOS_EMULATOR_PORT``, ``COSMOS_DATABASE`` and
            ``PROACTIVE_QUEUE_NAME`` are read; the process environment when not given. Pass
            ``{}`` for free ports and default names.
        detach: Leave the services running when this process exits (``make services``).
            Otherwise they are stopped at exit, and stop on their own if this process is
            killed.
        persist: Keep data on disk across restarts. ``False`` holds everything in memory
            (Azurite's ``--inMemoryPersistence``, no Cosmos snapshot file): for throwaway stacks
            whose write load should not pay for disk I/O.
        timeout: Seconds each service gets to answer.

    Returns:
        The running stack; call :meth:`RunningServices.stop` (or use it as a context manager).

    Raises:
        ServicesError: node_modules is missing, a configured port is in use (the message names
            the variable), a stack already runs on ``data_dir``, or a service failed to start
            (the message holds the tail of its log).
    """
    environ = os.environ if environ is None else environ
    data_dir = data_dir.resolve()
    if env_file is None:
        env_file = DEFAULT_ENV_FILE if data_dir == DEFAULT_DATA_DIR else data_dir / "services.env"
    env_file = env_file.resolve()
    _check_installed()
    if _live_records(data_dir):
        raise ServicesError(
            f"the local services already run on {data_dir}; "
            f"stop them first: python -m dev.services stop --data-dir {data_dir}"
        )
    _remove_state(data_dir, None, None)
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)

    ports, popens, records = _launch_on_free_ports(
        data_dir, environ, detach=detach, persist=persist, timeout=timeout
    )
    settings = services_settings(
        ports,
        database=environ.get("COSMOS_DATABASE") or "bot",
        queue_name=environ.get("PROACTIVE_QUEUE_NAME") or "proactive-sends",
    )
    services = RunningServices(data_dir, env_file, settings, ports, tuple(records), popens)
    try:
        _write_state(services)  # first, so `stop` finds the processes whatever happens next
        provision(settings)
        write_services_env(env_file, settings)
    except BaseException:
        services.stop()
        raise
    if not detach:
        atexit.register(services.stop)
    return services


def _launch_on_free_ports(
    data_dir: Path, environ: Mapping[str, str], *, detach: bool, persist: bool, timeout: float
) -> tuple[ServicePorts, list[subprocess.Popen[bytes]], list[ChildProcess]]:
    attempt = 1
    while True:
        ports = choose_ports(environ)
        try:
            popens, records = _launch(
                data_dir, ports, detach=detach, persist=persist, timeout=timeout
            )
        except ServiceExitedError as error:
            # Another process took a free port between choosing it and binding it.
            all_configured = len(ports.configured) == len(PORT_VARIABLES)
            if "EADDRINUSE" not in error.log_text or all_configured or attempt >= START_ATTEMPTS:
                raise
            attempt += 1
            continue
        return ports, popens, records


def _check_installed() -> None:
    for package in ("azurite", "@vercel/cosmosdb-server"):
        if not (NODE_MODULES / package / "package.json").is_file():
            raise ServicesError(f"{package} is not installed in {NODE_MODULES}; run `make setup`")


def _azurite_script() -> Path:
    manifest = json.loads((NODE_MODULES / "azurite" / "package.json").read_text(encoding="utf-8"))
    return NODE_MODULES / "azurite" / str(manifest["bin"]["azurite"])


def _launch(
    data_dir: Path, ports: ServicePorts, *, detach: bool, persist: bool, timeout: float
) -> tuple[list[subprocess.Popen[bytes]], list[ChildProcess]]:
    azurite_args = [
        *("--blobHost", HOST, "--blobPort", str(ports.blob)),
        *("--queueHost", HOST, "--queuePort", str(ports.queue)),
        *("--tableHost", HOST, "--tablePort", str(ports.table)),
        *(("--location", str(data_dir / "azurite")) if persist else ("--inMemoryPersistence",)),
        "--silent",
        "--skipApiVersionCheck",
        "--disableTelemetry",  # nothing but 127.0.0.1 is ever contacted
    ]
    cosmos_args = ["--port", str(ports.cosmos), "--host", HOST]
    if persist:
        cosmos_state = data_dir / "cosmos" / "state.json"
        cosmos_state.parent.mkdir(parents=True, exist_ok=True)
        cosmos_args += ["--state", str(cosmos_state)]
    plan = [
        (
            "azurite",
            processes.node_command(_azurite_script(), azurite_args),
            [f"http://{HOST}:{port}/" for port in (ports.blob, ports.queue, ports.table)],
        ),
        (
            "cosmos",
            processes.node_command(COSMOS_LAUNCHER, cosmos_args),
            [f"https://{HOST}:{ports.cosmos}/"],
        ),
    ]
    popens: list[subprocess.Popen[bytes]] = []
    records: list[ChildProcess] = []
    try:
        for name, command, _ in plan:
            popen, record = processes.spawn(
                name,
                command,
                log=data_dir / f"{name}.log",
                cwd=data_dir,  # whatever a service writes beside its data stays in data_dir
                watch_parent=not detach,
            )
            popens.append(popen)
            records.append(record)
        deadline = time.monotonic() + timeout
        for (name, _, urls), popen in zip(plan, popens, strict=True):
            wait_until_answers(name, urls, popen, data_dir / f"{name}.log", deadline)
    except BaseException:
        for record in records:
            processes.stop(record)
        for popen in popens:
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=processes.STOP_TIMEOUT_SECONDS)
        raise
    return popens, records


def _write_state(services: RunningServices) -> None:
    state = {
        "ports": {name: getattr(services.ports, name) for name in PORT_VARIABLES},
        "env_file": str(services.env_file),
        "env": services.env,
        "processes": [record.to_json() for record in services.processes],
    }
    path = services.data_dir / STATE_FILE
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(state, indent=2), encoding="utf-8")
    temporary.replace(path)
    for record in services.processes:
        (services.data_dir / f"{record.name}.pid").write_text(f"{record.pid}\n", encoding="utf-8")


def _read_state(data_dir: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((data_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _records(state: Mapping[str, Any]) -> list[ChildProcess]:
    return [ChildProcess.from_json(entry) for entry in state.get("processes", [])]


def _live_records(data_dir: Path) -> list[ChildProcess]:
    state = _read_state(data_dir)
    if state is None:
        return []
    return [record for record in _records(state) if processes.is_running(record)]


def _remove_state(data_dir: Path, env_file: Path | None, env: Mapping[str, str] | None) -> None:
    for name in (STATE_FILE, "azurite.pid", "cosmos.pid"):
        with contextlib.suppress(FileNotFoundError):
            (data_dir / name).unlink()
    if env_file is not None and env is not None:
        # Only remove the settings file if it still describes this stack.
        with contextlib.suppress(OSError):
            if load_services_env(env_file) == dict(env):
                env_file.unlink()


@dataclass(frozen=True)
class ServicesStatus:
    """What runs on a data directory."""

    data_dir: Path
    running: tuple[ChildProcess, ...]
    stopped: tuple[str, ...]
    env: dict[str, str]
    env_file: Path | None


def services_status(data_dir: Path = DEFAULT_DATA_DIR) -> ServicesStatus:
    """Which recorded service processes still run, and their settings."""
    data_dir = data_dir.resolve()
    state = _read_state(data_dir) or {}
    records = _records(state)
    running = tuple(record for record in records if processes.is_running(record))
    stopped = tuple(record.name for record in records if record not in running)
    env_file = state.get("env_file")
    return ServicesStatus(
        data_dir=data_dir,
        running=running,
        stopped=stopped,
        env=dict(state.get("env", {})),
        env_file=Path(env_file) if env_file else None,
    )


def stop_services(data_dir: Path = DEFAULT_DATA_DIR) -> list[str]:
    """Stop the services recorded in ``data_dir`` (by pid, only if still ours); clean up.

    Returns:
        The names of the services that were running and are now stopped.
    """
    data_dir = data_dir.resolve()
    state = _read_state(data_dir)
    if state is None:
        _remove_state(data_dir, None, None)
        return []
    stopped = []
    for record in _records(state):
        if processes.is_running(record):
            processes.stop(record)
            stopped.append(record.name)
    env_file = state.get("env_file")
    _remove_state(data_dir, Path(env_file) if env_file else None, state.get("env"))
    return stopped
