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

The emulator's own time per request (SQLite, auth) hides most of a client's
cost, so the same comparison is also made against a static server in its own
process (pre-built answers, see ``_common.serve_static``), where the client
sets the pace: N = 100 concurrent ``messages.get`` detail GETs (parsed into
``MessageDetail``), and detail GETs one after another in each flavour
(``inkbox_async`` and ``inkbox_sync`` against raw ``httpx2``), timed in
short runs of 40 calls that take turns, best run. Targets: fan-out >= 0.85x raw throughput; one at a time
<= 1.15x raw time.
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
from pathlib import Path

import httpx2
from _common import (
    API_KEY,
    Figure,
    emit,
    median,
    paired_ratios,
    serve_static,
    server_process,
)

TARGET = 0.85
SEQUENTIAL_TARGET = 1.15
MAILBOX = "bench@inkboxmail.com"
MESSAGE_ID = "6f2d1c6e-3a57-4a0e-9d0b-0c2a3b4d5e6f"
DETAIL_PATH = f"/api/v1/mail/mailboxes/{MAILBOX}/messages/{MESSAGE_ID}"


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


def detail() -> dict[str, object]:
    """A message with its bodies, as the current wire answers a detail GET."""
    return {
        "id": MESSAGE_ID,
        "mailbox_id": "0b7e4c1a-6d1f-4f7a-8a51-2f0e0c9b1d2e",
        "thread_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        "message_id": "<1@inkboxmail.com>",
        "from_address": "sender@example.com",
        "from_display_name": "Sender",
        "to_addresses": [MAILBOX],
        "cc_addresses": None,
        "bcc_addresses": None,
        "subject": "The quarterly numbers",
        "snippet": "Hi, please find the figures below.",
        "direction": "inbound",
        "status": "received",
        "is_read": True,
        "is_starred": False,
        "has_attachments": False,
        "created_at": "2026-03-09T10:11:12.123456+00:00",
        "updated_at": "2026-03-09T10:11:12.123456+00:00",
        "first_opened_at": None,
        "open_count": 0,
        "import_job_id": None,
        "body_text": "Hi, please find the figures below.\n" * 40,
        "body_html": "<p>Hi, please find the figures below.</p>" * 40,
        "in_reply_to": None,
        "references": [],
        "attachment_metadata": [],
        "ses_message_id": None,
    }


def static_answers() -> dict[tuple[str, str | None], bytes]:
    import json

    return {(DETAIL_PATH, None): json.dumps(detail()).encode()}


async def measure_static(base_url: str, n: int, calls: int, rounds: int) -> list[Figure]:
    """Fan-out and one-at-a-time detail GETs against the static server."""
    from inkbox_async import AsyncInkbox, MessageDetail
    from inkbox_async._wire import USER_AGENT
    from inkbox_sync import Inkbox

    headers = {"Accept": "application/json", "User-Agent": USER_AGENT, "X-API-Key": API_KEY}
    url = base_url + DETAIL_PATH
    figures = []
    async with (
        AsyncInkbox(API_KEY, base_url=base_url) as sdk,
        httpx2.AsyncClient(timeout=30.0, follow_redirects=False, trust_env=False) as raw,
    ):

        async def get_sdk() -> object:
            return await sdk.messages.get(MAILBOX, MESSAGE_ID)

        async def get_raw() -> object:
            response = await raw.get(url, headers=headers)
            response.raise_for_status()
            return response.json()

        assert isinstance(await get_sdk(), MessageDetail)
        sides = {"sdk": get_sdk, "raw": get_raw}
        for call in sides.values():
            await burst(call, n)
        fan: dict[str, list[float]] = {name: [] for name in sides}
        for r in range(rounds * 4):
            for name in ("sdk", "raw") if r % 2 == 0 else ("raw", "sdk"):
                fan[name].append(await burst(sides[name], n))
        ratio = min(fan["raw"]) / min(fan["sdk"])
        print(
            f"  static N={n} detail GETs: sdk {n / min(fan['sdk']):.0f} req/s, "
            f"raw {n / min(fan['raw']):.0f} req/s (best bursts of {len(fan['sdk'])})"
        )
        figures.append(
            Figure(
                "fanout",
                f"detail GET N={n} (static server): sdk/raw",
                ratio,
                TARGET,
                ">=",
                "x",
                f"throughput from the best bursts; medians {median(fan['raw']) / median(fan['sdk']):.2f}x",
            )
        )

        async def one_by_one(call: Callable[[], Awaitable[object]]) -> float:
            t0 = time.perf_counter()
            for _ in range(calls):
                await call()
            return time.perf_counter() - t0

        seq = dict.fromkeys(["sdk", "raw", "sync sdk", "sync raw"], float("inf"))
        for r in range(rounds * 8):  # the sides take turns, the order flipped every round
            for name in ("sdk", "raw") if r % 2 == 0 else ("raw", "sdk"):
                seq[name] = min(seq[name], await one_by_one(sides[name]))
    with (
        Inkbox(API_KEY, base_url=base_url) as sync_sdk,
        httpx2.Client(timeout=30.0, follow_redirects=False, trust_env=False) as sync_raw,
    ):

        def get_sync_sdk() -> object:
            return sync_sdk.messages.get(MAILBOX, MESSAGE_ID)

        def get_sync_raw() -> object:
            response = sync_raw.get(url, headers=headers)
            response.raise_for_status()
            return response.json()

        sync_sides = {"sync sdk": get_sync_sdk, "sync raw": get_sync_raw}
        for sync_call in sync_sides.values():
            sync_call()
        for r in range(rounds * 8):
            for name in ("sync sdk", "sync raw") if r % 2 == 0 else ("sync raw", "sync sdk"):
                t0 = time.perf_counter()
                for _ in range(calls):
                    sync_sides[name]()
                seq[name] = min(seq[name], time.perf_counter() - t0)
    for flavour, (ours, theirs) in {
        "async": (seq["sdk"], seq["raw"]),
        "sync": (seq["sync sdk"], seq["sync raw"]),
    }.items():
        print(
            f"  static {calls} detail GETs one at a time, {flavour}: sdk {ours / calls * 1e6:.0f} us, "
            f"raw {theirs / calls * 1e6:.0f} us per call"
        )
        figures.append(
            Figure(
                "fanout",
                f"detail GET one at a time, {flavour} (static server): sdk/raw",
                ours / theirs,
                SEQUENTIAL_TARGET,
                "<=",
                "x",
                f"best of {rounds * 8} runs of {calls} calls taking turns",
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
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_static(static_answers())
        return

    where = "thread in this process" if args.in_process else "child process"
    print(f"fan-out of concurrent whoami() calls against the emulator ({where})")
    with emulator(args.in_process) as (base_url, api_key):
        figures = asyncio.run(measure(base_url, api_key, args.sizes, args.requests))
    print("detail GETs against a static server (child process)")
    with server_process(Path(__file__).resolve()) as base_url:
        figures += asyncio.run(measure_static(base_url, 100, 40, 7))
    for figure in figures:
        emit(figure)


if __name__ == "__main__":
    main()
