"""``python -m bench [--only NAME ...] [--quick]``: run the benchmarks, print the table, write JSON.

The exit status is 0 unless a benchmark raised or a correctness check failed (duplicates or
losses in the queue drain, errors in a send run). A figure that misses its target is only
reported. Every process a benchmark starts is stopped before the next one runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import logging
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.machine import (
    REPOSITORY_ROOT,
    cpu_snapshot,
    describe,
    machine_info,
    shares_of_others,
)
from bench.report import Row, format_notes, format_table, write_results
from bench.session import DEFAULT_PEERS_DIR, BenchOptions, BenchSession

BENCHMARKS: dict[str, str] = {
    "cold_start": "bench.cold_start",
    "inbound": "bench.inbound_inprocess",
    "inbound_http": "bench.inbound_http",
    "proactive_send": "bench.proactive_send",
    "queue_drain": "bench.queue_drain",
    "queue_drain_scale": "bench.queue_drain_scale",
    "schedule_tick": "bench.schedule_tick",
    "broadcast": "bench.broadcast",
    "cost": "bench.cost",
    "conversation_pace": "bench.conversation_pace",
    "peers": "bench.peers",
}
"""Benchmark name to module, in running order. Each module has ``run(session) -> list[Row]``."""

DEFAULT_OUTPUT = REPOSITORY_ROOT / "bench" / "results" / "latest.json"
BUSY_SHARE = 0.10
"""When other processes, or other guests of the VM's host (steal), used more than this share of
the machine's CPU during a benchmark, its figures get a note: the machine was not quiet."""

Benchmark = Callable[[BenchSession], list[Row]]


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Timing figures of the bot: a table on stdout, JSON in bench/results/.",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        action="extend",
        choices=list(BENCHMARKS),
        metavar="NAME",
        help=f"run only these ({', '.join(BENCHMARKS)})",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--queue-messages",
        type=int,
        metavar="N",
        help="messages for queue_drain (default 10000, 500 with --quick)",
    )
    parser.add_argument(
        "--http-concurrency",
        type=int,
        metavar="N",
        help="requests in flight for inbound_http (default 16)",
    )
    parser.add_argument(
        "--peers-dir",
        type=Path,
        default=DEFAULT_PEERS_DIR,
        help=f"the peers' scripts and venvs (default {DEFAULT_PEERS_DIR})",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help=f"JSON file (default {DEFAULT_OUTPUT})"
    )
    arguments = parser.parse_args(argv)
    if arguments.queue_messages is not None and arguments.queue_messages < 1:
        parser.error("--queue-messages must be at least 1")
    if arguments.http_concurrency is not None and arguments.http_concurrency < 1:
        parser.error("--http-concurrency must be at least 1")
    return arguments


def load(name: str) -> Benchmark | None:
    """The ``run`` of a benchmark, or ``None`` when its module does not exist (yet)."""
    module_name = BENCHMARKS[name]
    if importlib.util.find_spec(module_name) is None:
        return None
    module = importlib.import_module(module_name)
    benchmark: Benchmark | None = getattr(module, "run", None)
    return benchmark


def run_one(name: str, session: BenchSession) -> list[Row]:
    """Run one benchmark; an exception becomes an ``error`` row, never a crash of the suite."""
    print(f"[bench] {name} ...", file=sys.stderr, flush=True)
    before = cpu_snapshot()
    started = time.perf_counter()
    try:
        benchmark = load(name)
        if benchmark is None:
            rows = [Row.skipped(name, f"{BENCHMARKS[name]} has no run(session)")]
        else:
            rows = benchmark(session)
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        rows = [Row.failed(name, f"{type(error).__name__}: {error}")]
    elapsed = time.perf_counter() - started
    print(f"[bench] {name} done in {elapsed:.1f} s", file=sys.stderr, flush=True)
    other_share, steal_share = shares_of_others(before, cpu_snapshot(), elapsed)
    for row in rows:
        row.details["elapsedSeconds"] = round(elapsed, 1)
        row.details["otherCpuShare"] = round(other_share, 3) if other_share is not None else None
        row.details["stealCpuShare"] = round(steal_share, 3) if steal_share is not None else None
        if row.status != "ok":
            continue
        if other_share is not None and other_share > BUSY_SHARE:
            row.notes.append(
                f"other processes used {other_share:.0%} of the machine's CPU meanwhile: "
                "figures may be low"
            )
        if steal_share is not None and steal_share > BUSY_SHARE:
            row.notes.append(
                f"the hypervisor gave {steal_share:.0%} of this VM's CPU to other guests "
                "meanwhile (steal): not a quiet machine, figures may be low"
            )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks; returns the exit status."""
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    names = [name for name in BENCHMARKS if not arguments.only or name in arguments.only]
    options = BenchOptions(
        quick=arguments.quick,
        queue_messages=arguments.queue_messages,
        http_concurrency=arguments.http_concurrency,
        peers_dir=arguments.peers_dir,
    )
    machine = machine_info()
    session = BenchSession(options)
    rows: list[Row] = []
    try:
        for name in names:
            rows.extend(run_one(name, session))
    finally:
        session.close()

    print(f"machine: {describe(machine)}")
    print(format_table(rows))
    notes = format_notes(rows)
    if notes:
        print()
        print(notes)
    write_results(
        arguments.output,
        machine,
        {"only": names, "quick": arguments.quick, "sizes": dataclasses.asdict(session.sizes)},
        rows,
    )
    print(f"\nresults written to {arguments.output}")
    return 1 if any(row.failed_run for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
