"""The import-linter contract of pyproject.toml: bot/ keeps it, and an upward import breaks it.

The second test runs the same check on a copy of bot/ with one new module that imports upward
(the schema layer reaching into the HTTP routes), so the contract is shown to catch what it is
there to catch, not just to pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(project / "pyproject.toml"), "--no-cache"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_bot_keeps_its_layers() -> None:
    completed = _lint_imports(ROOT)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "1 kept, 0 broken" in completed.stdout


def test_a_new_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "bot", tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "bot" / "schema" / "upward.py").write_text(
        '"""A schema module that reaches up into the HTTP routes."""\n\n'
        "from bot.http.health import health\n\n"
        "__all__ = ['health']\n"
    )

    completed = _lint_imports(tmp_path)

    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "0 kept, 1 broken" in completed.stdout
    assert "bot.schema.upward -> bot.http.health" in completed.stdout
