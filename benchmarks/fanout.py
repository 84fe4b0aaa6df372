"""Fan-out: N concurrent async calls through the SDK vs raw engine calls.

The server is the Inkbox emulator (real HTTP on 127.0.0.1), started once by
this script - by default as a child process (``python -m inkbox_emulator``)
so it does not share this process's GIL with the clients being measured;
``--in-process`` runs it on a thread here instead.

* SDK: ``await client.whoami()`` (parsed into a model), N at a time with
  ``asyncio.gather``;
* raw: an ``httpx2.AsyncClient`` configured like the SDK's engine making the
  same ``GET /api/whoami`` with the same headers at the same concurrency,
  reading ``response.json()``.

A burst is N concurrent calls, timed until all have completed. Each round
runs one burst per side, the order flipped every round (ABBA...), many rounds
per N. Throughput is N / median burst time, so the occasional stall of the
server or of the loopback network (a few bursts take 3-10x the median, on
either side) does not decide the figure; the overall throughput including
stalls and the median of the per-round ratios are printed too.

Target: SDK throughput >= 0.85x raw, for N = 32 and N = 100.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator

import httpx2
from _common import Figure, emit, median, paired_ratios

TARGET = 0.85


@contextlib.contextmanager
def emulator(in_process: bool) -> Iterator[tuple[str, str]]:
    """Yield ``(base_url, api_key)`` of a running emulator with a fresh org."""
    if in_process:
        from inkbox_emulator import Emulator

        with Emulator() as emu:
            yield emu.base_url, emu.create_org().api_key
    else:
        with child_emulator() as found:
            yield found


@contextlib.contextmanager
def child_emulator() -> Iterator[tuple[str, str]]:
    """The emulator as a child process (``python -m inkbox_emulator --port 0``)."""
    # The server's stderr goes to a file: it must not write to our terminal
    # while being measured; any tracebacks in it are counted at the end.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "inkbox_emulator", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        assert proc.stdout is not None
        try:
            found: dict[str, str] = {}
            while len(found) < 2:
                line = proc.stdout.readline()
                if not line:
                    raise RuntimeError("the emulator exited before printing its address")
                key, sep, value = line.strip().partition("=")
                if sep and key in ("INKBOX_BASE_URL", "INKBOX_API_KEY"):
                    found[key] = value
            yield found["INKBOX_BASE_URL"], found["INKBOX_API_KEY"]
        finally:
            while_serving = os.fstat(log.fileno()).st_size
            proc.terminate()  # our own child, by its handle
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            log.seek(0)
            data = log.read()
            marker = b"Traceback (most recent call last)"
            if data.count(marker):
                early = data[:while_serving].count(marker)
                print(
                    f"  note: the emulator wrote {data.count(marker)} tracebacks to stderr "
                    f"({early} while serving, {data.count(marker) - early} at shutdown); "
                    "last lines:"
                )
                for text in data.decode(errors="replace").strip().splitlines()[-2:]:
                    print("    " + text)


async def burst(call: Callable[[], Awaitable[object]], n: int) -> float:
    """Seconds for ``n`` concurrent calls to all complete."""
    t0 = time.perf_counter()
    await asyncio.gather(*(call() for _ in range(n)))
    return time.perf_counter() - t0


async def measure(base_url: str, api_key: str, sizes: list[int], requests: int) -> list[Figure]:
    from inkbox_async import AsyncInkbox
    from inkbox_async._wire import USER_AGENT

    headers = {"Accept": "application/json", "User-Agent": USER_AGENT, "X-API-Key": api_key}
    url = base_url + "/api/whoami"
    figures = []
    async with (
        AsyncInkbox(api_key, base_url=base_url) as sdk,
        httpx2.AsyncClient(timeout=30.0, follow_redirects=False, trust_env=False) as raw,
    ):

        async def call_sdk() -> object:
            return await sdk.whoami()

        async def call_raw() -> object:
            response = await raw.get(url, headers=headers)
            response.raise_for_status()
            return response.json()

        first = await sdk.whoami()
        print(f"  whoami -> {type(first).__name__}")
        sides = {"sdk": call_sdk, "raw": call_raw}
        for n in sizes:
            rounds = max(20, requests // n)
            for call in sides.values():  # warm-up: connections, converter hooks
                await burst(call, n)
            times: dict[str, list[float]] = {name: [] for name in sides}
            for r in range(rounds):
                for name in ("sdk", "raw") if r % 2 == 0 else ("raw", "sdk"):
                    times[name].append(await burst(sides[name], n))
            sdk_t, raw_t = times["sdk"], times["raw"]
            ratio = median(raw_t) / median(sdk_t)  # throughput ratio sdk/raw
            overall = sum(raw_t) / sum(sdk_t)
            per_round = median(paired_ratios(raw_t, sdk_t))
            for name, t in times.items():
                slow = sum(x > 2 * median(t) for x in t)
                print(
                    f"  N={n} {name}: {n / median(t):.0f} req/s from the median burst "
                    f"({median(t) * 1e3:.1f} ms; min {min(t) * 1e3:.1f}, max {max(t) * 1e3:.1f}); "
                    f"{n * len(t) / sum(t):.0f} req/s overall; {slow}/{len(t)} bursts > 2x median"
                )
            figures.append(
                Figure(
                    "fanout",
                    f"N={n} throughput: sdk/raw",
                    ratio,
                    TARGET,
                    ">=",
                    "x",
                    f"from median burst times; paired per-round median {per_round:.2f}x; "
                    f"overall (incl. stalls) {overall:.2f}x; {rounds} rounds",
                )
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 100])
    parser.add_argument(
        "--requests", type=int, default=4000, help="requests per side per N (sets the rounds)"
    )
    parser.add_argument("--in-process", action="store_true", help="emulator on a thread here")
    args = parser.parse_args()

    where = "thread in this process" if args.in_process else "child process"
    print(f"fan-out of concurrent whoami() calls against the emulator ({where})")
    with emulator(args.in_process) as (base_url, api_key):
        figures = asyncio.run(measure(base_url, api_key, args.sizes, args.requests))
    for figure in figures:
        emit(figure)


if __name__ == "__main__":
    main()
