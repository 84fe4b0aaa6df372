"""Listing 2000 messages (40 pages of 50) from a real local server process.

The server is a small asyncio HTTP/1.1 server in its own process (keep-alive,
no framework) answering ``GET /api/v1/mail/mailboxes/{address}/messages`` with
40 pages of the current ``messages.list`` wire shape (``items``,
``next_cursor``, ``has_more``), pre-built as bytes, so every client meets the
same cheap server over loopback. Five clients list the whole mailbox, each in
its own fresh process:

* ``raw async`` / ``raw sync``: ``httpx2.AsyncClient`` / ``httpx2.Client``
  making the same 40 requests with ``response.json()`` each (no models);
* ``official``: the official 0.4.4 client (``inkbox.Inkbox``,
  ``messages.list``), sync over httpx, building its dataclasses;
* ``ours async`` / ``ours sync``: ``AsyncInkbox`` / ``Inkbox``
  ``messages.list`` pagers (the pager ``identity.iter_emails()`` returns),
  yielding ``Message`` models;
* ``dicts async`` / ``dicts sync`` (what-if): the same pagers with the
  ``Message`` hook replaced, in that process only, by one returning the
  decoded item as it is: the SDK's request path (pager, requester, engine)
  without the typed models, i.e. the floor any model design stands on;
* ``bare async`` / ``bare sync`` (what-if): the same pagers with a hook that
  fills a ``Message`` slot by slot with the decoded values unconverted
  (straight-line code, no check, no conversion, no ``extra``): the least any
  eager, frozen model costs.

Each client process times ``--rounds`` listings after a warm-up; the
processes run one after another, ``--passes`` times in a rotated order. A
client's figure is its best listing (least disturbed by the shared machine),
and the ratios are taken within this one run.

A second part measures parsing alone, in this process: the SDK pager over an
``httpx2.MockTransport`` against a raw loop on the same mock, the per-item
cost of turning one decoded message into a model, ours against the official
client's ``Message._from_dict``, and what each guarantee of ours costs per
message (typed UUIDs, aware datetimes, open enums, ``extra``, frozen models:
the time saved by a variant of our parser without it).

Targets: ours async <= 1.15x raw async; ours sync <= 1.15x raw sync and <= the
official client. Where a target is missed, the last lines say why, from this
run's figures: the parse cost per item the target leaves room for (the
target's margin over raw, less what the request path costs beside raw),
against what building eager, typed, frozen models costs and what each
guarantee costs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import io
import json
import pstats
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    API_KEY,
    BASE_URL,
    Figure,
    emit,
    official_available,
    serve_static,
    server_process,
    skip_note,
)

PAGES = 40
PAGE_SIZE = 50
TOTAL = PAGES * PAGE_SIZE
MAILBOX = "bench@inkboxmail.com"
PATH = f"/api/v1/mail/mailboxes/{MAILBOX}/messages"
TARGET = 1.15
CLIENTS = (
    "raw async",
    "raw sync",
    "official",
    "ours async",
    "ours sync",
    "dicts async",
    "dicts sync",
    "bare async",
    "bare sync",
)
HERE = Path(__file__).resolve().parent


def message(n: int) -> dict[str, Any]:
    """One message as the current wire lists it (two fields ours keeps in ``extra``)."""
    return {
        "id": str(uuid.UUID(int=n + 1)),
        "mailbox_id": str(uuid.UUID(int=1 << 64)),
        "thread_id": str(uuid.UUID(int=(n // 3) + (2 << 64))),
        "message_id": f"<{n}@inkboxmail.com>",
        "from_address": f"sender{n}@example.com",
        "from_display_name": f"Sender {n}",
        "to_addresses": [MAILBOX],
        "cc_addresses": None,
        "subject": f"Message number {n} about the quarterly numbers",
        "snippet": "Hi, please find the figures below. " * 3,
        "direction": "inbound" if n % 4 else "outbound",
        "status": "received" if n % 4 else "delivered",
        "is_read": n % 2 == 0,
        "is_starred": False,
        "has_attachments": n % 7 == 0,
        "created_at": f"2026-03-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00.123456+00:00",
        "first_opened_at": None,
        "open_count": 0,
        "import_job_id": None,
    }


def page_bodies() -> dict[str | None, bytes]:
    """The 40 page bodies keyed by the cursor that asks for them (None: the first page)."""
    pages: dict[str | None, bytes] = {}
    for p in range(PAGES):
        more = p < PAGES - 1
        body = {
            "items": [message(p * PAGE_SIZE + i) for i in range(PAGE_SIZE)],
            "next_cursor": f"c{p + 1}" if more else None,
            "has_more": more,
        }
        pages[None if p == 0 else f"c{p}"] = json.dumps(body).encode()
    return pages


# -- the server (its own process) ----------------------------------------------


def answers() -> dict[tuple[str, str | None], bytes]:
    """The server's answers: each page by the ``cursor`` that asks for it."""
    return {(PATH, cursor): body for cursor, body in page_bodies().items()}


