"""Waiting until a freshly started service answers HTTP, with a deadline."""

from __future__ import annotations

import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from dev.services.errors import ServicesError
from dev.services.processes import log_tail

POLL_INTERVAL_SECONDS = 0.1
PROBE_TIMEOUT_SECONDS = 2.0


class ServiceExitedError(ServicesError):
    """The service's process ended before it answered."""

    def __init__(self, message: str, log_text: str) -> None:
        super().__init__(message)
        self.log_text = log_text


def _answers(url: str) -> bool:
    # The emulator's certificate is self-signed and the probe only ever goes to 127.0.0.1.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, method="GET")  # noqa: S310 - a fixed loopback URL
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=PROBE_TIMEOUT_SECONDS, context=context
        ):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP status means the server is up (Azurite answers 4xx to "/")
    except (urllib.error.URLError, OSError):
        return False


def wait_until_answers(
    name: str,
    urls: list[str],
    process: subprocess.Popen[bytes],
    log: Path,
    deadline: float,
) -> None:
    """Return once every URL answers; fail if the process exits or ``deadline`` passes.

    Args:
        name: The service, for messages.
        urls: Endpoints that must answer HTTP (any status).
        process: The service's process; its early exit ends the wait at once.
        log: The service's log, whose tail goes into the error message.
        deadline: A ``time.monotonic()`` value.

    Raises:
        ServiceExitedError: the process ended first.
        ServicesError: the deadline passed.
    """
    pending = list(urls)
    while pending:
        if _answers(pending[0]):
            pending.pop(0)
            continue
        if time.monotonic() >= deadline:
            raise ServicesError(
                f"{name} did not answer on {pending[0]} in time; last lines of {log}:\n"
                f"{log_tail(log)}"
            )
        try:
            code = process.wait(timeout=POLL_INTERVAL_SECONDS)
        except subprocess.TimeoutExpired:
            continue
        tail = log_tail(log)
        raise ServiceExitedError(
            f"{name} exited with code {code} before answering; last lines of {log}:\n{tail}",
            tail,
        )
