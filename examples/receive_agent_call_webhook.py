"""Answer incoming calls from a small webhook server that verifies each request.

The incoming-call webhook is synchronous: the reply decides the call
(``{"action": "answer", "client_websocket_url": ...}`` or ``{"action": "reject"}``).
Against the emulator a simulated caller rings the number; against the hosted
API the webhook is registered and removed again (it needs a public URL).
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

import _runtime

from inkbox_sync import Inkbox, PhoneIncomingCallWebhookPayload, verify_webhook

BLOCKED = "+15550000000"


def start_server(secret: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not verify_webhook(payload=raw, headers=self.headers, secret=secret):
                self.send_response(403)
                self.end_headers()
                return
            call = cast(PhoneIncomingCallWebhookPayload, json.loads(raw))
            answer = call["remote_phone_number"] != BLOCKED
            print(
                f"incoming call from {call['remote_phone_number']}: {'answer' if answer else 'reject'}"
            )
            reply = (
                {"action": "answer", "client_websocket_url": "wss://my-agent.example.com/voice"}
                if answer
                else {"action": "reject"}
            )
            body = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    with _runtime.api() as (key, base_url), Inkbox(api_key=key, base_url=base_url) as inkbox:
        identity = inkbox.create_identity(f"receptionist-{uuid.uuid4().hex[:6]}")
        secret = identity.create_signing_key().signing_key  # signs this identity's webhooks
        number = identity.provision_phone_number()
        assert number is not None
        try:
            if _runtime.EMULATOR is None:
                inkbox.phone_numbers.update(
                    number.id,
                    incoming_call_action="webhook",
                    incoming_call_webhook_url="https://example.com/calls",
                )
                print("registered; incoming calls will be posted to https://example.com/calls")
                return
            server = start_server(secret)
            try:
                url = f"http://127.0.0.1:{server.server_address[1]}/calls"
                inkbox.phone_numbers.update(
                    number.id, incoming_call_action="webhook", incoming_call_webhook_url=url
                )
                for caller in ("+15551234567", BLOCKED):
                    call = _runtime.EMULATOR.inject_call(
                        to_number=number.number, from_number=caller
                    )
                    print("  ->", call["status"])
            finally:
                server.shutdown()
        finally:
            identity.delete()


if __name__ == "__main__":
    main()
