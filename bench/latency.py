"""Latency samples summarised as p50 / p99 (nearest rank, no interpolation)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (any order); ``fraction`` in (0, 1].

    Raises:
        ValueError: No samples.
    """
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LatencySummary:
    """p50, p99, max and mean of a set of latencies, in milliseconds.

    Attributes:
        count: How many samples.
        p50_ms: The median.
        p99_ms: The 99th percentile.
        max_ms: The slowest.
        mean_ms: The mean.
    """

    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    @classmethod
    def of_seconds(cls, samples: Sequence[float]) -> LatencySummary:
        """Summarise latencies measured in seconds.

        Raises:
            ValueError: No samples.
        """
        return cls(
            count=len(samples),
            p50_ms=percentile(samples, 0.50) * 1000,
            p99_ms=percentile(samples, 0.99) * 1000,
            max_ms=max(samples) * 1000,
            mean_ms=sum(samples) / len(samples) * 1000,
        )

    def describe(self) -> str:
        """``p50 0.41 ms, p99 0.93 ms``."""
        return f"p50 {milliseconds(self.p50_ms)}, p99 {milliseconds(self.p99_ms)}"


def milliseconds(value: float) -> str:
    """A duration in ms with sensible precision: ``0.412 ms``, ``12.3 ms``, ``1,234 ms``."""
    if value < 1:
        return f"{value:.3f} ms"
    if value < 100:
        return f"{value:.1f} ms"
    return f"{value:,.0f} ms"
