"""Cold start: how long ``import function_app`` takes in a fresh interpreter.

The target figure is the import itself, timed with ``perf_counter`` inside each of several
fresh interpreters (median). Beside it, the method of the peers' ``import_bench.py``: the
median wall time of ``python -c "import function_app"`` minus that of ``python -c pass``,
which also counts the interpreter tearing the modules down at exit (about 150 ms here, paid
by no Functions invocation); it is the figure to compare with the peers'. One import runs
first to compile the ``.pyc`` files and warm the page cache, so the figures are interpreter
work, not disk. The settings come from a temporary ``local.settings.json`` that validates
with authentication on and points at nothing (the import contacts nothing).

``-X importtime`` runs give the cumulative time per module; the ten slowest are printed so a
module that starts importing something heavy shows up by name. The libraries the product
imports lazily (Cosmos, Storage queues, MSAL) are listed when they get imported at start-up.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

from bench.environment import OFFLINE_SETTINGS, clean_environment, write_local_settings
from bench.latency import milliseconds
from bench.machine import REPOSITORY_ROOT
from bench.report import Row, Target
from bench.session import BenchSession
from bot.settings import LOCAL_SETTINGS_PATH_VARIABLE

NAME = "cold_start"
MODULE = "function_app"
TARGET_MS = 600.0
TOP_MODULES = 10
LAZY_LIBRARIES = ("azure.cosmos", "azure.storage.queue", "azure.identity", "msal")
"""Heavy libraries the product imports inside the functions that use them (CONTRIBUTING)."""

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


@dataclass(frozen=True)
class ModuleTime:
    """One module of ``-X importtime`` (medians over the runs).

    Attributes:
        name: The module.
        cumulative_ms: Its import time including the modules it imported first.
        self_ms: Its own import time.
        depth: Nesting depth in the import tree (0 for top-level imports).
    """

    name: str
    cumulative_ms: float
    self_ms: float
    depth: int


def _wall_seconds(code: str, environment: dict[str, str], *options: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, *options, "-c", code],
        cwd=REPOSITORY_ROOT,
        env=environment,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


_TIMED_IMPORT = (
    "import time\n"
    "started = time.perf_counter()\n"
    f"import {MODULE}\n"
    "print(time.perf_counter() - started)\n"
)


def _import_seconds(environment: dict[str, str]) -> float:
    """The import alone, timed inside the fresh interpreter (no start-up, no teardown)."""
    completed = subprocess.run(
        [sys.executable, "-c", _TIMED_IMPORT],
        cwd=REPOSITORY_ROOT,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(completed.stdout.strip().splitlines()[-1])


def _import_times(environment: dict[str, str]) -> list[tuple[str, int, int, int]]:
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {MODULE}"],
        cwd=REPOSITORY_ROOT,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    entries = []
    for line in completed.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            own, cumulative, indent, name = match.groups()
            entries.append((name, int(own), int(cumulative), (len(indent) - 1) // 2))
    return entries


def _median_modules(runs: list[list[tuple[str, int, int, int]]]) -> list[ModuleTime]:
    cumulative: dict[str, list[int]] = defaultdict(list)
    own: dict[str, list[int]] = defaultdict(list)
    depth: dict[str, int] = {}
    for entries in runs:
        for name, self_us, cumulative_us, level in entries:
            cumulative[name].append(cumulative_us)
            own[name].append(self_us)
            depth.setdefault(name, level)
    return [
        ModuleTime(
            name,
            statistics.median(cumulative[name]) / 1000,
            statistics.median(own[name]) / 1000,
            depth[name],
        )
        for name in cumulative
    ]


def run(session: BenchSession) -> list[Row]:
    """Measure the cold import of ``function_app``."""
    runs = session.sizes.cold_start_runs
    work_dir = session.work_dir / "cold-start"
    work_dir.mkdir(parents=True, exist_ok=True)
    settings_file = write_local_settings(work_dir / "local.settings.json", OFFLINE_SETTINGS)
    environment = {**clean_environment(), LOCAL_SETTINGS_PATH_VARIABLE: str(settings_file)}

    _wall_seconds(f"import {MODULE}", environment)  # compile .pyc, warm the page cache
    baseline = statistics.median(_wall_seconds("pass", environment) for _ in range(runs))
    wall = statistics.median(_wall_seconds(f"import {MODULE}", environment) for _ in range(runs))
    imported = statistics.median(_import_seconds(environment) for _ in range(runs))
    import_runs = [_import_times(environment) for _ in range(runs)]
    modules = _median_modules(import_runs)
    by_name = {module.name: module for module in modules}
    total = by_name[MODULE].cumulative_ms if MODULE in by_name else float("nan")
    top = sorted(
        (module for module in modules if module.name != MODULE),
        key=lambda module: module.cumulative_ms,
        reverse=True,
    )[:TOP_MODULES]
    # Cumulative time is charged to whichever module imports a shared dependency first;
    # self time says which module's own body is slow.
    top_self = sorted(modules, key=lambda module: module.self_ms, reverse=True)[:TOP_MODULES]
    lazy_loaded = sorted(
        {
            library
            for library in LAZY_LIBRARIES
            for name in by_name
            if name == library or name.startswith(library + ".")
        }
    )

    net_ms = (wall - baseline) * 1000
    import_ms = imported * 1000
    figures: dict[str, float | int | str | None] = {
        "import_ms": round(import_ms, 1),
        "process_net_ms": round(net_ms, 1),
        "wall_ms": round(wall * 1000, 1),
        "baseline_ms": round(baseline * 1000, 1),
        "importtime_ms": round(total, 1),
        "modules": len(by_name),
        "runs": runs,
    }
    notes = [
        f"median of {runs} fresh interpreters; `import {MODULE}` timed inside each = "
        f"{milliseconds(import_ms)} (the target figure)",
        f"the peers' method, whole process minus `python -c pass` ({milliseconds(baseline * 1000)})"
        f" = {milliseconds(net_ms)}: it adds the interpreter's teardown of the imported modules,"
        " which a Functions worker never pays per invocation",
        f"top {TOP_MODULES} modules by cumulative import time (-X importtime, median):",
        *(
            f"  {module.cumulative_ms:8.1f} ms cumulative {module.self_ms:7.1f} ms self  "
            f"{'  ' * module.depth}{module.name}"
            for module in top
        ),
        f"top {TOP_MODULES} modules by self import time (the module's own body):",
        *(f"  {module.self_ms:8.1f} ms self  {module.name}" for module in top_self),
    ]
    if lazy_loaded:
        notes.append("imported at start-up although meant to be lazy: " + ", ".join(lazy_loaded))
    return [
        Row(
            NAME,
            f"{milliseconds(import_ms)} import, {milliseconds(net_ms)} process net "
            f"({len(by_name)} modules)",
            figures,
            targets=(Target("import_ms", TARGET_MS, "ms", higher_is_better=False, label="import"),),
            notes=notes,
            details={
                "topModules": [module.__dict__ for module in top],
                "topModulesBySelf": [module.__dict__ for module in top_self],
                "lazyLibrariesImported": lazy_loaded,
            },
        )
    ]
