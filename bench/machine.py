"""What the figures were measured on: CPU, memory, Python, the commit."""

from __future__ import annotations

import datetime
import os
import platform
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError):
        pass
    return None


def _git(*arguments: str) -> str | None:
    # Read-only queries; a checkout without git (an unpacked archive) just has no commit.
    try:
        completed = subprocess.run(
            ["git", *arguments],
            cwd=REPOSITORY_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip()


def _proc_stat_seconds() -> tuple[float, float] | None:
    """The machine's busy and steal CPU time since boot (``/proc/stat``), or ``None``.

    Busy includes steal: on a VM it is CPU that other guests of the host took while this one
    wanted it. Both come from one read, so they describe the same moment.
    """
    try:
        with open("/proc/stat", encoding="utf-8") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    ticks = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq + steal) / ticks, steal / ticks


def own_cpu_seconds() -> float:
    """CPU time of this process and all its descendants, running or exited.

    Exited children that were waited for are in ``RUSAGE_CHILDREN``; running ones (the shared
    local stack) are read from ``/proc``, with the exited children they waited for.
    """
    import psutil

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:  # it exited meanwhile; its parent will account for it
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


@dataclass(frozen=True)
class CpuSnapshot:
    """The machine's CPU counters at one moment (:func:`cpu_snapshot`)."""

    busy: float | None
    steal: float | None
    own: float


def cpu_snapshot() -> CpuSnapshot:
    """Busy and steal time of the machine, and this process tree's own CPU, now.

    A VM whose own processes are idle can still be far from quiet: its host may run other
    guests on the same cores (steal), which slows every figure by a varying amount.
    """
    machine = _proc_stat_seconds()
    busy, steal = machine if machine is not None else (None, None)
    return CpuSnapshot(busy, steal, own_cpu_seconds())


def shares_of_others(
    before: CpuSnapshot, after: CpuSnapshot, elapsed: float
) -> tuple[float | None, float | None]:
    """The machine's CPU share used by other processes, and the share stolen, in between.

    ``own`` covers this process and everything it started; the rest of the busy time is
    other processes' work or steal (other guests of the VM's host), reported apart. Either
    share is ``None`` where ``/proc/stat`` cannot be read.
    """
    capacity = elapsed * (os.cpu_count() or 1)
    if (
        before.busy is None
        or after.busy is None
        or before.steal is None
        or after.steal is None
        or capacity <= 0
    ):
        return None, None
    steal = after.steal - before.steal
    others = after.busy - before.busy - steal - (after.own - before.own)
    return max(0.0, others) / capacity, steal / capacity


def machine_info() -> dict[str, Any]:
    """CPU count and model, memory, OS, Python, the commit and whether the tree is dirty."""
    status = _git("status", "--porcelain")
    return {
        "measuredAt": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpuCount": os.cpu_count(),
        "cpuModel": _cpu_model(),
        "memoryGiB": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "pythonImplementation": platform.python_implementation(),
        "executable": sys.executable,
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


def describe(machine: dict[str, Any]) -> str:
    """One line for the table's header."""
    return (
        f"{machine['cpuCount']} CPU ({machine['cpuModel']}), {machine['memoryGiB']} GiB, "
        f"{machine['os']}, {machine['pythonImplementation']} {machine['python']}"
    )
