"""Import time of ``inkbox_sync`` vs the official ``inkbox`` package.

Each sample is a fresh interpreter (``python -c``) that times its own import
statement with ``perf_counter`` (so interpreter start-up and shutdown noise is
left out). The sides alternate, rotating which goes first every round, after
one discarded warm-up round (bytecode caches). The figure is the ratio of
medians; the ratio of minima is printed too. A bare ``python -c pass`` wall
time is shown for scale.

Two statements are measured per side:

* ``import X`` - the figure named by the target;
* ``from X import Inkbox`` - what a program does to get a usable client
  (``inkbox_sync`` loads its client module lazily, so this costs more).

Target: ours <= 0.5x official (both statements are held to it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from _common import Figure, describe, emit, median, official_available, skip_note

CHILD = (
    "import time\n"
    "t0 = time.perf_counter()\n"
    "{stmt}\n"
    "t1 = time.perf_counter()\n"
    "print(repr(t1 - t0))\n"
)

STATEMENTS = {
    "ours: import inkbox_sync": "import inkbox_sync",
    "official: import inkbox": "import inkbox",
    "ours: from inkbox_sync import Inkbox": "from inkbox_sync import Inkbox",
    "official: from inkbox import Inkbox": "from inkbox import Inkbox",
}


def time_import(stmt: str) -> float:
    """Seconds the statement takes in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(stmt=stmt)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def wall_pass() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    have_official = official_available()
    labels = [k for k in STATEMENTS if have_official or k.startswith("ours")]
    print(f"import time, {args.rounds} rounds, fresh interpreter per sample ({sys.executable})")
    if not have_official:
        print(f"  {skip_note()}; measuring ours only")

    for label in labels:  # warm-up: bytecode caches, page cache
        time_import(STATEMENTS[label])
    samples: dict[str, list[float]] = {label: [] for label in labels}
    baseline: list[float] = []
    for r in range(args.rounds):
        order = labels[r % len(labels) :] + labels[: r % len(labels)]
        if r % 2:
            order.reverse()
        for label in order:
            samples[label].append(time_import(STATEMENTS[label]))
        baseline.append(wall_pass())

    print("  " + describe("bare `python -c pass` wall time (for scale)", baseline))
    for label in labels:
        print("  " + describe(label, samples[label]))

    for stmt_kind, ours, official in (
        ("import X", "ours: import inkbox_sync", "official: import inkbox"),
        (
            "from X import Inkbox",
            "ours: from inkbox_sync import Inkbox",
            "official: from inkbox import Inkbox",
        ),
    ):
        name = f"import time ours/official ({stmt_kind})"
        if not have_official:
            emit(Figure("import_time", name, None, 0.5, "<=", "x", skip_note()))
            continue
        ratio = median(samples[ours]) / median(samples[official])
        ratio_min = min(samples[ours]) / min(samples[official])
        emit(
            Figure(
                "import_time",
                name,
                ratio,
                0.5,
                "<=",
                "x",
                f"ratio of medians; ratio of minima {ratio_min:.2f}x; "
                f"{median(samples[ours]) * 1e3:.1f} ms vs {median(samples[official]) * 1e3:.1f} ms",
            )
        )


if __name__ == "__main__":
    main()
