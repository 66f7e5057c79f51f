"""requirements.txt is the hashed lock of requirements.in (offline checks).

``make lock-check`` (part of ``make test``) re-resolves the lock with uv and compares; these
checks need no registry: every pin of the input is in the lock at the same version, and every
entry of the lock is pinned and hashed, so pip installs it in hash-checking mode.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(text: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in text.splitlines():
        match = _REQUIREMENT.match(line)
        if match:
            pins[_name(match.group(1))] = match.group(3)
    return pins


def _entries(lock: str) -> list[str]:
    """The lock's requirements, each with its continuation lines joined."""
    joined = lock.replace("\\\n", " ")
    return [line for line in joined.splitlines() if line and not line.lstrip().startswith("#")]


def test_every_input_requirement_is_pinned_and_locked_at_that_version() -> None:
    wanted = (ROOT / "requirements.in").read_text(encoding="utf-8")
    lines = [line for line in wanted.splitlines() if line.strip() and not line.startswith("#")]
    inputs = _pins(wanted)
    assert len(inputs) == len(lines), "pin every requirement of requirements.in with =="
    locked = _pins((ROOT / "requirements.txt").read_text(encoding="utf-8"))
    assert {name: locked.get(name) for name in inputs} == inputs


def test_every_locked_requirement_is_pinned_and_hashed() -> None:
    lock = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    entries = _entries(lock)
    assert len(entries) >= 40, "the lock holds the transitive dependencies too"
    for entry in entries:
        assert _REQUIREMENT.match(entry), entry
        assert "--hash=sha256:" in entry, entry
    assert "make lock" in lock.splitlines()[1]


def test_the_worker_is_never_a_dependency() -> None:
    # The Functions host brings its own worker; a pinned one would shadow it.
    assert "azure-functions-worker" not in _pins((ROOT / "requirements.txt").read_text("utf-8"))


def test_the_tzdata_package_is_a_runtime_requirement() -> None:
    # zoneinfo falls back to it on hosts without /usr/share/zoneinfo (tests/unit/schedules).
    assert "tzdata" in _pins((ROOT / "requirements.in").read_text(encoding="utf-8"))


def test_pip_install_dot_builds_the_bot_package_with_the_locked_inputs() -> None:
    # `pip install .` (an explicit `azd restore`) builds with setuptools from pyproject.toml:
    # the packages it finds are what the wheel holds, so a package folder missing its
    # __init__.py would silently drop out of the install.
    import tomllib

    from setuptools import find_packages

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"
    tool = project["tool"]["setuptools"]
    assert tool["dynamic"]["dependencies"] == {"file": ["requirements.in"]}
    assert tool["py-modules"] == ["function_app"]
    found = set(find_packages(str(ROOT), include=tool["packages"]["find"]["include"]))
    source_folders = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "bot").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert found == source_folders
