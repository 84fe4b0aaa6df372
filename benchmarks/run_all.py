"""Run every benchmark script and print a summary table of figures vs targets.

Each script runs in its own fresh interpreter (so import and construction
timings are not affected by the others); its output is shown as it runs, and
its ``BENCH-RESULT`` lines are collected into the table. Figures are reported
as PASS / MISS / SKIP, never asserted: the exit status is non-zero only when
a script fails to run.

``--no-official`` behaves as if the official ``inkbox`` package were absent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import NO_OFFICIAL_ENV, RESULT_PREFIX, Figure, fmt, official_available

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "import_time.py",
    "construction.py",
    "listing.py",
    "fanout.py",
    "mail_iteration.py",
    "vault.py",
    "tunnel.py",
]


def run_script(name: str, env: dict[str, str]) -> tuple[list[Figure], int, float]:
    print(f"\n=== {name} " + "=" * max(0, 70 - len(name)), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / name)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=HERE.parent,
    )
    assert proc.stdout is not None
    figures: list[Figure] = []
    for line in proc.stdout:
        if line.startswith(RESULT_PREFIX):
            figures.append(Figure(**json.loads(line[len(RESULT_PREFIX) :])))
        else:
            print(line, end="", flush=True)
    code = proc.wait()
    elapsed = time.perf_counter() - t0
    print(f"--- {name}: {elapsed:.1f} s" + (f", exit status {code}" if code else ""))
    return figures, code, elapsed


def table(figures: list[Figure]) -> None:
    rows = [("benchmark", "figure", "measured", "target", "status")]
    rows += [
        (
            f.bench,
            f.name,
            fmt(f.value, f.unit),
            f"{f.op} {fmt(f.target, f.unit)}",
            f.status,
        )
        for f in figures
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    rule = "-+-".join("-" * w for w in widths)
    for i, row in enumerate(rows):
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print(rule)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-official", action="store_true", help="act as if `inkbox` were not installed"
    )
    parser.add_argument("scripts", nargs="*", default=SCRIPTS, help="scripts to run")
    args = parser.parse_args()

    env = dict(os.environ)
    if args.no_official:
        env[NO_OFFICIAL_ENV] = "1"
        os.environ[NO_OFFICIAL_ENV] = "1"
    print(f"python {sys.version.split()[0]} ({sys.executable}); {os.cpu_count()} CPUs")
    if official_available():
        import importlib.metadata

        print(f"official peer: inkbox {importlib.metadata.version('inkbox')}")
    else:
        print("official peer: not available - comparisons against it are skipped")

    t0 = time.perf_counter()
    figures: list[Figure] = []
    failed: list[str] = []
    for name in args.scripts:
        got, code, _ = run_script(name, env)
        figures += got
        if code:
            failed.append(name)

    print(f"\n=== summary ({time.perf_counter() - t0:.1f} s in all) " + "=" * 40)
    table(figures)
    counts = {s: sum(f.status == s for f in figures) for s in ("PASS", "MISS", "SKIP")}
    print("\n" + ", ".join(f"{n} {s}" for s, n in counts.items()))
    for f in figures:
        if f.status != "PASS" and f.note:
            print(f"  {f.status} {f.bench} / {f.name}: {f.note}")
    if failed:
        print(f"scripts that failed to run: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
