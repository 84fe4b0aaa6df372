"""Helpers shared by the benchmark scripts (not a benchmark itself).

Each script prints readable lines and, for every figure, one machine-readable
``BENCH-RESULT {json}`` line that ``run_all.py`` collects into its summary.
Timings are never asserted: a figure is compared with its target and
reported as PASS or MISS (or SKIP when its baseline is unavailable).
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

RESULT_PREFIX = "BENCH-RESULT "
NO_OFFICIAL_ENV = "INKBOX_BENCH_NO_OFFICIAL"
"""Set to 1 to behave as if the official ``inkbox`` package were not installed."""

API_KEY = "ApiKey_benchmark_0123456789abcdef"
BASE_URL = "https://inkbox.ai"


def official_available() -> bool:
    """Whether the official ``inkbox`` package (the comparison peer) can be imported."""
    if os.environ.get(NO_OFFICIAL_ENV):
        return False
    try:
        return importlib.util.find_spec("inkbox") is not None
    except (ImportError, ValueError):
        return False


def skip_note() -> str:
    return (
        "comparison skipped: its baseline is the official `inkbox` client, which is not installed"
    )


@dataclass
class Figure:
    """One reported figure, compared with its target (``value`` None means skipped)."""

    bench: str
    name: str
    value: float | None
    target: float
    op: Literal["<=", ">="]
    unit: str
    note: str = ""

    @property
    def status(self) -> str:
        if self.value is None:
            return "SKIP"
        ok = self.value <= self.target if self.op == "<=" else self.value >= self.target
        return "PASS" if ok else "MISS"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "ms":
        return f"{value:.3f} ms"
    return f"{value:.3g} {unit}"


def emit(figure: Figure) -> None:
    """Print a figure for humans and as a ``BENCH-RESULT`` line for run_all.py."""
    target = f"{figure.op} {fmt(figure.target, figure.unit)}"
    note = f"  ({figure.note})" if figure.note else ""
    print(
        f"  => {figure.name}: {fmt(figure.value, figure.unit)}  target {target}  "
        f"[{figure.status}]{note}"
    )
    print(RESULT_PREFIX + json.dumps(asdict(figure)), flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def paired_ratios(numer: Sequence[float], denom: Sequence[float]) -> list[float]:
    """Ratios of the samples taken side by side (round i of A over round i of B)."""
    return [a / b for a, b in zip(numer, denom, strict=True)]


def describe(label: str, samples_s: Sequence[float], scale: float = 1e3, unit: str = "ms") -> str:
    """``label: min .. median .. max`` of samples given in seconds (shown in ``unit``)."""
    lo, med, hi = min(samples_s), median(samples_s), max(samples_s)
    return (
        f"{label}: min {lo * scale:.3f} {unit}, median {med * scale:.3f} {unit}, "
        f"max {hi * scale:.3f} {unit} (n={len(samples_s)})"
    )
