"""Fixtures shared by every test directory: one emulator per session, an org per test."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from inkbox_emulator import Emulator, OrgCredentials

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.is_dir():  # CI lays shared/ beside the clone; fall back to the repo's parent
    SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def org(emulator: Emulator) -> OrgCredentials:
    return emulator.create_org()


@pytest.fixture
def shared_dir() -> Path:
    return SHARED


class Receiver:
    """A webhook receiver on loopback: records every POST, answers 200."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._arrived:
                    receiver.deliveries.append((dict(self.headers.items()), body))
                    receiver._arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait(self, event_type: str, timeout: float = 10.0) -> tuple[dict[str, str], bytes]:
        """The first delivery of ``event_type`` (waits for it)."""

        def found() -> tuple[dict[str, str], bytes] | None:
            for headers, body in self.deliveries:
                if json.loads(body).get("event_type") == event_type:
                    return headers, body
            return None

        with self._arrived:
            self._arrived.wait_for(lambda: found() is not None, timeout)
            result = found()
        assert result is not None, f"no {event_type} delivery within {timeout}s"
        return result

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
