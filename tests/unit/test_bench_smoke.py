"""The benchmark suite stays runnable, and its verdicts say what they should.

Nothing here asserts on a timing: the smoke run only checks that ``python -m bench`` runs the
cold-start benchmark to completion and writes its JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.latency import percentile
from bench.machine import CpuSnapshot, shares_of_others
from bench.peers import median_ratio, round_order
from bench.report import Check, Row, Target

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def test_quick_cold_start_run_exits_zero_and_writes_json(tmp_path: Path) -> None:
    output = tmp_path / "latest.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "cold_start", "--quick", "--output", str(output)],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert "cold_start" in completed.stdout
    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["machine"]["cpuCount"] >= 1
    assert document["machine"]["python"].startswith("3.")
    [row] = document["results"]
    assert row["name"] == "cold_start"
    assert row["status"] == "ok"
    assert row["figures"]["import_ms"] is not None
    assert len(row["details"]["topModules"]) == 10


def test_a_missed_target_is_a_verdict_not_a_failure() -> None:
    row = Row(
        "send",
        "-",
        {"rate": 900.0, "rss": 80.0},
        targets=(
            Target("rate", 1500, "/s", higher_is_better=True, label="rate"),
            Target("rss", 120, "MB", higher_is_better=False, label="RSS"),
        ),
    )

    assert row.verdict == "rate below target"
    assert not row.failed_run


def test_a_failed_check_fails_the_run_whatever_the_targets() -> None:
    row = Row(
        "drain",
        "-",
        {"rate": 5000.0},
        targets=(Target("rate", 1500, "/s", higher_is_better=True, label="rate"),),
        checks=(Check("duplicates", 2), Check("losses", 0)),
    )

    assert row.verdict == "FAILED: 2 duplicates"
    assert row.failed_run


def test_skipped_rows_neither_pass_nor_fail() -> None:
    row = Row.skipped("peers", "no venv at /x")

    assert row.verdict == "skipped"
    assert not row.failed_run


@pytest.mark.parametrize(("fraction", "expected"), [(0.5, 50), (0.99, 99), (1.0, 100)])
def test_percentile_is_nearest_rank(fraction: float, expected: int) -> None:
    samples = [float(value) for value in range(100, 0, -1)]

    assert percentile(samples, fraction) == expected


def test_peer_rounds_rotate_so_each_contender_runs_first_in_turn() -> None:
    contenders = ["agents", "raw-aiohttp", "ours"]

    orders = [round_order(contenders, index) for index in range(3)]

    assert [order[0] for order in orders] == ["agents", "raw-aiohttp", "ours"]
    assert all(sorted(order) == sorted(contenders) for order in orders)


def test_peer_ratio_is_the_median_of_ratios_within_each_round() -> None:
    ours = [{"messages_per_s": rate} for rate in (2000.0, 1000.0, 1800.0)]
    theirs = [{"messages_per_s": rate} for rate in (400.0, 400.0, 300.0)]

    # Per round: 5.0, 2.5, 6.0; the ratio of the medians would be 1800 / 400 = 4.5.
    assert median_ratio(ours, theirs) == 5.0


def test_steal_is_reported_apart_from_other_processes() -> None:
    before = CpuSnapshot(busy=100.0, steal=10.0, own=50.0)
    after = CpuSnapshot(busy=116.0, steal=14.0, own=58.0)

    others, steal = shares_of_others(before, after, elapsed=10.0)

    cpus = os.cpu_count() or 1
    assert steal == pytest.approx(4.0 / (10.0 * cpus))
    assert others == pytest.approx((16.0 - 4.0 - 8.0) / (10.0 * cpus))


def test_cpu_shares_are_unknown_without_proc_stat() -> None:
    unknown = CpuSnapshot(busy=None, steal=None, own=1.0)

    assert shares_of_others(unknown, unknown, elapsed=1.0) == (None, None)
