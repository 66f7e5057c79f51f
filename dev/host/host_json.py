"""The parts of ``host.json`` the local host honours: the route prefix and the queue options."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dev.host.errors import HostError

_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)")
"""A .NET TimeSpan as host.json writes it: ``[d.]hh:mm:ss[.fff]``."""


@dataclass(frozen=True)
class QueueOptions:
    """``extensions.queues``, with the Functions defaults.

    Attributes:
        batch_size: Messages fetched per poll.
        new_batch_threshold: A new batch is fetched when no more than this many are running.
        visibility_timeout: Seconds before a failed message is visible again.
        max_dequeue_count: Attempts before a message goes to ``<queue>-poison``.
        max_polling_interval: The longest wait between polls of an empty queue, in seconds.
        message_encoding: ``base64`` or ``none``.
    """

    batch_size: int = 16
    new_batch_threshold: int = 8
    visibility_timeout: float = 0.0
    max_dequeue_count: int = 5
    max_polling_interval: float = 60.0
    message_encoding: str = "base64"


@dataclass(frozen=True)
class HostConfig:
    """What the local host reads from ``host.json``."""

    route_prefix: str = "api"
    queues: QueueOptions = QueueOptions()


def _seconds(path: Path, key: str, value: Any) -> float:
    match = _TIMESPAN.fullmatch(str(value))
    if not match:
        raise HostError(f"{path}: {key}={value!r} is not a time span like 00:00:30")
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _count(path: Path, key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise HostError(f"{path}: {key}={value!r} must be a whole number >= {low}")
    return value


def read_host_json(app_dir: Path) -> HostConfig:
    """Read ``host.json`` from the app directory.

    Raises:
        HostError: It is missing, not JSON, or holds a value the host cannot use.
    """
    path = app_dir / "host.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HostError(f"no host.json in {app_dir}: is it a Functions app directory?") from None
    except (OSError, ValueError) as error:
        raise HostError(f"{path} is not valid JSON: {error}") from None
    extensions = document.get("extensions", {}) if isinstance(document, dict) else {}
    http = extensions.get("http", {})
    queues = extensions.get("queues", {})
    prefix = http.get("routePrefix", "api")
    if not isinstance(prefix, str):
        raise HostError(f"{path}: extensions.http.routePrefix must be a string")

    batch_size = _count(path, "batchSize", queues.get("batchSize", 16), 1)
    encoding = str(queues.get("messageEncoding", "base64")).lower()
    if encoding not in ("base64", "none"):
        raise HostError(f"{path}: messageEncoding={encoding!r} must be 'base64' or 'none'")
    options = QueueOptions(
        batch_size=batch_size,
        new_batch_threshold=_count(
            path, "newBatchThreshold", queues.get("newBatchThreshold", batch_size // 2), 0
        ),
        visibility_timeout=_seconds(
            path, "visibilityTimeout", queues.get("visibilityTimeout", "00:00:00")
        ),
        max_dequeue_count=_count(path, "maxDequeueCount", queues.get("maxDequeueCount", 5), 1),
        max_polling_interval=_seconds(
            path, "maxPollingInterval", queues.get("maxPollingInterval", "00:01:00")
        ),
        message_encoding=encoding,
    )
    return HostConfig(route_prefix=prefix, queues=options)
