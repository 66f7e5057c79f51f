"""Extra function hosts next to the session's: their own queue, a yearly timer, logs kept.

A test that needs the host started with other settings (start-up refusals, the caller policy)
starts one with :func:`isolated_environment` on a free port; it shares the session's services
and channel but never takes work meant for the session host. Its log goes to
:data:`STARTUP_LOG_FOLDER`, which the final log scan of test_startup.py reads too.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from dev.stack import HostProcess, LocalStack, StackError, free_port

STARTUP_LOG_FOLDER = "startup-hosts"
YEARLY = "0 0 0 1 1 *"


def startup_log(stack: LocalStack, name: str) -> Path:
    """A log file for a start-up host, kept with the session's logs for the final scan."""
    return stack.work_dir / STARTUP_LOG_FOLDER / f"{name}-{uuid.uuid4().hex[:8]}.log"


def isolated_environment(stack: LocalStack, changes: Mapping[str, str | None]) -> dict[str, str]:
    """The session host's environment with ``changes`` (None removes a variable)."""
    environment = {
        **stack.host_environment,
        "PROACTIVE_QUEUE_NAME": f"startup-{uuid.uuid4().hex[:12]}",
        "SCHEDULE_TIMER": YEARLY,
    }
    for name, value in changes.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


@contextlib.contextmanager
def side_host(
    stack: LocalStack, name: str, changes: Mapping[str, str | None]
) -> Iterator[HostProcess]:
    """A running side host with the session's environment and ``changes``; stopped after."""
    environment = isolated_environment(stack, changes)
    host = HostProcess.start(environment, port=free_port(), log_file=startup_log(stack, name))
    try:
        yield host
    finally:
        host.stop()


def refused_start(stack: LocalStack, name: str, changes: Mapping[str, str | None]) -> str:
    """Start a side host that must refuse to start; its failure, then its log (checked)."""
    log_file = startup_log(stack, name)
    try:
        host = HostProcess.start(
            isolated_environment(stack, changes), port=free_port(), log_file=log_file
        )
    except StackError as error:
        failure = str(error)
    else:
        host.stop()
        raise AssertionError(f"the host {name} started, but it had to refuse")
    assert "exited" in failure  # it stopped by itself, it did not hang
    return failure + "\n" + log_file.read_text(errors="replace")
