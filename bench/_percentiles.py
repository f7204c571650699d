"""One way to report latency in every benchmark: inclusive percentiles of the samples, in ms.

Benchmarks run as scripts (`python bench/x.py`), so this sibling module is importable as `_percentiles`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentiles_ms(samples_s: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99 and max of ``samples_s`` (seconds), in milliseconds."""
    ms = sorted(s * 1000 for s in samples_s)
    if len(ms) < 2:
        value = ms[0] if ms else 0.0
        return {"p50": value, "p90": value, "p99": value, "max": value}
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": cuts[49], "p90": cuts[89], "p99": cuts[98], "max": ms[-1]}


def describe_ms(samples_s: Sequence[float], digits: int = 1) -> str:
    """`n=… p50 … ms, p90 … ms, p99 … ms, max … ms`."""
    p = percentiles_ms(samples_s)
    return (f"n={len(samples_s)} p50 {p['p50']:.{digits}f} ms, p90 {p['p90']:.{digits}f} ms, "
            f"p99 {p['p99']:.{digits}f} ms, max {p['max']:.{digits}f} ms")
