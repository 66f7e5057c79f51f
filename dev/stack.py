"""The whole local stack in one place: emulators, local channel, function host.

``make run`` (:mod:`dev.run`) and the end-to-end fixtures both start the stack through
:func:`start_stack`, so what a developer runs is what the tests run:

1. Azurite and the Cosmos DB emulator (:mod:`dev.services`), provisioned;
2. the local channel (:mod:`dev.channel`): Bot Connector, OpenID issuer, HTTPS token endpoint;
3. ``python -m dev.host`` running the real ``function_app.py`` with the settings of 1 and 2
   layered over ``local.settings.json`` (the environment wins, as with Core Tools).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import (
    LOCAL_SETTINGS_FILE,
    LOCAL_SETTINGS_PATH_VARIABLE,
    SettingsError,
    read_local_values,
)
from dev.channel import ChannelProcess
from dev.services import RunningServices, start_services

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SAMPLE = "echo"
"""``BOT_SAMPLE`` when neither the environment nor ``local.settings.json`` sets it."""
HOST_READY_TIMEOUT_SECONDS = 60.0
POLL_INTERVAL_SECONDS = 0.05


MAX_HOSTS = 4
"""The most hosts a local stack runs (two cores are shared; four show the scale-out)."""


class StackError(Exception):
    """A part of the local stack failed to start; the message says which and why."""


def resolve_bot_sample(environment: Mapping[str, str]) -> str:
    """The sample a host started with ``environment`` runs, resolved as the host does.

    ``BOT_SAMPLE`` from the environment wins over ``local.settings.json`` (``LOCAL_SETTINGS_PATH``
    or the one in the repository), as with Core Tools; ``echo`` when neither sets it. The host
    checks the value at start-up; this only names it (for ``make run`` and the playground).
    """
    if environment.get("BOT_SAMPLE"):
        return environment["BOT_SAMPLE"]
    configured = environment.get(LOCAL_SETTINGS_PATH_VARIABLE)
    path = Path(configured) if configured else REPOSITORY_ROOT / LOCAL_SETTINGS_FILE
    try:
        values = read_local_values(path)
    except SettingsError:  # an unreadable file stops the host itself, with the reason
        return DEFAULT_SAMPLE
    return values.get("BOT_SAMPLE") or DEFAULT_SAMPLE


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class HostProcess:
    """A ``python -m dev.host`` child process serving the real ``function_app.py``.

    Attributes:
        process: The child.
        url: Its origin, ``http://127.0.0.1:PORT``.
        environment: The environment it runs with.
        log_file: Where its output goes.
    """

    process: subprocess.Popen[bytes]
    url: str
    environment: dict[str, str]
    log_file: Path

    @classmethod
    def start(
        cls,
        environment: Mapping[str, str],
        *,
        port: int,
        log_file: Path,
        timeout: float = HOST_READY_TIMEOUT_SECONDS,
    ) -> HostProcess:
        """Start the host and wait until ``/admin/host/status`` answers 200.

        Raises:
            StackError: The host exited or was not ready in time (its log tail is included).
        """
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("ab") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "dev.host", "--app-dir", str(REPOSITORY_ROOT)],
                cwd=REPOSITORY_ROOT,
                env={**environment, "FUNCTIONS_HTTP_PORT": str(port)},
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        host = cls(process, f"http://127.0.0.1:{port}", dict(environment), log_file)
        deadline = time.monotonic() + timeout
        while not host.ready():
            if process.poll() is not None:
                raise StackError(f"the function host exited ({process.returncode}):\n{host.tail()}")
            if time.monotonic() > deadline:
                host.stop()
                raise StackError(f"the function host was not ready in {timeout} s:\n{host.tail()}")
            time.sleep(POLL_INTERVAL_SECONDS)
        return host

    def ready(self) -> bool:
        """Whether the host answers its status route."""
        try:
            with urllib.request.urlopen(self.url + "/admin/host/status", timeout=1) as response:  # noqa: S310 - loopback URL we built
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def tail(self, lines: int = 40) -> str:
        """The last lines of the host's output."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def kill(self) -> None:
        """SIGKILL, as an instance that dies holding work (rehearsals of a crash)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (graceful: in-flight invocations finish), then SIGKILL after ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class LocalStack:
    """The running stack; :meth:`stop` stops every process it started.

    Attributes:
        services: Azurite and the Cosmos DB emulator.
        channel: The local channel process.
        host: The function host process (the channel delivers inbound activities to it).
        work_dir: Where logs and state files go.
        host_environment: The environment the host runs with (without the port).
        more_hosts: Further hosts on the same emulators, queues and timer, as scaled-out
            instances of the app would run.
        bot_sample: The sample the stack started the host with (``BOT_SAMPLE``), also shown by
            the playground; a :meth:`restart_host` with another ``BOT_SAMPLE`` (tests) does
            not change the playground's label.
    """

    services: RunningServices
    channel: ChannelProcess
    host: HostProcess
    work_dir: Path
    host_environment: dict[str, str] = field(default_factory=dict)
    bot_sample: str = DEFAULT_SAMPLE
    more_hosts: list[HostProcess] = field(default_factory=list)

    @property
    def hosts(self) -> list[HostProcess]:
        """Every host, the first one first."""
        return [self.host, *self.more_hosts]

    def add_host(self) -> HostProcess:
        """Start one more host on the same emulators, queues and timer (a free port)."""
        number = len(self.hosts) + 1
        host = HostProcess.start(
            self.host_environment,
            port=free_port(),
            log_file=self.work_dir / f"host{number}.log",
        )
        self.more_hosts.append(host)
        return host

    @property
    def messages_url(self) -> str:
        """The bot's ``/api/messages``."""
        return self.host.url + "/api/messages"

    def restart_host(self, extra: Mapping[str, str] | None = None) -> HostProcess:
        """Stop the host and start a new one on the same port (state must survive this)."""
        self.host.stop()
        environment = {**self.host_environment, **(extra or {})}
        port = int(self.host.url.rsplit(":", 1)[1])
        self.host = HostProcess.start(environment, port=port, log_file=self.host.log_file)
        return self.host

    def stop(self) -> None:
        """Stop the hosts, the channel and the services, in that order."""
        for host in reversed(self.hosts):
            with contextlib.suppress(Exception):
                host.stop()
        with contextlib.suppress(Exception):
            self.channel.stop()
        self.services.stop()


