"""Client construction time: ``inkbox_sync.Inkbox`` vs the official ``inkbox.Inkbox``.

* First construction: in fresh interpreters that have already imported the
  client class (warm imports), the first and second constructions are timed.
  Ours and official alternate, several processes each; medians are used.
* Subsequent constructions: in this (warm) process, constructions of the two
  clients are interleaved round by round; the median of each side is used.
  (The official client builds eight ``httpx.Client`` pools with TLS contexts
  per construction, so it gets fewer samples than ours.)

Targets: ours >= 20x faster than official (first, and subsequent median);
a second client of ours <= 1 ms.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from _common import (
    API_KEY,
    BASE_URL,
    Figure,
    describe,
    emit,
    median,
    official_available,
    skip_note,
)

CHILD = """
import json, time
{import_stmt}
t0 = time.perf_counter()
c1 = {ctor}
t1 = time.perf_counter()
c2 = {ctor}
t2 = time.perf_counter()
{pool}
t3 = time.perf_counter()
c1.close(); c2.close()
print(json.dumps([t1 - t0, t2 - t1, t3 - t2]))
"""

# (import, constructor, statement creating the connection pool(s) if not done yet)
SIDES = {
    "ours": (
        "from inkbox_sync import Inkbox",
        f"Inkbox({API_KEY!r}, base_url={BASE_URL!r})",
        "c1._requester._engine._http()",  # what the first request does (no I/O)
    ),
    "official": ("from inkbox import Inkbox", f"Inkbox({API_KEY!r})", "pass"),
}


def first_two(side: str) -> tuple[float, float, float]:
    """First construction, second construction, then lazy pool creation (seconds)."""
    import_stmt, ctor, pool = SIDES[side]
    code = CHILD.format(import_stmt=import_stmt, ctor=ctor, pool=pool)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    first, second, lazy_pool = json.loads(out.stdout.strip().splitlines()[-1])
    return float(first), float(second), float(lazy_pool)


def timed(make: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    client = make()
    elapsed = time.perf_counter() - t0
    client.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=5, help="fresh processes per side")
    parser.add_argument("--rounds", type=int, default=20, help="interleaved in-process rounds")
    parser.add_argument("--ours-per-round", type=int, default=10)
    args = parser.parse_args()

    have_official = official_available()
    sides = ["ours", "official"] if have_official else ["ours"]
    print("client construction")
    if not have_official:
        print(f"  {skip_note()}; measuring ours only")

    # -- first construction, fresh processes, alternating --------------------
    firsts: dict[str, list[float]] = {s: [] for s in sides}
    seconds: dict[str, list[float]] = {s: [] for s in sides}
    pools: list[float] = []
    for p in range(args.processes):
        for side in sides if p % 2 == 0 else sides[::-1]:
            first, second, lazy_pool = first_two(side)
            firsts[side].append(first)
            seconds[side].append(second)
            if side == "ours":
                pools.append(lazy_pool)
    for side in sides:
        print("  " + describe(f"{side}: first construction (fresh process)", firsts[side]))
        print("  " + describe(f"{side}: second construction (same process)", seconds[side]))
    print("  " + describe("ours: deferred pool creation, paid by the first request (info)", pools))

    # -- subsequent constructions, this warm process, interleaved -------------
    from inkbox_sync import Inkbox

    def make_ours() -> Any:
        return Inkbox(API_KEY, base_url=BASE_URL)

    make_official: Callable[[], Any] | None = None
    if have_official:
        import inkbox

        def make_official() -> Any:
            return inkbox.Inkbox(API_KEY)

    for _ in range(3):  # warm-up
        timed(make_ours)
        if make_official is not None:
            timed(make_official)
    ours: list[float] = []
    official: list[float] = []
    gc.collect()
    for r in range(args.rounds):
        if make_official is not None and r % 2:
            official.append(timed(make_official))
        ours.extend(timed(make_ours) for _ in range(args.ours_per_round))
        if make_official is not None and not r % 2:
            official.append(timed(make_official))
    print("  " + describe("ours: subsequent constructions", ours))
    if official:
        print("  " + describe("official: subsequent constructions", official))

    # -- figures -------------------------------------------------------------
    if have_official:
        first_speedup = median(firsts["official"]) / median(firsts["ours"])
        emit(
            Figure(
                "construction",
                "first construction: official/ours",
                first_speedup,
                20.0,
                ">=",
                "x",
                f"medians {median(firsts['ours']) * 1e3:.3f} ms vs "
                f"{median(firsts['official']) * 1e3:.1f} ms",
            )
        )
        later_speedup = median(official) / median(ours)
        emit(
            Figure(
                "construction",
                "subsequent construction: official/ours",
                later_speedup,
                20.0,
                ">=",
                "x",
                f"medians {median(ours) * 1e3:.3f} ms vs {median(official) * 1e3:.1f} ms",
            )
        )
    else:
        for name in ("first construction: official/ours", "subsequent construction: official/ours"):
            emit(Figure("construction", name, None, 20.0, ">=", "x", skip_note()))
    emit(
        Figure(
            "construction",
            "ours: a second client (median of subsequent)",
            median(ours) * 1e3,
            1.0,
            "<=",
            "ms",
            f"2nd construction in a fresh process: median {median(seconds['ours']) * 1e3:.3f} ms",
        )
    )


if __name__ == "__main__":
    main()
