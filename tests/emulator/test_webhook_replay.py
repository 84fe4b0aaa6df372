"""``POST /api/v1/webhooks/deliveries/{id}/replay`` runs off the event loop: the API keeps
answering while the replayed POST waits on its receiver, even when that receiver calls back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import new_mailbox, wait_until
from .test_mail_webhooks import subscribe

CALLBACK_TIMEOUT = 2.0  # well under the emulator's 5 s webhook timeout


class CallingBackHook:
    """A webhook receiver that, for each POST, asks the emulator's API for the catalog
    before it answers; records how each of those calls went."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.calls: list[tuple[int | None, float]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.calls.append(hook.call_back(base_url, api_key))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @staticmethod
    def call_back(base_url: str, api_key: str) -> tuple[int | None, float]:
        started = time.monotonic()
        try:
            with httpx2.Client(base_url=base_url, timeout=CALLBACK_TIMEOUT) as client:
                status: int | None = client.get(
                    "/api/v1/webhooks/catalog", headers={"X-API-Key": api_key}
                ).status_code
        except httpx2.TimeoutException:
            status = None
        return status, time.monotonic() - started

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def calling_back(emu: Emulator, org: OrgCredentials) -> Iterator[CallingBackHook]:
    hook = CallingBackHook(emu.base_url, org.api_key)
    yield hook
    hook.close()


def _deliveries(admin: httpx2.Client) -> list[dict[str, Any]]:
    response = admin.get("/api/v1/webhooks/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["deliveries"]
    return items


def test_a_replay_receiver_can_call_the_api(
    emu: Emulator, admin: httpx2.Client, calling_back: CallingBackHook
) -> None:
    identity = new_mailbox(admin, "replay")
    subscribe(admin, identity, calling_back.url)
    emu.inject_email(to=identity["email_address"], from_address="a@example.com", subject="hi")
    wait_until(lambda: bool(_deliveries(admin)))
    (delivery,) = _deliveries(admin)
    replayed = admin.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/replay")
    assert replayed.status_code == 200, replayed.text
    assert len(calling_back.calls) == 2
    status, elapsed = calling_back.calls[-1]
    assert status == 200 and elapsed < CALLBACK_TIMEOUT
