"""Iterating a mailbox of 100k messages keeps one page in memory.

Serves 2000 pages of 50 messages from the engine's mock transport (each page
built on request, so the server side holds nothing) and iterates them with
``inkbox_sync``'s ``messages.list`` and ``inkbox_async``'s, under tracemalloc.
Tracing starts after the first 5 pages (client, pool and converter are
built by then). The figure compares the peak memory growth while iterating
100,000 messages with the same for 2,000 messages: holding one page at a
time, it does not depend on the mailbox's length. Target: <= 1.5x.
"""

from __future__ import annotations

import json
import tracemalloc
import uuid
from typing import Any

import anyio
import httpx2
from _common import API_KEY, BASE_URL, Figure, emit

from inkbox_async import AsyncInkbox, Message
from inkbox_sync import Inkbox

PAGES = 2000
PER_PAGE = 50
MAILBOX = "bench@inkboxmail.com"


def message(n: int) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=n)),
        "mailbox_id": str(uuid.UUID(int=1)),
        "thread_id": str(uuid.UUID(int=n // 3)),
        "message_id": f"<{n}@inkboxmail.com>",
        "from_address": f"sender{n}@example.com",
        "to_addresses": [MAILBOX],
        "cc_addresses": None,
        "subject": f"Message number {n} about the quarterly numbers",
        "snippet": "Hi, please find the figures below. " * 3,
        "direction": "inbound",
        "status": "received",
        "is_read": n % 2 == 0,
        "is_starred": False,
        "has_attachments": False,
        "created_at": "2026-03-09T00:00:00Z",
    }


def server(pages: int) -> httpx2.MockTransport:
    """A mailbox of ``pages`` pages, each page built on request."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        page = int(request.url.params.get("cursor") or 0)
        items = [message(page * PER_PAGE + i) for i in range(PER_PAGE)]
        more = page + 1 < pages
        body = {"items": items, "next_cursor": str(page + 1) if more else None, "has_more": more}
        return httpx2.Response(200, content=json.dumps(body).encode())

    return httpx2.MockTransport(handler)


def one_page_footprint() -> int:
    """Bytes held by one parsed page of messages."""
    from inkbox_async._converter import structure_list

    raw = [message(i) for i in range(PER_PAGE)]
    structure_list(json.loads(json.dumps(raw)), Message)  # build the converter first
    text = json.dumps(raw)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    page = structure_list(json.loads(text), Message)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(page) == PER_PAGE
    return held


WARM_UP = 5 * PER_PAGE
SMALL_PAGES = 40


class Meter:
    """Starts tracing after the warm-up item; records peak growth from there on."""

    def __init__(self) -> None:
        self.count = 0
        self.base = 0

    def tick(self) -> None:
        self.count += 1
        if self.count == WARM_UP:
            tracemalloc.start()
            self.base = tracemalloc.get_traced_memory()[0]

    def finish(self) -> tuple[int, int]:
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak - self.base, current - self.base


def sync_iteration(meter: Meter, pages: int) -> None:
    with Inkbox(API_KEY, base_url=BASE_URL, transport=server(pages)) as inkbox:
        for _ in inkbox.messages.list(MAILBOX, page_size=PER_PAGE):
            meter.tick()


def async_iteration(meter: Meter, pages: int) -> None:
    async def run() -> None:
        async with AsyncInkbox(API_KEY, base_url=BASE_URL, transport=server(pages)) as inkbox:
            async for _ in inkbox.messages.list(MAILBOX, page_size=PER_PAGE):
                meter.tick()

    anyio.run(run)


def main() -> None:
    page = one_page_footprint()
    print(f"iterating {PAGES * PER_PAGE} and {SMALL_PAGES * PER_PAGE} messages under tracemalloc")
    print(f"  one parsed page of {PER_PAGE} messages holds {page / 1024:.1f} KiB")
    for flavour, iterate in (("sync", sync_iteration), ("async", async_iteration)):
        peaks = {}
        for pages in (SMALL_PAGES, PAGES):
            meter = Meter()
            iterate(meter, pages)
            peak, left = meter.finish()
            assert meter.count == pages * PER_PAGE, meter.count
            peaks[pages] = peak
            print(
                f"  {flavour}, {meter.count} messages: peak growth {peak / 1024:.1f} KiB "
                f"(~{peak / page:.1f} parsed pages); {left / 1024:.1f} KiB held at the end"
            )
        emit(
            Figure(
                bench="mail_iteration",
                name=f"{flavour}: peak memory, 100k messages / 2k messages",
                value=peaks[PAGES] / peaks[SMALL_PAGES],
                target=1.5,
                op="<=",
                unit="x",
                note=f"{peaks[PAGES] / 1024:.0f} KiB vs {peaks[SMALL_PAGES] / 1024:.0f} KiB",
            )
        )


if __name__ == "__main__":
    main()
