"""``python peer_cpu.py <peer script> <its arguments>``: run a peer's benchmark, adding its CPU.

Runs in the peers' virtualenv, not this project's, so it imports nothing from here: the peers
benchmark copies it beside their scripts (bench/peers.py). It replaces their
``bench_common.run`` with one that also measures the process's CPU time over the timed sends,
the figure ``bench.send_worker`` reports for ours as ``cpu_us_per_message``: from the first
timed send's start to the last one's end, over the number of sends. The clock is read once
per send (well under a microsecond); the script and its figures are otherwise unchanged.
"""

from __future__ import annotations

import functools
import importlib
import os
import runpy
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def _run_with_cpu(
    measured_run: Callable[..., Awaitable[Any]],
    args: Any,
    send_one: Callable[[Any], Awaitable[None]],
    sdk_name: str,
    extra: dict[str, Any] | None = None,
) -> Any:
    figures = dict(extra or {})
    calls = [0]
    started: list[float] = []

    async def timed(reference: Any) -> None:
        if calls[0] == args.warmup:
            started.append(time.process_time())
        calls[0] += 1
        await send_one(reference)
        if started:
            cpu = time.process_time() - started[0]
            figures["cpu_us_per_message"] = round(cpu / args.n * 1e6, 1)

    return await measured_run(args, timed, sdk_name, figures)


def main() -> None:
    """Run the script named first, with the arguments after it."""
    sys.path.insert(0, os.getcwd())
    common = importlib.import_module("bench_common")  # the peers' harness, beside them
    common.__dict__["run"] = functools.partial(_run_with_cpu, common.run)
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
