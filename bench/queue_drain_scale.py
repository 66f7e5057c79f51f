"""Queue drain rate with few and with many stored conversations.

The same drain as :mod:`bench.queue_drain` (the real queue trigger on the local host), twice:
2,000 messages spread over 200 stored conversations, then over 20,000. Resolving a target is
point reads only (a conversation id without its tenant reads the conversation index
document; no query), so the rate with 20,000 should be at least 90% of the rate with 200.
``--quick``: 200 messages, 20 and 2,000 conversations.
"""

from __future__ import annotations

from bench.queue_drain import drain_row, has_queue_trigger
from bench.report import Row, Target
from bench.session import BenchSession

NAME = "queue_drain_scale"
FULL = (200, 20_000, 2_000)
QUICK = (20, 2_000, 200)
"""Stored conversations (few, many) and messages."""


def run(session: BenchSession) -> list[Row]:
    """The drain rate with few and with many stored conversations (the send path resolves a
    target with point reads only, so the rate should not fall: target at least 90%)."""
    stack = session.stack()
    queue_name = stack.host_environment.get("PROACTIVE_QUEUE_NAME", "proactive-sends")
    if not has_queue_trigger(stack, queue_name):
        return [Row.skipped(NAME, "function_app.py has no queue trigger yet")]
    few, many, count = QUICK if session.options.quick else FULL
    small = drain_row(f"{NAME}[{few:,}]", stack, count, few)
    large = drain_row(f"{NAME}[{many:,}]", stack, count, many)
    base = float(small.figures["messages_per_s"] or 0) or 1.0
    ratio = float(large.figures["messages_per_s"] or 0) / base
    large.figures["ratio_to_few"] = round(ratio, 3)
    large.summary += f"; {ratio:.0%} of the rate with {few:,} stored conversations"
    large.targets = (
        Target("ratio_to_few", 0.9, "", higher_is_better=True, label="rate vs few conversations"),
    )
    return [small, large]