# -- the clients (each in its own process) -------------------------------------


def sdk_headers() -> dict[str, str]:
    from inkbox_async._wire import USER_AGENT

    return {"Accept": "application/json", "User-Agent": USER_AGENT, "X-API-Key": API_KEY}


def page_url(base_url: str, cursor: str | None) -> str:
    url = f"{base_url}{PATH}?limit={PAGE_SIZE}"
    return url if cursor is None else f"{url}&cursor={cursor}"


def what_if(name: str) -> None:
    """In this client process only: ``dicts`` leaves items decoded, ``bare`` fills bare models."""
    import attrs

    from inkbox_async import Message
    from inkbox_async._converter import converter

    if name.startswith("dicts"):
        converter().register_structure_hook(Message, lambda item, _: item)
    elif name.startswith("bare"):
        names = [f.name for f in attrs.fields(Message)]
        env: dict[str, Any] = {"_new": object.__new__, "_cls": Message}
        lines = ["def bare(o, _):", "    g = o.get", "    m = _new(_cls)"]
        for i, field in enumerate(names):
            env[f"_s{i}"] = getattr(Message, field).__set__
            lines.append(f"    _s{i}(m, g({field!r}))")
        exec("\n".join([*lines, "    return m"]), env)
        converter().register_structure_hook(Message, env["bare"])


def sync_listing(name: str, base_url: str) -> Callable[[], int]:
    """A blocking client's listing of the whole mailbox (returns the item count)."""
    if name == "raw sync":
        import httpx2

        raw = httpx2.Client(timeout=30.0, follow_redirects=False, trust_env=False)
        headers = sdk_headers()

        def run_raw() -> int:
            n, cursor = 0, None
            while True:
                response = raw.get(page_url(base_url, cursor), headers=headers)
                response.raise_for_status()
                data = response.json()
                n += len(data["items"])
                if not data["has_more"]:
                    return n
                cursor = data["next_cursor"]

        return run_raw
    if name == "official":
        import inkbox  # type: ignore[import-untyped]

        official = inkbox.Inkbox(API_KEY, base_url=base_url)
        return lambda: sum(1 for _ in official.messages.list(MAILBOX))
    if name in ("ours sync", "dicts sync", "bare sync"):
        from inkbox_sync import Inkbox

        what_if(name)

        ours = Inkbox(API_KEY, base_url=base_url)
        return lambda: sum(1 for _ in ours.messages.list(MAILBOX))
    raise ValueError(name)


async def async_listing(name: str, base_url: str) -> Callable[[], Any]:
    """An asyncio client's listing of the whole mailbox (a coroutine function)."""
    if name == "raw async":
        import httpx2

        raw = httpx2.AsyncClient(timeout=30.0, follow_redirects=False, trust_env=False)
        headers = sdk_headers()

        async def run_raw() -> int:
            n, cursor = 0, None
            while True:
                response = await raw.get(page_url(base_url, cursor), headers=headers)
                response.raise_for_status()
                data = response.json()
                n += len(data["items"])
                if not data["has_more"]:
                    return n
                cursor = data["next_cursor"]

        return run_raw
    if name in ("ours async", "dicts async", "bare async"):
        from inkbox_async import AsyncInkbox

        what_if(name)

        ours = AsyncInkbox(API_KEY, base_url=base_url)

        async def run_ours() -> int:
            n = 0
            async for _ in ours.messages.list(MAILBOX):
                n += 1
            return n

        return run_ours
    raise ValueError(name)