def start_stack(
    work_dir: Path,
    *,
    data_dir: Path | None = None,
    fresh: bool = False,
    persist: bool = True,
    host_port: int | None = None,
    settings: Mapping[str, str] | None = None,
    base_environment: Mapping[str, str] | None = None,
    channel_arguments: tuple[str, ...] = (),
    app_id: str | None = None,
    app_password: str | None = None,
    hosts: int = 1,
) -> LocalStack:
    """Start services, channel and host; on any failure stop what was started.

    Args:
        work_dir: Logs and the channel's state file.
        data_dir: The services' data (``work_dir/services`` when not given).
        fresh: Wipe the services' data first.
        persist: Keep the services' data on disk.
        host_port: The host's port; a free one when not given.
        settings: App settings that win over everything else (tests set the schedule timer,
            the hash key, ...).
        base_environment: The host's base environment; this process's when not given.
        channel_arguments: Extra ``dev.channel`` options (``--rate-limits``, ``--no-auth``).
        app_id: The bot's app id; the channel makes up one when not given.
        app_password: Its client secret at the local token endpoint.
        hosts: How many function hosts (1 to 4) poll the same queues and run the same timer,
            like scaled-out instances; the channel sends inbound activities to the first.

    Raises:
        StackError: A part did not start; the message names it.
    """
    if not 1 <= hosts <= MAX_HOSTS:
        raise StackError(f"hosts must be 1 to {MAX_HOSTS}")
    work_dir.mkdir(parents=True, exist_ok=True)
    port = host_port or free_port()
    with contextlib.ExitStack() as cleanup:
        services = start_services(data_dir or work_dir / "services", fresh=fresh, persist=persist)
        cleanup.callback(services.stop)
        base = os.environ if base_environment is None else base_environment
        # The playground enqueues to the host's own queue: same connection, same queue name.
        layered = {**base, **services.env, **(settings or {})}
        queue_settings = {
            name: layered[name]
            for name in ("AzureWebJobsStorage", "PROACTIVE_QUEUE_NAME")
            if layered.get(name)
        }
        sample = resolve_bot_sample(layered)
        channel = ChannelProcess.start(
            work_dir / "channel.json",
            bot_url=f"http://127.0.0.1:{port}/api/messages",
            app_id=app_id,
            app_password=app_password,
            extra_arguments=(*channel_arguments, "--bot-sample", sample),
            environ={**os.environ, **queue_settings},
            output=work_dir / "channel.log",
        )
        cleanup.callback(channel.stop)
        environment = {
            **base,
            **services.env,
            **channel.bot_settings,
            **(settings or {}),
        }
        host = HostProcess.start(environment, port=port, log_file=work_dir / "host.log")
        cleanup.callback(host.stop)
        stack = LocalStack(services, channel, host, work_dir, environment, sample)
        for _ in range(hosts - 1):
            cleanup.callback(stack.add_host().stop)
        cleanup.pop_all()
    return stack
