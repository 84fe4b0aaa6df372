"""Receive mail webhooks: a small receiver that verifies every delivery's signature.

Against the emulator, the receiver runs on loopback and the emulator posts real
signed deliveries to it. Against the hosted API, the webhook is registered and
removed again (the receiver would need a public URL, e.g. an Inkbox tunnel).
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

import _runtime

from inkbox_sync import MAIL_EVENT_TYPES, Inkbox, MailWebhookPayload, ReplayGuard, verify_webhook


def start_receiver(secret: str, seen: list[str]) -> ThreadingHTTPServer:
    guard = ReplayGuard()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not verify_webhook(
                payload=raw, headers=self.headers, secret=secret, replay_guard=guard
            ):
                self.send_response(403)
                self.end_headers()
                return
            payload = cast(MailWebhookPayload, json.loads(raw))
            message = payload["data"]["message"]
            print(
                f"verified {payload['event_type']}: {message['subject']!r} ({message['direction']})"
            )
            seen.append(payload["event_type"])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    with _runtime.api() as (key, base_url), Inkbox(api_key=key, base_url=base_url) as inkbox:
        identity = inkbox.create_identity(f"hooked-{uuid.uuid4().hex[:6]}")
        secret = identity.create_signing_key().signing_key  # signs this identity's webhooks
        address = identity.email_address
        assert address is not None
        if _runtime.EMULATOR is None:
            hook = identity.subscribe_webhook("https://example.com/hooks/mail")
            print("registered a webhook; deliveries need a public URL")
            identity.unsubscribe_webhook(hook.id)
            identity.delete()
            return
        seen: list[str] = []
        server = start_receiver(secret, seen)
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/hooks/mail"
            identity.subscribe_webhook(url, events=list(MAIL_EVENT_TYPES))
            identity.send_email(
                to=["customer@example.com"], subject="Your order shipped", body_text="1Z999"
            )
            _runtime.EMULATOR.inject_email(
                to=address, from_address="customer@example.com", subject="Thanks!", body_text=":)"
            )
            _runtime.EMULATOR.wait_for_webhooks(3)
            print("events:", sorted(seen))
        finally:
            server.shutdown()
            identity.delete()


if __name__ == "__main__":
    main()
