"""Fixtures for the emulator tests: raw HTTP clients on the session emulator."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials

if TYPE_CHECKING:
    from .tunnel_agent_support import AgentPool


@pytest.fixture(scope="session")
def emu(emulator: Emulator) -> Emulator:
    """The session's emulator (``anyio_backend`` and ``org`` come from tests/conftest.py)."""
    return emulator


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx2.Client]:
    """A bare client (no credentials) on the emulator."""
    with httpx2.Client(base_url=emu.base_url, timeout=10) as client:
        yield client


@pytest.fixture
def admin(emu: Emulator, org: OrgCredentials) -> Iterator[httpx2.Client]:
    """A client authenticated with the test org's admin key."""
    with httpx2.Client(
        base_url=emu.base_url, headers={"X-API-Key": org.api_key}, timeout=10
    ) as client:
        yield client


@contextlib.contextmanager
def emulator_at(when: datetime, **options: Any) -> Iterator[tuple[Emulator, httpx2.Client]]:
    """A fresh emulator (``options`` as given) whose clock starts at ``when``, with an admin
    client of a new org on it: to pin a dated change of its defaults, whatever today is."""
    with Emulator(clock_start=when, **options) as emu:
        org = emu.create_org()
        with httpx2.Client(
            base_url=emu.base_url, headers={"X-API-Key": org.api_key}, timeout=10
        ) as admin:
            yield emu, admin


@pytest.fixture
def agents(emu: Emulator, org: OrgCredentials) -> Iterator[AgentPool]:
    """Tunnel agents (tunnel_agent_support.EdgeAgent) of the test org, all closed at teardown."""
    from .tunnel_agent_support import agent_pool  # it imports this module

    with agent_pool(emu, org.api_key) as pool:
        yield pool


def as_key(client: httpx2.Client, key: str) -> dict[str, Any]:
    """Request kwargs that swap the credential of one call."""
    del client
    return {"headers": {"X-API-Key": key}}


def create_identity(client: httpx2.Client, handle: str, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/identities/", json={"agent_handle": handle, **body})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def scoped_key(client: httpx2.Client, identity_id: str) -> str:
    response = client.post(
        "/api/v1/api-keys", json={"label": "agent", "scoped_identity_id": identity_id}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


class HookServer:
    """A loopback webhook receiver: records every POST; the first ``fail_first`` get 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with server._lock:
                    failing = server.fail_first > 0
                    if failing:
                        server.fail_first -= 1
                    else:
                        server.received.append((dict(self.headers.items()), body))
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def payloads(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(body) for _, body in self.received]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def hooks() -> Iterator[HookServer]:
    server = HookServer()
    yield server
    server.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_mailbox(client: httpx2.Client, prefix: str = "mbx") -> dict[str, Any]:
    """A fresh identity; returns its IdentityDetail (``email_address``, ``mailbox``…)."""
    return create_identity(client, unique(prefix))


def send(client: httpx2.Client, address: str, **body: Any) -> httpx2.Response:
    body.setdefault("subject", "Hello")
    to = body.pop("to", ["someone@example.com"])
    recipients = {"to": to, **{k: body.pop(k) for k in ("cc", "bcc") if k in body}}
    return client.post(
        f"/api/v1/mail/mailboxes/{address}/messages", json={"recipients": recipients, **body}
    )


def sent_ok(client: httpx2.Client, address: str, **body: Any) -> dict[str, Any]:
    response = send(client, address, **body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def messages(client: httpx2.Client, address: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/mail/mailboxes/{address}/messages", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
