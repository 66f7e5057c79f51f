"""The local function host, run as ``python -m dev.host`` against a fixture app and Azurite."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from dev.services import RunningServices

pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_APP = Path(__file__).resolve().parent / "host_fixture_app"
START_DEADLINE_SECONDS = 60.0
EVENT_DEADLINE_SECONDS = 30.0
MAX_DEQUEUE_COUNT = 3  # as in host_fixture_app/host.json
LEASE_SECONDS = 2
"""The module host's queue message lease (``--queue-lease-seconds``)."""

T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def eventually(check: Callable[[], T | None], what: str, deadline: float) -> T:
    """Poll ``check`` until it returns something other than None, or fail after ``deadline``."""
    until = time.monotonic() + deadline
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > until:
            pytest.fail(f"timed out after {deadline:.0f} s waiting for {what}")
        time.sleep(0.1)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(url: str, method: str = "GET", body: bytes | None = None) -> Answer:
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read())


@dataclass
class Host:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def counters(self) -> dict[str, Any]:
        answer = call(f"{self.base_url}/api/counters")
        assert answer.status == 200
        result: dict[str, Any] = answer.json()
        return result

    def queue(self, name: str) -> QueueClient:
        return QueueClient.from_connection_string(
            self.env["AzureWebJobsStorage"],
            name,
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )

    def send(self, name: str, text: str) -> str:
        """Enqueue ``text`` as the Functions default encoding (base64); returns its id."""
        with self.queue(name) as queue:
            with contextlib.suppress(ResourceExistsError):
                queue.create_queue()  # the host creates it too; whoever is first
            return str(queue.send_message(text).id)


def host_environment(base: dict[str, str], port: int, settings_file: Path) -> dict[str, str]:
    return {
        **os.environ,
        **base,
        "FUNCTIONS_HTTP_PORT": str(port),
        "LOCAL_SETTINGS_PATH": str(settings_file),
        "FIXTURE_TIMER": "* * * * * *",  # every second; local.settings.json says otherwise
        "FIXTURE_QUEUE": f"host-e2e-{uuid.uuid4().hex[:12]}",
        "FIXTURE_FAILING_QUEUE": f"host-e2e-failing-{uuid.uuid4().hex[:12]}",
        "FIXTURE_SLOW_QUEUE": f"host-e2e-slow-{uuid.uuid4().hex[:12]}",
    }


def write_local_settings(folder: Path) -> Path:
    path = folder / "local.settings.json"
    values = {"FIXTURE_GREETING": "from-local-settings", "FIXTURE_TIMER": "0 0 0 1 1 *"}
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values}), encoding="utf-8")
    return path


