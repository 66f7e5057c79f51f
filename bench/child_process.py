"""Running a benchmark's worker process and reading the JSON line it prints."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.machine import REPOSITORY_ROOT


class ChildFailed(Exception):
    """A worker exited non-zero, timed out, or printed no JSON; the message has its output."""


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_json_child(
    command: Sequence[str],
    environment: Mapping[str, str],
    *,
    timeout: float,
    cwd: Path = REPOSITORY_ROOT,
) -> dict[str, Any]:
    """Run ``command`` to completion and return the last JSON object line of its stdout.

    The child is killed (not left behind) when it overruns ``timeout``.

    Raises:
        ChildFailed: It exited non-zero, overran, or printed no JSON object.
    """
    try:
        completed = subprocess.run(
            list(command),
            cwd=cwd,
            env=dict(environment),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        # subprocess.run has already killed and reaped the child.
        stderr = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else ""
        raise ChildFailed(f"{command[0]} ran over {timeout:.0f} s\n{_tail(stderr)}") from None
    if completed.returncode != 0:
        raise ChildFailed(
            f"{' '.join(command[:3])} exited {completed.returncode}\n{_tail(completed.stderr)}"
        )
    for line in reversed(completed.stdout.splitlines()):
        stripped = line.strip()
        if stripped.startswith("{"):
            try:
                document = json.loads(stripped)
            except ValueError:
                continue
            if isinstance(document, dict):
                return document
    raise ChildFailed(f"{' '.join(command[:3])} printed no JSON\n{_tail(completed.stdout)}")
