"""What goes wrong with skill configuration, said so that an operator can fix it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a configuration file.

    Attributes:
        entry: Which entry: ``skills[1] (id 'calendar')``; empty for the file as a whole.
        reason: What is wrong with it, with the field: ``dispatch.patterns[0]: ...``.
    """

    entry: str
    reason: str

    def __str__(self) -> str:
        return f"{self.entry}: {self.reason}" if self.entry else self.reason


class SkillConfigError(Exception):
    """A skills file or an event map file that cannot be used.

    Raised while the assistant is built, at start-up: the message names the file, each bad
    entry and why, so the host's log says exactly what to fix.

    Attributes:
        file: The file.
        problems: Everything found wrong, in file order (at least one).
    """

    def __init__(self, file: Path | str, problems: Sequence[ConfigProblem]) -> None:
        if not problems:
            raise ValueError("a SkillConfigError needs at least one problem")
        self.file = Path(file)
        self.problems = tuple(problems)
        lines = "; ".join(str(problem) for problem in self.problems)
        super().__init__(f"{self.file}: {lines}")

    @property
    def entry(self) -> str:
        """The entry of the first problem."""
        return self.problems[0].entry

    @property
    def reason(self) -> str:
        """The reason of the first problem."""
        return self.problems[0].reason
