"""What a benchmark reports (a :class:`Row`), and how rows become a table and a JSON file.

A row carries machine-readable ``figures`` for the JSON, a short human ``summary`` for the
table, the targets it is compared with, and correctness checks (counts that must be zero,
such as duplicate sends). A missed target is a verdict, not an error: timing is never a
failure here. A failed check or a benchmark that raised is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Figure = float | int | str | None
Status = Literal["ok", "skipped", "error"]


@dataclass(frozen=True)
class Target:
    """A figure's target, e.g. p50 under 1 ms or at least 1,500 messages/s.

    Attributes:
        figure: The key in :attr:`Row.figures` it applies to.
        limit: The bound.
        unit: The unit printed after the bound.
        higher_is_better: ``True`` for throughputs (at least ``limit``), ``False`` for times
            and memory (under ``limit``).
        label: How the figure is named in the verdict.
    """

    figure: str
    limit: float
    unit: str
    higher_is_better: bool
    label: str

    def describe(self) -> str:
        """The target as printed: ``p50 < 1 ms``, ``send rate >= 1,500 /s``."""
        bound = ">=" if self.higher_is_better else "<"
        return f"{self.label} {bound} {self.limit:,g} {self.unit}".rstrip()

    def verdict(self, figures: Mapping[str, Figure]) -> str | None:
        """``None`` when met, else why not; ``"no figure"`` when the figure is missing."""
        value = figures.get(self.figure)
        if not isinstance(value, int | float):
            return f"{self.label}: no figure"
        if self.higher_is_better:
            return None if value >= self.limit else f"{self.label} below target"
        return None if value < self.limit else f"{self.label} over target"


@dataclass(frozen=True)
class Check:
    """A correctness count that must be zero (duplicates, losses, errors).

    Attributes:
        label: What is counted.
        count: How many were found.
    """

    label: str
    count: int

    @property
    def passed(self) -> bool:
        """Nothing was found."""
        return self.count == 0


@dataclass
class Row:
    """One line of the table.

    Attributes:
        name: The benchmark (and variant) name.
        summary: The figures as printed in the table.
        figures: The figures by name, for the JSON.
        targets: What the figures are compared with.
        checks: Counts that must be zero.
        status: ``ok`` (it ran), ``skipped`` (it could not run here) or ``error``.
        notes: Lines printed under the table (how it was measured, why it was skipped).
        details: More data for the JSON only (per-module import times, configuration).
    """

    name: str
    summary: str
    figures: dict[str, Figure] = field(default_factory=dict)
    targets: tuple[Target, ...] = ()
    checks: tuple[Check, ...] = ()
    status: Status = "ok"
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def skipped(cls, name: str, reason: str) -> Row:
        """A benchmark that cannot run on this machine (a missing venv, say)."""
        return cls(name, f"skipped ({reason})", status="skipped")

    @classmethod
    def failed(cls, name: str, reason: str) -> Row:
        """A benchmark that raised; ``reason`` is printed in the verdict column."""
        return cls(name, "-", status="error", notes=[reason])

    @property
    def target_text(self) -> str:
        """The targets as printed."""
        return "; ".join(target.describe() for target in self.targets) or "-"

    @property
    def verdict(self) -> str:
        """``ok``, the missed targets, the failed checks, ``skipped`` or ``error``."""
        if self.status != "ok":
            return self.status
        failed_checks = [
            f"{check.count} {check.label}" for check in self.checks if not check.passed
        ]
        if failed_checks:
            return "FAILED: " + ", ".join(failed_checks)
        missed = [text for target in self.targets if (text := target.verdict(self.figures))]
        return "; ".join(missed) if missed else "ok"

    @property
    def failed_run(self) -> bool:
        """The benchmark raised or a correctness check found something (not a missed target)."""
        return self.status == "error" or any(not check.passed for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        """The row for ``latest.json``."""
        return {
            "name": self.name,
            "status": self.status,
            "summary": self.summary,
            "figures": self.figures,
            "targets": [{**asdict(target), "text": target.describe()} for target in self.targets],
            "checks": [asdict(check) for check in self.checks],
            "verdict": self.verdict,
            "notes": self.notes,
            "details": self.details,
        }


def format_table(rows: Sequence[Row]) -> str:
    """The rows as an aligned text table: benchmark, figures, target, verdict."""
    header = ("benchmark", "figures", "target", "verdict")
    lines = [(row.name, row.summary, row.target_text, row.verdict) for row in rows]
    widths = [max(len(line[column]) for line in [header, *lines]) for column in range(4)]

    def render(cells: tuple[str, str, str, str]) -> str:
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(header), rule, *(render(line) for line in lines)])


def format_notes(rows: Iterable[Row]) -> str:
    """The notes of every row, grouped under the row's name."""
    blocks = []
    for row in rows:
        if row.notes:
            blocks.append(f"{row.name}:\n" + "\n".join(f"  {note}" for note in row.notes))
    return "\n".join(blocks)


def write_results(
    path: Path, machine: Mapping[str, Any], options: Mapping[str, Any], rows: Sequence[Row]
) -> None:
    """Write the results JSON atomically (a reader never sees half a file)."""
    document = {
        "machine": dict(machine),
        "options": dict(options),
        "results": [row.to_json() for row in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
