"""Helpers shared by the benchmark scripts (not a benchmark itself).

Each script prints readable lines and, for every figure, one machine-readable
``BENCH-RESULT {json}`` line that ``run_all.py`` collects into its summary.
Timings are never asserted: a figure is compared with its target and
reported as PASS or MISS (or SKIP when its baseline is unavailable).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
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


# -- a static HTTP server in its own process -------------------------------------

Answers = dict[tuple[str, str | None], bytes]
"""JSON bodies by (path, value of the ``cursor`` query parameter or None)."""


def http_response(status: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _StaticServer(asyncio.Protocol):
    """HTTP/1.1 keep-alive, GET only: one pre-built answer per request, nothing else.

    So cheap that the clients measured against it, not the server, set the pace.
    """

    def __init__(self, answers: dict[tuple[str, str | None], bytes]) -> None:
        self.answers = answers
        self.missing = http_response("404 Not Found", b'{"detail":"Not Found"}')
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode()
            path, _, query = target.partition("?")
            cursor = None
            for pair in query.split("&"):
                key, _, value = pair.partition("=")
                if key == "cursor":
                    cursor = value
            self.transport.write(self.answers.get((path, cursor), self.missing))


def serve_static(answers: Answers) -> None:
    """Serve ``answers`` on a free loopback port; print ``PORT=n``; stop when stdin ends."""
    responses = {key: http_response("200 OK", body) for key, body in answers.items()}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _StaticServer(responses), "127.0.0.1", 0)
        print(f"PORT={server.sockets[0].getsockname()[1]}", flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
        server.close()

    asyncio.run(main())


@contextlib.contextmanager
def server_process(script: Path) -> Iterator[str]:
    """``python script --serve`` as a child process (see :func:`serve_static`); yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, str(script), "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = proc.stdout.readline().strip()
        if not line.startswith("PORT="):
            raise RuntimeError(f"the static server did not start: {line!r}")
        yield f"http://127.0.0.1:{line.removeprefix('PORT=')}"
    finally:
        proc.stdin.close()  # the server stops when its stdin ends
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()  # our own child, by its handle
            proc.wait()
        proc.stdout.close()
