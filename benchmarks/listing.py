"""Listing 2000 items (40 pages of 50) through the SDK pager vs raw engine calls.

The server is an ``httpx2.MockTransport`` whose handler returns page payloads
pre-built as bytes, so it costs almost nothing. Two sides share the handler:

* SDK: ``AsyncCursorPager`` / ``CursorPager`` over a client's transport,
  yielding parsed ``IdentitySummary`` models;
* raw: the same 40 ``GET ...?limit=50&cursor=...`` requests with the same
  headers made directly on an ``httpx2.AsyncClient`` / ``httpx2.Client``,
  with ``response.json()`` each (no model parsing).

Both flavours are measured (asyncio and blocking). Runs alternate SDK / raw,
flipping the order every round; the figure is the ratio of median times.
For information, a third side "raw + parse" adds the SDK's model parsing to
the raw loop, which splits the gap into model parsing and SDK plumbing.
When a figure misses, a short cProfile of one SDK listing is printed.

Target: SDK <= 1.2x raw.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
from _common import API_KEY, BASE_URL, Figure, describe, emit, median

PATH = "/api/v1/identities/"
URL = BASE_URL + PATH
PAGES = 40
PAGE_SIZE = 50
TOTAL = PAGES * PAGE_SIZE
TARGET = 1.2


def build_pages() -> dict[str | None, bytes]:
    """Page payloads keyed by the cursor that requests them (None: the first page)."""
    pages: dict[str | None, bytes] = {}
    for p in range(PAGES):
        items = [
            {
                "id": str(uuid.uuid4()),
                "organization_id": "org_x",
                "agent_handle": f"bot-{p * PAGE_SIZE + i}",
                "display_name": "Bot",
                "description": None,
                "email_address": f"bot-{p * PAGE_SIZE + i}@inkboxmail.com",
                "created_at": "2026-03-09T00:00:00Z",
                "updated_at": "2026-03-09T00:00:00Z",
            }
            for i in range(PAGE_SIZE)
        ]
        more = p < PAGES - 1
        body = {"items": items, "next_cursor": f"c{p + 1}" if more else None, "has_more": more}
        pages[None if p == 0 else f"c{p}"] = json.dumps(body).encode()
    return pages


PAGE_BYTES = build_pages()
RESPONSE_HEADERS = [(b"content-type", b"application/json")]


def handler(request: httpx2.Request) -> httpx2.Response:
    body = PAGE_BYTES[request.url.params.get("cursor")]
    return httpx2.Response(200, headers=RESPONSE_HEADERS, content=body)


def sdk_headers() -> dict[str, str]:
    from inkbox_async._wire import USER_AGENT

    return {"Accept": "application/json", "User-Agent": USER_AGENT, "X-API-Key": API_KEY}


def page_url(cursor: str | None) -> str:
    return (
        f"{URL}?limit={PAGE_SIZE}" if cursor is None else f"{URL}?limit={PAGE_SIZE}&cursor={cursor}"
    )


# -- async flavour -------------------------------------------------------------


async def async_sides() -> dict[str, Callable[[], Awaitable[int]]]:
    from inkbox_async import AsyncCursorPager, AsyncInkbox, IdentitySummary
    from inkbox_async._converter import converter

    sdk = AsyncInkbox(API_KEY, base_url=BASE_URL, transport=httpx2.MockTransport(handler))
    raw = httpx2.AsyncClient(transport=httpx2.MockTransport(handler), timeout=30.0, trust_env=False)
    headers = sdk_headers()
    hook = converter().get_structure_hook(IdentitySummary)

    async def run_sdk() -> int:
        n = 0
        async for _ in AsyncCursorPager(sdk._transport, PATH, IdentitySummary, page_size=PAGE_SIZE):
            n += 1
        return n

    async def run_raw(parse: bool = False) -> int:
        n = 0
        cursor = None
        while True:
            response = await raw.get(page_url(cursor), headers=headers)
            data = response.json()
            if parse:
                for item in data["items"]:
                    hook(item, IdentitySummary)
            n += len(data["items"])
            if not data["has_more"]:
                return n
            cursor = data["next_cursor"]

    async def run_raw_parse() -> int:
        return await run_raw(parse=True)

    return {"sdk": run_sdk, "raw": run_raw, "raw + parse": run_raw_parse}


async def measure_async(rounds: int) -> dict[str, list[float]]:
    sides = await async_sides()
    names = list(sides)
    for name in names:  # warm-up: lazy pools, converter hooks
        assert await sides[name]() == TOTAL
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            t0 = time.perf_counter()
            n = await sides[name]()
            times[name].append(time.perf_counter() - t0)
            assert n == TOTAL
    return times


# -- sync flavour --------------------------------------------------------------


def sync_sides() -> dict[str, Callable[[], int]]:
    from inkbox_async._converter import converter
    from inkbox_sync import CursorPager, IdentitySummary, Inkbox

    sdk = Inkbox(API_KEY, base_url=BASE_URL, transport=httpx2.MockTransport(handler))
    raw = httpx2.Client(transport=httpx2.MockTransport(handler), timeout=30.0, trust_env=False)
    headers = sdk_headers()
    hook = converter().get_structure_hook(IdentitySummary)

    def run_sdk() -> int:
        n = 0
        for _ in CursorPager(sdk._transport, PATH, IdentitySummary, page_size=PAGE_SIZE):
            n += 1
        return n

    def run_raw(parse: bool = False) -> int:
        n = 0
        cursor = None
        while True:
            data = raw.get(page_url(cursor), headers=headers).json()
            if parse:
                for item in data["items"]:
                    hook(item, IdentitySummary)
            n += len(data["items"])
            if not data["has_more"]:
                return n
            cursor = data["next_cursor"]

    def run_raw_parse() -> int:
        return run_raw(parse=True)

    return {"sdk": run_sdk, "raw": run_raw, "raw + parse": run_raw_parse}


def measure_sync(rounds: int) -> dict[str, list[float]]:
    sides = sync_sides()
    names = list(sides)
    for name in names:
        assert sides[name]() == TOTAL
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            t0 = time.perf_counter()
            n = sides[name]()
            times[name].append(time.perf_counter() - t0)
            assert n == TOTAL
    return times


# -- profile -------------------------------------------------------------------


def profile_sync_sdk(limit: int = 14) -> None:
    """Print where one blocking SDK listing spends its time (tottime, top entries)."""
    run_sdk = sync_sides()["sdk"]
    run_sdk()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        run_sdk()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(limit)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if "ncalls" in ln)
    print(f"  cProfile of 3 blocking SDK listings, top {limit} by own time:")
    for ln in lines[start:]:
        print("    " + ln.rstrip())
    # Cumulative time of the main stages, as shares of the whole listing.
    raw_stats: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw_stats.values())
    stages = {
        "model parsing (converter hook per item)": ("_converter.py", "structure", 71),
        "engine send (httpx2 request + MockTransport)": ("_engine.py", "send", None),
        "json decode of the pages": ("__init__.py", "loads", None),
        "query string building": ("_paths.py", "query_string", None),
    }
    print(f"  stage shares of the profiled time ({total * 1e3:.1f} ms under cProfile):")
    for label, (file, func, line) in stages.items():
        cum = sum(
            entry[3]
            for (f, ln, fn), entry in raw_stats.items()
            if f.endswith(file) and fn == func and (line is None or ln == line)
        )
        print(f"    {cum / total * 100:5.1f}%  {label}")


def report(flavour: str, times: dict[str, list[float]]) -> Figure:
    for name, samples in times.items():
        print("  " + describe(f"{flavour} {name}", samples))
    sdk, raw, parsed = (median(times[k]) for k in ("sdk", "raw", "raw + parse"))
    ratio = sdk / raw
    print(
        f"  {flavour}: per item sdk {sdk / TOTAL * 1e6:.2f} us, raw {raw / TOTAL * 1e6:.2f} us; "
        f"model parsing ~{(parsed - raw) / TOTAL * 1e6:.2f} us/item "
        f"({(parsed - raw) / (sdk - raw) * 100 if sdk > raw else float('nan'):.0f}% of the gap); "
        f"sdk / (raw + parse) = {sdk / parsed:.2f}x"
    )
    return Figure(
        "listing",
        f"{flavour} listing: sdk/raw",
        ratio,
        TARGET,
        "<=",
        "x",
        f"ratio of medians; ratio of minima {min(times['sdk']) / min(times['raw']):.2f}x; "
        f"sdk/(raw+parse) {sdk / parsed:.2f}x",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--profile", action="store_true", help="always print the profile")
    args = parser.parse_args()

    print(f"listing {TOTAL} items over {PAGES} pages (MockTransport), {args.rounds} rounds")
    figures = [
        report("async", asyncio.run(measure_async(args.rounds))),
        report("sync", measure_sync(args.rounds)),
    ]
    for figure in figures:
        emit(figure)
    if args.profile or any(f.status == "MISS" for f in figures):
        profile_sync_sdk()


if __name__ == "__main__":
    main()
