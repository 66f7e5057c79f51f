"""The composition root builds every store and service; nothing else in ``bot/`` does."""

from __future__ import annotations

import ast
from pathlib import Path

import bot.app
from bot.throttling import governor

BOT = Path(__file__).resolve().parents[2] / "bot"

BUILT_BY_THE_ROOT = {
    "BroadcastService",
    "BudgetLeases",
    "ComputedSends",
    "CosmosStateStorage",
    "DeliveryLedger",
    "FanOut",
    "OperationStore",
    "ProactiveService",
    "QueueSender",
    "RateGovernor",
    "ReferenceStore",
    "ScheduleService",
    "ScheduleStore",
    "SendLogs",
    "SentCards",
    "ThrottleRecords",
}
"""The stores and services of the process: one each, built in ``bot/app.py``."""


def _constructions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name is None and isinstance(node.func, ast.Attribute):
                name = node.func.attr
            if name in BUILT_BY_THE_ROOT:
                found.append(f"{path.relative_to(BOT.parent)}:{node.lineno} {name}")
    return found


def test_no_store_or_service_is_built_outside_the_root() -> None:
    outside = [
        found
        for path in sorted(BOT.rglob("*.py"))
        if path != BOT / "app.py"
        for found in _constructions(path)
    ]

    assert outside == []


def test_the_root_builds_them() -> None:
    built = {name.rsplit(" ", 1)[1] for name in _constructions(BOT / "app.py")}

    assert built == BUILT_BY_THE_ROOT


def test_the_root_names_the_governor_slot_as_the_governor_declares_it() -> None:
    assert bot.app.GOVERNOR_SLOT == governor.SLOT
