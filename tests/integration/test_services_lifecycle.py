"""Starting, restarting and stopping the local services; nothing is left behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from dev.services import ServicesError, load_services_env, start_services
from dev.services import processes as service_processes
from dev.services.processes import ChildProcess
from dev.services.stack import PROJECT_ROOT, STATE_FILE

pytestmark = [
    pytest.mark.services,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

EXIT_DEADLINE_SECONDS = 30.0


def _wait_until_gone(records: list[ChildProcess]) -> list[ChildProcess]:
    """The records whose process still runs after the deadline."""
    deadline = time.monotonic() + EXIT_DEADLINE_SECONDS
    alive = [record for record in records if service_processes.is_running(record)]
    while alive and time.monotonic() < deadline:
        service_processes.wait_for_exit(alive[0], deadline)
        alive = [record for record in alive if service_processes.is_running(record)]
    return alive


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize(
    "variable", ["AZURITE_BLOB_PORT", "AZURITE_QUEUE_PORT", "COSMOS_EMULATOR_PORT"]
)
def test_a_configured_port_in_use_is_a_clear_error(
    tmp_path: Path, busy_port: int, variable: str
) -> None:
    with pytest.raises(ServicesError, match=f"{variable}={busy_port}.*already in use"):
        start_services(tmp_path, environ={variable: str(busy_port)})

    assert not (tmp_path / STATE_FILE).exists()


def test_one_port_for_two_services_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])

    with pytest.raises(ServicesError, match="AZURITE_TABLE_PORT and COSMOS_EMULATOR_PORT"):
        start_services(tmp_path, environ={"AZURITE_TABLE_PORT": port, "COSMOS_EMULATOR_PORT": port})


def _write_cosmos_and_queue(env: dict[str, str], marker: str) -> None:
    from azure.cosmos import CosmosClient
    from azure.storage.queue import QueueClient

    with CosmosClient(env["COSMOS_ENDPOINT"], env["COSMOS_KEY"], connection_verify=False) as client:
        container = client.get_database_client(env["COSMOS_DATABASE"]).get_container_client("state")
        container.create_item({"id": marker, "ttl": 60})
    with QueueClient.from_connection_string(
        env["AzureWebJobsStorage"], env["PROACTIVE_QUEUE_NAME"]
    ) as queue:
        queue.send_message(marker)


def _read_cosmos_and_queue(env: dict[str, str], marker: str) -> tuple[bool, list[str]]:
    from azure.cosmos import CosmosClient, exceptions
    from azure.storage.queue import QueueClient

    with CosmosClient(env["COSMOS_ENDPOINT"], env["COSMOS_KEY"], connection_verify=False) as client:
        container = client.get_database_client(env["COSMOS_DATABASE"]).get_container_client("state")
        try:
            found = container.read_item(marker, partition_key=marker)["ttl"] == 60
        except exceptions.CosmosResourceNotFoundError:
            found = False
    with QueueClient.from_connection_string(
        env["AzureWebJobsStorage"], env["PROACTIVE_QUEUE_NAME"]
    ) as queue:
        messages = [message.content for message in queue.peek_messages(max_messages=32)]
    return found, messages


def test_restart_keeps_data_fresh_wipes_it_and_stop_leaves_no_process(tmp_path: Path) -> None:
    marker = f"persist-{uuid.uuid4()}"
    first = start_services(tmp_path, fresh=True, environ={})
    try:
        _write_cosmos_and_queue(first.env, marker)
    finally:
        first.stop()
    assert _wait_until_gone(list(first.processes)) == []
    assert not list(tmp_path.glob("*.pid"))
    assert not (tmp_path / STATE_FILE).exists()

    with start_services(tmp_path, environ={}) as second:
        assert _read_cosmos_and_queue(second.env, marker) == (True, [marker])

    with start_services(tmp_path, fresh=True, environ={}) as third:
        assert _read_cosmos_and_queue(third.env, marker) == (False, [])
    assert _wait_until_gone([*second.processes, *third.processes]) == []


def test_command_line_start_status_stop(tmp_path: Path) -> None:
    data_dir, env_file = tmp_path / "data", tmp_path / "services.env"
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AZURITE_", "COSMOS_", "PROACTIVE_"))
    }

    options = ["--data-dir", str(data_dir), "--env-file", str(env_file)]

    def cli(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dev.services", command, *options],
            cwd=PROJECT_ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    started = cli("start")
    state_file = data_dir / STATE_FILE
    state = json.loads(state_file.read_text()) if state_file.exists() else {"processes": []}
    records = [ChildProcess.from_json(entry) for entry in state["processes"]]
    try:
        assert started.returncode == 0, started.stderr
        settings = load_services_env(env_file)
        assert settings["COSMOS_VERIFY_TLS"] == "false"
        assert "QueueEndpoint=http://127.0.0.1:" in settings["AzureWebJobsStorage"]
        assert {record.name for record in records} == {"azurite", "cosmos"}
        for record in records:
            assert (data_dir / f"{record.name}.pid").read_text().strip() == str(record.pid)

        status = cli("status")
        assert status.returncode == 0
        assert settings["COSMOS_ENDPOINT"] in status.stdout

        assert cli("start").returncode == 0  # already running: nothing changes
        assert load_services_env(env_file) == settings
    finally:
        stopped = cli("stop")
    assert stopped.returncode == 0
    assert _wait_until_gone(records) == []
    assert not env_file.exists()
    assert cli("status").returncode == 1


OWNER_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from dev.services import start_services

    services = start_services(Path(sys.argv[1]), environ={})
    print(json.dumps([record.to_json() for record in services.processes]), flush=True)
    sys.stdin.read()
    """
)


def test_services_stop_when_their_owner_is_killed(tmp_path: Path) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT, str(tmp_path)],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    records: list[ChildProcess] = []
    try:
        assert owner.stdout is not None
        line = owner.stdout.readline()
        records = [ChildProcess.from_json(entry) for entry in json.loads(line)]
        assert all(service_processes.is_running(record) for record in records)

        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=EXIT_DEADLINE_SECONDS)

        assert _wait_until_gone(records) == []
    finally:
        for record in records:
            service_processes.stop(record)
        if owner.poll() is None:
            owner.kill()
        owner.wait()


def test_stop_never_signals_a_process_that_only_shares_the_pid(tmp_path: Path) -> None:
    stranger = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        # The record of an older process that had this pid: same pid, other start time.
        recycled = ChildProcess(
            name="cosmos",
            pid=stranger.pid,
            create_time=1.0,
            cmdline=("node", "cosmos_server.js"),
            log=str(tmp_path / "cosmos.log"),
        )

        assert not service_processes.is_running(recycled)
        service_processes.stop(recycled, timeout=0.1)

        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_a_record_written_by_another_process_still_matches_its_process(tmp_path: Path) -> None:
    # Each process reads the boot time once and the kernel recomputes it from the wall clock,
    # so a start time recorded by another process can be a second off.
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
        start_new_session=True,  # as the services are started: stop() signals the group
    )
    try:
        process = psutil.Process(child.pid)
        recorded = ChildProcess(
            name="azurite",
            pid=child.pid,
            create_time=process.create_time() - 1.0,
            cmdline=tuple(process.cmdline()),
            log=str(tmp_path / "azurite.log"),
        )

        assert service_processes.is_running(recorded)
        service_processes.stop(recorded, timeout=5)

        assert child.wait(timeout=5) is not None
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
