"""One run of the suite: its options, its sizes, and the local stack the benchmarks share.

The stack (emulators, local channel, function host) takes seconds to start, so the benchmarks
that need it share one, started on first use and stopped by :meth:`BenchSession.close`, which
also removes the session's temporary directory. Nothing is left running.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.environment import NO_LOCAL_SETTINGS, clean_environment, unpin_ports
from dev.stack import LocalStack, start_stack

DEFAULT_PEERS_DIR = Path("/work/shared/peers")

STACK_SETTINGS = {
    "LOCAL_SETTINGS_PATH": NO_LOCAL_SETTINGS,
    "BOT_AUTH_DISABLED": "false",
    "KEY_HASH_SECRET": "bench-hmac-key-of-at-least-thirty-two-bytes",
    "BOT_TOKEN_ISSUER": "https://api.botframework.com",
    # The schedule tick once a year: a tick during a measurement would only add noise.
    "SCHEDULE_TIMER": "0 0 0 1 1 *",
}
"""App settings of the stack's host, over what the services and the channel provide."""


@dataclass(frozen=True)
class Sizes:
    """How much work each benchmark does.

    Attributes:
        cold_start_runs: Fresh interpreters per measurement (the median is reported).
        inbound_activities: Activities through the in-process inbound path.
        http_requests: Requests to ``/api/messages`` of the local host.
        http_concurrency: Requests in flight at once.
        http_conversations: Distinct conversations the requests are spread over.
        proactive_sends: Conversations messaged by the send benchmark (one message each).
        proactive_concurrency: Sends in flight at once.
        proactive_repeats: Runs per variant; the median run is reported (the machine may be
            shared, and one run can be unlucky).
        connector_delay_ms: How long the local connector waits before answering.
        queue_messages: Messages enqueued for the queue drain.
        queue_conversations: Stored conversations the queued messages go to.
    """

    cold_start_runs: int
    inbound_activities: int
    http_requests: int
    http_concurrency: int
    http_conversations: int
    proactive_sends: int
    proactive_concurrency: int
    proactive_repeats: int
    connector_delay_ms: int
    queue_messages: int
    queue_conversations: int


FULL = Sizes(
    cold_start_runs=5,
    inbound_activities=5000,
    http_requests=2000,
    http_concurrency=16,
    http_conversations=200,
    proactive_sends=2000,
    proactive_concurrency=50,
    proactive_repeats=3,
    connector_delay_ms=20,
    queue_messages=10_000,
    queue_conversations=2000,
)
QUICK = Sizes(
    cold_start_runs=2,
    inbound_activities=500,
    http_requests=200,
    http_concurrency=16,
    http_conversations=20,
    proactive_sends=200,
    proactive_concurrency=50,
    proactive_repeats=1,
    connector_delay_ms=20,
    queue_messages=500,
    queue_conversations=100,
)


@dataclass(frozen=True)
class BenchOptions:
    """The command line.

    Attributes:
        quick: Small sizes, for a smoke run.
        queue_messages: Overrides the queue drain's message count.
        http_concurrency: Overrides the requests in flight of ``inbound_http`` (the Flex
            ``perInstanceConcurrency`` of docs/deployment.md comes from runs at 1, 16 and 32).
        peers_dir: Where the peers' scripts and virtualenvs are.
    """

    quick: bool = False
    queue_messages: int | None = None
    http_concurrency: int | None = None
    peers_dir: Path = DEFAULT_PEERS_DIR


class BenchSession:
    """The state shared by the benchmarks of one run.

    Args:
        options: The command line.
    """

    def __init__(self, options: BenchOptions) -> None:
        self.options = options
        base = QUICK if options.quick else FULL
        if options.queue_messages is not None:
            base = dataclasses.replace(
                base,
                queue_messages=options.queue_messages,
                queue_conversations=max(1, min(base.queue_conversations, options.queue_messages)),
            )
        if options.http_concurrency is not None:
            base = dataclasses.replace(base, http_concurrency=options.http_concurrency)
        self.sizes = base
        unpin_ports()
        self.work_dir = Path(tempfile.mkdtemp(prefix="bench-"))
        self._stack: LocalStack | None = None

    def stack(self) -> LocalStack:
        """The local stack (started on first call): emulators, channel, host; auth on."""
        if self._stack is None:
            self._stack = start_stack(
                self.work_dir / "stack",
                fresh=True,
                persist=False,
                settings=STACK_SETTINGS,
                base_environment=clean_environment(),
            )
        return self._stack

    def close(self) -> None:
        """Stop the stack if it was started and remove the temporary directory."""
        try:
            if self._stack is not None:
                self._stack.stop()
                self._stack = None
        finally:
            shutil.rmtree(self.work_dir, ignore_errors=True)