def client_main(name: str, base_url: str, rounds: int) -> None:
    """Time ``rounds`` listings by one client after a warm-up; print the seconds as JSON."""
    times: list[float] = []
    if name.endswith("async"):

        async def main() -> None:
            run = await async_listing(name, base_url)
            assert await run() == TOTAL  # warm-up: connection, imports, converter hooks
            for _ in range(rounds):
                t0 = time.perf_counter()
                n = await run()
                times.append(time.perf_counter() - t0)
                assert n == TOTAL

        asyncio.run(main())
    else:
        run = sync_listing(name, base_url)
        assert run() == TOTAL
        for _ in range(rounds):
            t0 = time.perf_counter()
            n = run()
            times.append(time.perf_counter() - t0)
            assert n == TOTAL
    print(json.dumps(times), flush=True)


def run_client(name: str, base_url: str, rounds: int) -> list[float]:
    script = str(HERE / "listing.py")
    out = subprocess.run(
        [sys.executable, script, "--client", name, "--url", base_url, "--rounds", str(rounds)],
        capture_output=True,
        text=True,
        check=False,
        cwd=HERE.parent,
    )
    if out.returncode:
        raise RuntimeError(f"client {name!r} failed:\n{out.stderr}")
    times: list[float] = json.loads(out.stdout.strip().splitlines()[-1])
    return times


def measure_server(passes: int, rounds: int) -> tuple[list[Figure], dict[str, float]]:
    names = [n for n in CLIENTS if n != "official" or official_available()]
    samples: dict[str, list[float]] = {name: [] for name in names}
    with server_process(HERE / "listing.py") as base_url:
        for p in range(passes):
            order = names[p % len(names) :] + names[: p % len(names)]
            for name in order:
                samples[name] += run_client(name, base_url, rounds)
    best = {name: min(times) for name, times in samples.items()}
    for name in names:
        print(
            f"  {name:10}: best {best[name] * 1e3:7.2f} ms ({best[name] / TOTAL * 1e6:.2f} us/item), "
            f"median {sorted(samples[name])[len(samples[name]) // 2] * 1e3:7.2f} ms "
            f"(n={len(samples[name])}), {best[name] / best['raw async']:.2f}x raw async"
        )
    note = f"best of {passes} processes x {rounds} rounds"
    figures = [
        Figure(
            "listing",
            "list 2000 (server): ours async / raw async",
            best["ours async"] / best["raw async"],
            TARGET,
            "<=",
            "x",
            note,
        ),
        Figure(
            "listing",
            "list 2000 (server): ours sync / raw sync",
            best["ours sync"] / best["raw sync"],
            TARGET,
            "<=",
            "x",
            note,
        ),
    ]
    official = best.get("official")
    figures.append(
        Figure(
            "listing",
            "list 2000 (server): ours sync / official 0.4.4",
            None if official is None else best["ours sync"] / official,
            1.0,
            "<=",
            "x",
            note if official is not None else skip_note(),
        )
    )
    if official is not None:
        print(
            f"  official / raw async {official / best['raw async']:.2f}x, "
            f"official / raw sync {official / best['raw sync']:.2f}x"
        )
    return figures, best


# -- parsing alone (mock transport, this process) --------------------------------


def mock_transport() -> Any:
    import httpx2

    bodies = page_bodies()
    headers = [(b"content-type", b"application/json")]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, headers=headers, content=bodies[request.url.params.get("cursor")]
        )

    return httpx2.MockTransport(handler)


def best_of(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times)


