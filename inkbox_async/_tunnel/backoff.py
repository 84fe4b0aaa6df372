"""Reconnect delays, and the quick retries of a draining edge."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

__all__ = ["Backoff", "backoff_schedule", "jittered"]


def jittered(base: float, r: float) -> float:
    """``max(0.1, b + b·0.25·(2r - 1))`` for ``r`` in [0, 1)."""
    return max(0.1, base + base * 0.25 * (2 * r - 1))


def backoff_schedule(
    draws: Iterable[float], *, base: float = 1.0, cap: float = 30.0
) -> list[tuple[float, float]]:
    """``(sleep, backoff value)`` for consecutive failures, given the random draws."""
    backoff = Backoff(base, cap)
    result = []
    for r in draws:
        value = backoff.current
        result.append((backoff.next(r), value))
    return result


class Backoff:
    """Capped, jittered exponential backoff: ``next()`` returns a sleep, then doubles."""

    def __init__(
        self, base: float, cap: float, *, rng: Callable[[], float] = random.random
    ) -> None:
        self.base = base
        self.cap = cap
        self.current = base
        self._rng = rng

    def reset(self) -> None:
        """Back to the base value (after a clean session end)."""
        self.current = self.base

    def next(self, r: float | None = None) -> float:
        """The sleep for the current value; then the value doubles up to the cap."""
        delay = jittered(self.current, self._rng() if r is None else r)
        self.current = min(self.current * 2, self.cap)
        return delay
