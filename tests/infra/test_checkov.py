"""checkov's Bicep policies pass over infra/, offline, and every skip says why.

checkov is heavy (about 80 packages, and it pins older ``packaging`` and ``python-dateutil``
than the project uses), so it lives in a virtualenv of its own. The test finds it through the
``CHECKOV`` environment variable, then ``PATH``, then next to the running Python; without it the
run is skipped with instructions, and the comment checks below still run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep_tree import INFRA_DIR, bicep_files

CHECKOV_VERSION = "3.3.30"
"""The version these results were taken with."""

_SKIP_COMMENT = re.compile(r"//\s*checkov:skip=([^:\s]+)(?::(.*))?$")


def _checkov_executable() -> str | None:
    configured = os.environ.get("CHECKOV")
    if configured:
        # checkov runs in a scratch directory, so a relative path must be made absolute here.
        return str(Path(configured).resolve()) if os.sep in configured else configured
    on_path = shutil.which("checkov")
    if on_path:
        return on_path
    beside_python = Path(sys.executable).parent / "checkov"
    return str(beside_python) if beside_python.is_file() else None


def test_every_skip_names_a_check_and_says_why() -> None:
    skips = [
        (path.name, number, match)
        for path in bicep_files()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if (match := _SKIP_COMMENT.search(line))
    ]
    assert skips, "expected the justified skips of network-isolation checks"
    for name, number, match in skips:
        where = f"{name}:{number}"
        assert re.fullmatch(r"CKV2?_AZURE_\d+", match.group(1)), where
        reason = (match.group(2) or "").strip()
        assert len(reason) >= 30, f"{where}: say why the check does not apply"


@pytest.fixture(scope="module")
def checkov_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    executable = _checkov_executable()
    if executable is None and os.environ.get("CHECKOV_REQUIRED") == "1":
        pytest.fail("checkov is required (make test installs it in .venv-tools)")
    if executable is None:
        pytest.skip(
            f"checkov is not installed. Install it apart from the project: `python3 -m venv "
            f"/tmp/checkov-venv && /tmp/checkov-venv/bin/pip install checkov=={CHECKOV_VERSION}`"
            ", then run with CHECKOV=/tmp/checkov-venv/bin/checkov"
        )
    environment = {
        **os.environ,
        # Without this checkov asks PyPI for a newer version on start-up.
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
    }
    completed = subprocess.run(
        [
            executable,
            "--directory",
            str(INFRA_DIR),
            "--framework",
            "bicep",
            "--skip-download",
            "--skip-results-upload",
            "--compact",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
        cwd=tmp_path_factory.mktemp("checkov"),
        check=False,
    )
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    report = json.loads(completed.stdout)
    assert isinstance(report, dict), "expected one report: the bicep framework"
    return report


def test_checkov_finds_no_failed_check(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert failed == []


def test_checkov_parses_every_file_and_runs_checks(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0
    assert summary["resource_count"] > 0


def test_every_skipped_check_carries_its_reason(checkov_report: dict[str, Any]) -> None:
    skipped = checkov_report["results"]["skipped_checks"]
    assert skipped
    for check in skipped:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) >= 30, f"{check['check_id']} on {check['resource']}"