def best_per_item(sides: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Best seconds per item of each side, the sides taking turns every round."""
    best = dict.fromkeys(sides, float("inf"))
    for _ in range(rounds):
        for name, run in sides.items():
            t0 = time.perf_counter()
            run()
            best[name] = min(best[name], (time.perf_counter() - t0) / TOTAL)
    return best


def per_item_parse(rounds: int) -> tuple[float, float | None]:
    """Seconds to turn one decoded message into a model: ours, the official client's."""
    from inkbox_async import Message
    from inkbox_async._converter import structure_list

    items = [message(i) for i in range(TOTAL)]
    sides: dict[str, Callable[[], object]] = {"ours": lambda: structure_list(items, Message)}
    if official_available():
        from inkbox.mail.types import Message as OfficialMessage  # type: ignore[import-untyped]

        parse = OfficialMessage._from_dict
        sides["official"] = lambda: [parse(item) for item in items]
    for run in sides.values():
        run()
    best = best_per_item(sides, rounds)
    return best["ours"], best.get("official")


def parse_all(function: Callable[[Any], object], items: list[dict[str, Any]]) -> list[object]:
    return [function(item) for item in items]


def guarantee_costs(rounds: int) -> dict[str, float]:
    """What each guarantee costs per message, measured on the function parsing a page's items.

    Variants of the generated function specialised to this key layout (see
    ``inkbox_async._model_structure``), each without one guarantee, are timed
    against it; a guarantee's cost is the time its removal saves.
    """
    import inspect
    import re

    import attrs

    from inkbox_async import Message
    from inkbox_async._converter import converter, structure_list

    items = [message(i) for i in range(TOTAL)]
    structure_list(items, Message)  # compiles the function for this layout
    hook = converter().get_structure_hook(Message)
    shaped = next(f for f in hook.__globals__["_shapes"].values() if callable(f))
    source = inspect.getsource(shaped)
    # blocks: one per field ("v = vN" and its conversion), the rest kept as is
    blocks = re.split(r"(?m)^(?=    v = v\d+$|    f\d+ = _d_|    self = _new)", source)
    names = [f.name for f in attrs.fields(Message)]

    def field(block: str) -> str | None:
        found = re.search(r"(?m)^ +(f\d+) = ", block)
        return names[int(found.group(1)[1:])] if found else None

    def without(kinds: set[str]) -> str:
        out = []
        for block in blocks:
            name = field(block)
            head = block.split("\n", 1)[0]
            if name in kinds and head.startswith("    v = v"):
                var = f"f{names.index(name)}"
                block = f"{head}\n    {var} = v\n"
            out.append(block)
        return "".join(out)

    def as_tuple(text: str) -> str:
        fields = ", ".join(f"f{i}" for i in range(len(names)) if names[i] != "extra")
        return text[: text.index(f"    {extra} = ")] + f"    return ({fields},)\n"

    extra = f"f{names.index('extra')}"
    ids = {"id", "mailbox_id", "thread_id"}
    variants = {
        "as it is": source,
        "ids left as str (typed UUIDs)": without(ids),
        "timestamps left as str (aware datetimes)": without({"created_at", "first_opened_at"}),
        "enums left as str (open enums)": without({"direction", "status"}),
        "unknown keys dropped (extra)": re.sub(
            rf"(?m)^    {extra} = \{{.*\}}$", f"    {extra} = {{}}", source
        ),
        "a tuple instead of the frozen model": as_tuple(source),
    }
    sides: dict[str, Callable[[], object]] = {}
    for label, text in variants.items():
        assert label == "as it is" or text != source, label
        env = dict(shaped.__globals__)
        exec(text, env)
        function = env[shaped.__name__]
        sides[label] = functools.partial(parse_all, function, items)
    best = best_per_item(sides, rounds)
    return {label: best["as it is"] - t if label != "as it is" else t for label, t in best.items()}


def measure_parsing(rounds: int) -> tuple[Figure, float]:
    """The parse-only figure, and what typed UUIDs cost per item (seconds)."""
    import httpx2

    from inkbox_sync import Inkbox

    sdk = Inkbox(API_KEY, base_url=BASE_URL, transport=mock_transport())
    raw = httpx2.Client(transport=mock_transport(), timeout=30.0, trust_env=False)
    headers = sdk_headers()

    def run_sdk() -> None:
        assert sum(1 for _ in sdk.messages.list(MAILBOX)) == TOTAL

    def run_raw() -> None:
        cursor = None
        while True:
            data = raw.get(page_url(BASE_URL, cursor), headers=headers).json()
            if not data["has_more"]:
                return
            cursor = data["next_cursor"]

    run_sdk()
    run_raw()
    sdk_t, raw_t = best_of(run_sdk, rounds), best_of(run_raw, rounds)
    ours, official = per_item_parse(rounds * 2)
    shown = "n/a" if official is None else f"{official * 1e6:.2f} us"
    print(
        f"  mock transport, sync: sdk {sdk_t * 1e3:.2f} ms, raw {raw_t * 1e3:.2f} ms "
        f"= {sdk_t / raw_t:.2f}x; parse per item: ours {ours * 1e6:.2f} us, official {shown}"
    )
    print("  what each guarantee costs per message (time saved without it):")
    costs = guarantee_costs(rounds * 2)
    for label, cost in costs.items():
        print(f"    {cost * 1e6:5.2f} us  {label}")
    figure = Figure(
        "listing",
        "parse per item: ours / official 0.4.4",
        None if official is None else ours / official,
        1.0,
        "<=",
        "x",
        f"ours {ours * 1e6:.2f} us/item, official {shown}/item; mock-transport listing "
        f"sdk/raw {sdk_t / raw_t:.2f}x (parsing alone, not what a user feels)"
        if official is not None
        else skip_note(),
    )
    return figure, costs["ids left as str (typed UUIDs)"]


def explain(best: dict[str, float], uuids: float) -> None:
    """Why a listing target is met or missed: the room it leaves for the models, and their cost."""
    print("why, from this run's figures (per item):")
    for flavour in ("async", "sync"):
        raw, dicts = best[f"raw {flavour}"] / TOTAL, best[f"dicts {flavour}"] / TOTAL
        bare = best[f"bare {flavour}"] / TOTAL - dicts
        checks = best[f"ours {flavour}"] / TOTAL - dicts - bare
        room = TARGET * raw - dicts
        print(
            f"  {flavour:5}: what-if listings / raw: decoded dicts {dicts / raw:.2f}x, bare models "
            f"{(dicts + bare) / raw:.2f}x, ours {best[f'ours {flavour}'] / TOTAL / raw:.2f}x"
        )
        print(
            f"         {TARGET}x raw leaves {room * 1e6:.2f} us for the models beside our "
            f"request path (itself {(dicts - raw) * 1e6:+.2f} us against raw); a bare frozen "
            f"model takes {bare * 1e6:.2f} us of it, leaving {(room - bare) * 1e6:.2f} us to check "
            f"and convert the values, on which ours spends {checks * 1e6:.2f} us"
        )
    print(
        f"  typed UUIDs alone take {uuids * 1e6:.2f} us (parsing alone): the targets need the "
        "values checked and converted lazily, on first access, which gives up the guarantee "
        "that a malformed response fails the listing with a typed error (kept: see "
        "docs/performance.md)"
    )


# -- profile ----------------------------------------------------------------------


def profile(flavour: str, limit: int = 18) -> None:
    """Print where one SDK listing over the mock transport spends its time."""
    profiler = cProfile.Profile()
    if flavour == "sync":
        from inkbox_sync import Inkbox

        sdk = Inkbox(API_KEY, base_url=BASE_URL, transport=mock_transport())
        sum(1 for _ in sdk.messages.list(MAILBOX))
        profiler.enable()
        for _ in range(3):
            sum(1 for _ in sdk.messages.list(MAILBOX))
        profiler.disable()
    else:
        from inkbox_async import AsyncInkbox

        async def main() -> None:
            sdk = AsyncInkbox(API_KEY, base_url=BASE_URL, transport=mock_transport())
            async for _ in sdk.messages.list(MAILBOX):
                pass
            profiler.enable()
            for _ in range(3):
                async for _ in sdk.messages.list(MAILBOX):
                    pass
            profiler.disable()

        asyncio.run(main())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(limit)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if "ncalls" in ln)
    print(f"  cProfile of 3 {flavour} SDK listings (mock transport), top {limit} by own time:")
    for ln in lines[start:]:
        print("    " + ln.rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3, help="processes per client")
    parser.add_argument("--rounds", type=int, default=7, help="listings per process")
    parser.add_argument("--profile", action="store_true", help="print cProfile of our listings")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_static(answers())
        return
    if args.client:
        client_main(args.client, args.url, args.rounds)
        return

    print(
        f"listing {TOTAL} messages over {PAGES} pages from a server process on loopback; "
        f"each client in its own process, {args.passes} x {args.rounds} rounds"
    )
    figures, best = measure_server(args.passes, args.rounds)
    print("parsing alone (mock transport, this process):")
    parsing, uuids = measure_parsing(max(5, args.rounds))
    figures.append(parsing)
    explain(best, uuids)
    for figure in figures:
        emit(figure)
    if args.profile:
        profile("sync")
        profile("async")


if __name__ == "__main__":
    main()