def start_host(env: dict[str, str], log: Path, *arguments: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "dev.host", "--app-dir", str(FIXTURE_APP), *arguments],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def stop_host(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@pytest.fixture(scope="module")
def host(
    local_services: RunningServices, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Host]:
    folder = tmp_path_factory.mktemp("host")
    port = free_port()
    env = host_environment(local_services.env, port, write_local_settings(folder))
    log = folder / "host.log"
    process = start_host(env, log, "--queue-lease-seconds", str(LEASE_SECONDS))
    running = Host(f"http://127.0.0.1:{port}", env, process, log)
    try:

        def ready() -> bool | None:
            if process.poll() is not None:
                pytest.fail(f"the host exited with {process.returncode}:\n{log.read_text()}")
            try:
                answer = call(f"{running.base_url}/admin/host/status")
            except OSError:
                return None
            return True if answer.status == 200 and answer.json() == {"state": "Running"} else None

        eventually(ready, "the host to be Running", START_DEADLINE_SECONDS)
        yield running
    finally:
        status = stop_host(process)
        print(log.read_text(errors="replace"))  # shown by pytest when a test failed
        assert status == 0, "the host did not stop cleanly on SIGTERM"


def test_http_route_with_parameter_and_local_settings(host: Host) -> None:
    answer = call(f"{host.base_url}/api/Hello/Ada?q=1")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == {"hello": "Ada", "greeting": "from-local-settings", "query": "1"}


def test_sync_function_gets_the_body_and_sets_status_headers_and_mimetype(host: Host) -> None:
    answer = call(f"{host.base_url}/api/echo", "POST", b"\x00binary\xff")
    assert answer.status == 201
    assert answer.body == b"\x00binary\xff"
    assert answer.headers["X-Echo-Length"] == "8"
    assert answer.headers["Content-Type"] == "application/octet-stream"


def test_route_constraint_mismatch_is_404_json(host: Host) -> None:
    answer = call(f"{host.base_url}/api/hello/Ada1")
    assert answer.status == 404
    assert answer.json()["error"]["code"] == "NotFound"


def test_unknown_route_is_404_json(host: Host) -> None:
    answer = call(f"{host.base_url}/api/no/such/route")
    assert answer.status == 404
    assert set(answer.json()["error"]) == {"code", "message"}


def test_wrong_method_is_405_json(host: Host) -> None:
    answer = call(f"{host.base_url}/api/echo")
    assert answer.status == 405
    assert answer.headers["Allow"] == "POST"
    assert answer.json()["error"]["code"] == "MethodNotAllowed"


def test_raising_function_is_500_without_a_stack_trace(host: Host) -> None:
    answer = call(f"{host.base_url}/api/boom")
    assert answer.status == 500
    assert answer.json()["error"]["code"] == "InternalServerError"
    assert b"FIXTURE-INTERNAL-DETAIL" not in answer.body
    assert b"Traceback" not in answer.body

    def logged() -> bool | None:
        text = host.log.read_text(errors="replace")
        return True if "FIXTURE-INTERNAL-DETAIL" in text and "Traceback" in text else None

    eventually(logged, "the traceback in the host log", EVENT_DEADLINE_SECONDS)


def test_timer_fires_on_its_schedule_from_the_environment(host: Host) -> None:
    # local.settings.json schedules it once a year; the environment's every-second wins.
    start = host.counters()["timerRuns"]

    def ran_twice_more() -> int | None:
        runs = int(host.counters()["timerRuns"])
        return runs if runs >= start + 2 else None

    eventually(ran_twice_more, "two more timer runs", EVENT_DEADLINE_SECONDS)


def test_queue_message_reaches_the_queue_function(host: Host) -> None:
    name = host.env["FIXTURE_QUEUE"]
    text = f'{{"hello": "queue", "n": "{uuid.uuid4()}"}}'
    sent = host.send(name, text)

    def received() -> dict[str, Any] | None:
        seen = [item for item in host.counters()["received"] if item["id"] == sent]
        return seen[0] if seen else None

    message = eventually(received, "the queue function to get the message", EVENT_DEADLINE_SECONDS)
    assert message["body"] == text
    assert message["dequeueCount"] == 1

    def deleted() -> bool | None:
        with host.queue(name) as queue:
            return True if not list(queue.peek_messages(max_messages=32)) else None

    eventually(deleted, "the message to be deleted", EVENT_DEADLINE_SECONDS)


def test_failing_message_is_retried_then_moved_to_poison_intact(host: Host) -> None:
    name = host.env["FIXTURE_FAILING_QUEUE"]
    text = f"never succeeds {uuid.uuid4()} ünïcode"
    before = host.counters()["failingAttempts"]
    host.send(name, text)

    def poisoned() -> list[str] | None:
        with host.queue(f"{name}-poison") as poison:
            try:
                bodies = [str(m.content) for m in poison.peek_messages(max_messages=32)]
            except ResourceNotFoundError:  # the host creates it on first use
                return None
        return bodies or None

    bodies = eventually(poisoned, "the message in the poison queue", EVENT_DEADLINE_SECONDS)
    assert bodies == [text]
    assert host.counters()["failingAttempts"] - before == MAX_DEQUEUE_COUNT
    with host.queue(name) as queue:
        assert list(queue.peek_messages(max_messages=32)) == []


def test_a_function_outlasting_its_message_lease_keeps_the_message_until_it_ends(
    host: Host,
) -> None:
    name = host.env["FIXTURE_SLOW_QUEUE"]
    sent = host.send(name, f"slow {uuid.uuid4()}")

    def invocations() -> list[dict[str, Any]]:
        return [item for item in host.counters()["slow"] if item["id"] == sent]

    eventually(lambda: invocations() or None, "the slow function to start", EVENT_DEADLINE_SECONDS)
    # Without renewal the message would be visible again one lease after the fetch and be
    # handed to a second invocation; the host renews it at half the lease instead.
    watch_until = time.monotonic() + 3 * LEASE_SECONDS
    try:
        while time.monotonic() < watch_until:
            with host.queue(name) as queue:
                assert list(queue.peek_messages(max_messages=32)) == []
            assert len(invocations()) == 1
            time.sleep(0.2)
    finally:
        assert call(f"{host.base_url}/api/slow/release", "POST").status == 200

    def deleted() -> bool | None:
        # Settled with the renewed pop receipt: gone, not back after another lease.
        finished = all(item["finished"] for item in invocations())
        with host.queue(name) as queue:
            count = queue.get_queue_properties().approximate_message_count
        return True if finished and count == 0 else None

    eventually(deleted, "the message deleted after the function ended", EVENT_DEADLINE_SECONDS)
    assert [item["dequeueCount"] for item in invocations()] == [1]
    assert "lost its lease" not in host.log.read_text(errors="replace")


def test_message_that_is_not_base64_goes_to_poison_without_an_invocation(host: Host) -> None:
    name = host.env["FIXTURE_QUEUE"]
    text = f"not base64 {uuid.uuid4()}!"
    received_before = len(host.counters()["received"])
    with QueueClient.from_connection_string(host.env["AzureWebJobsStorage"], name) as raw:
        with contextlib.suppress(ResourceExistsError):
            raw.create_queue()
        raw.send_message(text)  # no encode policy: the text as it is

    def poisoned() -> list[str] | None:
        with QueueClient.from_connection_string(
            host.env["AzureWebJobsStorage"], f"{name}-poison"
        ) as poison:
            try:
                bodies = [str(m.content) for m in poison.peek_messages(max_messages=32)]
            except ResourceNotFoundError:
                return None
        return [body for body in bodies if body == text] or None

    eventually(poisoned, "the undecodable message in the poison queue", EVENT_DEADLINE_SECONDS)
    assert len(host.counters()["received"]) == received_before


def test_port_in_use_fails_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        env = host_environment(
            {"AzureWebJobsStorage": "UseDevelopmentStorage=true"},
            port,
            write_local_settings(tmp_path),
        )
        log = tmp_path / "host.log"
        process = start_host(env, log)
        try:
            process.wait(timeout=START_DEADLINE_SECONDS)
        finally:
            stop_host(process)
    output = log.read_text(errors="replace")
    assert process.returncode != 0, output
    assert "FUNCTIONS_HTTP_PORT" in output
    assert f"port {port}" in output
