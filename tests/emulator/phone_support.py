"""Helpers shared by the phone tests: numbers, opt-ins, a programmable call-webhook receiver."""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2

from inkbox_emulator import Emulator

from .conftest import create_identity, unique

P = "/api/v1/phone"
FIXTURES = Path("webhook_payloads")
_remote = itertools.count(1000)

NUMBER_KEYS = {
    "id",
    "number",
    "type",
    "status",
    "sms_status",
    "sms_error_code",
    "sms_error_detail",
    "sms_ready_at",
    "incoming_call_action",
    "client_websocket_url",
    "incoming_call_webhook_url",
    "forwarding_target_type",
    "forwarding_phone_number",
    "forwarding_sip_uri",
    "filter_mode",
    "state",
    "agent_identity_id",
    "filter_mode_change_notice",
    "created_at",
    "updated_at",
}
CALL_KEYS = {
    "id",
    "local_phone_number",
    "remote_phone_number",
    "direction",
    "status",
    "client_websocket_url",
    "use_inkbox_tts",
    "use_inkbox_stt",
    "hangup_reason",
    "started_at",
    "ended_at",
    "is_blocked",
    "origin",
    "mode",
    "reason",
    "created_at",
    "updated_at",
}
RATE_KEYS = {
    "calls_used",
    "calls_remaining",
    "calls_limit",
    "minutes_used",
    "minutes_remaining",
    "minutes_limit",
}
TEXT_KEYS = {
    "id",
    "direction",
    "local_phone_number",
    "remote_phone_number",
    "text",
    "type",
    "media",
    "is_read",
    "delivery_status",
    "origin",
    "error_code",
    "error_detail",
    "sent_at",
    "delivered_at",
    "failed_at",
    "is_blocked",
    "conversation_id",
    "sender_phone_number",
    "recipients",
    "created_at",
    "updated_at",
}

TEXT_EVENTS = (
    "text.received",
    "text.sent",
    "text.delivered",
    "text.delivery_failed",
    "text.delivery_unconfirmed",
)


def remote() -> str:
    """A fresh outside E.164 number (never an emulator number)."""
    return f"+1999{int(time.time() * 1000) % 10_000:04d}{next(_remote) % 1000:03d}"


def new_number(
    client: httpx2.Client, type_: str = "local", state: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A fresh identity with a provisioned number; returns the PhoneNumber (plus ``handle``)."""
    handle = unique("ph")
    create_identity(client, handle)
    hook = extra.pop("incoming_text_webhook_url", None)
    body: dict[str, Any] = {"agent_handle": handle, "type": type_, **extra}
    if state is not None:
        body["state"] = state
    response = client.post(f"{P}/numbers", json=body)
    assert response.status_code == 201, response.text
    number: dict[str, Any] = response.json()
    number["handle"] = handle
    if hook is not None:  # text events now come through a subscription of the identity
        subscription = {
            "url": hook,
            "event_types": list(TEXT_EVENTS),
            "agent_identity_id": number["agent_identity_id"],
        }
        created = client.post("/api/v1/webhooks/subscriptions", json=subscription)
        assert created.status_code == 201, created.text
        key = client.post(f"/api/v1/identities/{handle}/signing-key", json={})
        number["signing_key"] = key.json()["signing_key"]
    return number


def ready_number(emu: Emulator, client: httpx2.Client, **extra: Any) -> dict[str, Any]:
    """A local number whose warm-up is over."""
    number = new_number(client, "local", **extra)
    emu.mark_sms_ready(number["id"])
    return number


def opted_in(emu: Emulator, number: dict[str, Any], who: str | None = None) -> str:
    """An outside number that texted START to ``number``."""
    sender = who or remote()
    emu.inject_text(number["number"], sender, "START")
    return sender


def send(client: httpx2.Client, number_id: str, to: str, text: str = "hi") -> httpx2.Response:
    return client.post(f"{P}/numbers/{number_id}/texts", json={"to": to, "text": text})


def fixture(fixtures_dir: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((fixtures_dir / FIXTURES / name).read_text())
    return data


def wait_status(
    client: httpx2.Client, path: str, status: str, key: str = "status", timeout: float = 5.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(path).json()
        if body.get(key) == status:
            return body
        assert time.monotonic() < deadline, f"{path}: {body.get(key)} != {status}"
        time.sleep(0.02)


class ReplyServer:
    """A call-webhook receiver answering every POST with ``status`` and ``body`` after
    ``delay`` seconds; records what it received."""

    def __init__(self, status: int = 200, body: Any = None, delay: float = 0.0) -> None:
        self.status = status
        self.body = body
        self.delay = delay
        self.received: list[tuple[dict[str, str], bytes]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.received.append((dict(self.headers.items()), raw))
                if server.delay:
                    time.sleep(server.delay)
                payload = (
                    server.body
                    if isinstance(server.body, bytes)
                    else json.dumps(server.body).encode()
                )
                try:
                    self.send_response(server.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/call"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
