"""Mail webhooks: every event type, envelope shape, contacts, signatures, retries."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx2
from inkbox import verify_webhook  # type: ignore[import-untyped]

from inkbox_emulator import Emulator, OrgCredentials
from inkbox_emulator.webhooks.signing import signature

from .conftest import HookServer, new_mailbox, sent_ok, unique, wait_until

M = "/api/v1/mail/mailboxes"
MESSAGE_KEYS = {
    "id",
    "mailbox_id",
    "thread_id",
    "message_id",
    "from_address",
    "to_addresses",
    "cc_addresses",
    "bcc_addresses",
    "subject",
    "snippet",
    "direction",
    "status",
    "has_attachments",
    "created_at",
}
CURRENT_MESSAGE_KEYS = {
    *MESSAGE_KEYS,
    "email_address",
    "body",
    "body_state",
    "body_truncated",
    "body_total_chars",
    "body_included_chars",
}


MAIL_EVENTS = [
    "message.received",
    "message.sent",
    "message.forwarded",
    "message.delivered",
    "message.bounced",
    "message.failed",
]


def subscribe(client: httpx2.Client, identity: dict[str, Any], url: str) -> str:
    """Subscribe the identity to every mail event; returns the signing key it minted."""
    created = client.post(
        "/api/v1/webhooks/subscriptions",
        json={"url": url, "event_types": MAIL_EVENTS, "agent_identity_id": identity["id"]},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["signing_key"])


def hooked_mailbox(admin: httpx2.Client, url: str) -> str:
    identity = new_mailbox(admin, "hook")
    subscribe(admin, identity, url)
    return str(identity["email_address"])


def test_every_event_type_is_signed_and_shaped(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials, hooks: HookServer, fixtures_dir: Path
) -> None:
    identity = new_mailbox(admin, "hook")
    secret = subscribe(admin, identity, hooks.url)
    box = str(identity["email_address"])
    bouncy, broken = f"{unique('b')}.example", f"{unique('f')}.example"
    emu.set_delivery_outcome(f"@{bouncy}", "bounced")
    emu.set_delivery_outcome(f"@{broken}", "failed")
    jane = emu.add_contact(org.organization_id, "Jane Doe", emails=["jane@example.com"])
    legal = emu.add_contact(org.organization_id, "Legal", emails=["LEGAL@example.com"])
    inbound = emu.inject_email(
        to=box,
        from_address="Jane@Example.com",
        cc=["legal@example.com", "other@example.com"],
        subject="Question",
        body_text="Can you help?",
    )
    sent = sent_ok(
        admin,
        box,
        to=["jane@example.com"],
        cc=["legal@example.com"],
        bcc=["jane@example.com"],
        subject="Re: Question",
        body_text="Sure",
        in_reply_to_message_id=inbound["message_id"],
    )
    admin.post(
        f"{M}/{box}/messages/{inbound['id']}/forward",
        json={"recipients": {"to": [f"a@{bouncy}"]}, "mode": "inline"},
    )
    sent_ok(admin, box, to=[f"a@{broken}"], subject="doomed")
    deliveries = emu.wait_for_webhooks(7, organization_id=org.organization_id)
    by_type: dict[str, list[dict[str, object]]] = {}
    for d in deliveries:
        by_type.setdefault(str(d["event_type"]), []).append(d)
    assert set(by_type) == {
        "message.received",
        "message.sent",
        "message.forwarded",
        "message.delivered",
        "message.bounced",
        "message.failed",
    }
    assert len(by_type["message.delivered"]) == 1  # the reply to jane

    wait_until(lambda: len(hooks.received) >= 7)
    for headers, body in hooks.received:
        assert verify_webhook(payload=body, headers=headers, secret=secret)
        lowered = {k.lower(): v for k, v in headers.items()}
        expected = signature(
            secret, lowered["x-inkbox-request-id"], lowered["x-inkbox-timestamp"], body
        )
        assert lowered["x-inkbox-signature"] == expected
        assert abs(int(lowered["x-inkbox-timestamp"]) - time.time()) < 60
        assert lowered["content-type"] == "application/json"
        payload = json.loads(body)
        assert set(payload) == {"id", "event_type", "timestamp", "data"}
        assert payload["id"].startswith("evt_")
        assert set(payload["data"]) == {"message", "contacts", "agent_identities"}
        assert set(payload["data"]["message"]) == CURRENT_MESSAGE_KEYS
        assert payload["timestamp"].endswith("Z")

    # the 0.4.4 samples' keys, plus the current wire's mailbox address and body fields
    fixture = json.loads((fixtures_dir / "webhook_payloads/message_sent.json").read_text())
    assert set(fixture["data"]["message"]) == MESSAGE_KEYS

    payloads: dict[str, Any] = {}
    for p in hooks.payloads():
        payloads.setdefault(p["event_type"], p)  # the first of each type
    received = payloads["message.received"]["data"]
    assert received["message"]["bcc_addresses"] is None
    assert received["message"]["direction"] == "inbound"
    assert received["contacts"] == [
        {
            "bucket": "from",
            "address": "Jane@Example.com",
            "id": jane["id"],
            "name": "Jane Doe",
            "memories": [],
        },
        {
            "bucket": "cc",
            "address": "legal@example.com",
            "id": legal["id"],
            "name": "Legal",
            "memories": [],
        },
    ]
    sent_payload = payloads["message.sent"]["data"]
    assert sent_payload["message"]["id"] == sent["id"]
    assert sent_payload["message"]["status"] == "sent"
    assert sent_payload["message"]["bcc_addresses"] == ["jane@example.com"]
    assert [(c["bucket"], c["address"]) for c in sent_payload["contacts"]] == [
        ("to", "jane@example.com"),
        ("cc", "legal@example.com"),
        ("bcc", "jane@example.com"),
    ]
    assert payloads["message.forwarded"]["data"]["message"]["subject"] == "Fwd: Question"
    assert payloads["message.bounced"]["data"]["message"]["status"] == "bounced"
    assert payloads["message.failed"]["data"]["message"]["status"] == "failed"
    assert payloads["message.delivered"]["data"]["message"]["status"] == "delivered"


def test_blocked_mail_is_silent(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials, hooks: HookServer
) -> None:
    identity = new_mailbox(admin, "hook")
    subscribe(admin, identity, hooks.url)
    box = str(identity["email_address"])
    admin.post(
        f"/api/v1/identities/{identity['agent_handle']}/mail-contact-rules",
        json={"action": "block", "match_type": "exact_email", "match_target": "spam@example.com"},
    )
    emu.inject_email(to=box, from_address="spam@example.com", subject="buy now")
    emu.inject_email(to=box, from_address="friend@example.com", subject="hi")
    (delivery,) = emu.wait_for_webhooks(1, organization_id=org.organization_id)
    assert json.loads(delivery["body"])["data"]["message"]["subject"] == "hi"
    assert any(h.lower() == "x-inkbox-signature" for h in delivery["headers"])
    time.sleep(0.1)
    assert [p["data"]["message"]["subject"] for p in hooks.payloads()] == ["hi"]


def test_failed_deliveries_are_retried_and_recorded(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    flaky = HookServer(fail_first=2)
    try:
        box = hooked_mailbox(admin, flaky.url)
        emu.inject_email(to=box, from_address="a@example.com", subject="retry me")
        (ok,) = emu.wait_for_webhooks(
            1, event_type="message.received", organization_id=org.organization_id
        )
        assert ok["attempt"] == 3 and ok["status_code"] == 204 and ok["delivered"]
        attempts = emu.webhook_deliveries(org.organization_id)
        assert [(a["attempt"], a["status_code"], a["delivered"]) for a in attempts] == [
            (1, 500, False),
            (2, 500, False),
            (3, 204, True),
        ]
        assert attempts[0]["error"] == "HTTP 500"
        assert len({a["delivery_id"] for a in attempts}) == 1
        assert len(flaky.received) == 1
        wire = admin.get(
            "/_emulator/webhooks/deliveries", params={"organization_id": org.organization_id}
        ).json()
        assert [w["attempt"] for w in wire] == [1, 2, 3]
        assert json.loads(wire[2]["body_text"])["event_type"] == "message.received"
    finally:
        flaky.close()


def test_unreachable_receiver_gives_up_after_all_retries(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    with Emulator(webhook_retry_delays=(0.01, 0.02), delivery_delay=0.0) as fast:
        creds = fast.create_org()
        with httpx2.Client(
            base_url=fast.base_url, headers={"X-API-Key": creds.api_key}, timeout=10
        ) as client:
            identity = new_mailbox(client)
            box = identity["email_address"]
            subscribe(client, identity, "http://127.0.0.1:9/nothing")
            fast.inject_email(to=box, from_address="a@example.com", subject="lost")
            wait_until(lambda: len(fast.webhook_deliveries()) == 3)
            time.sleep(0.05)
            attempts = fast.webhook_deliveries()
            assert [a["attempt"] for a in attempts] == [1, 2, 3]
            assert all(a["status_code"] is None and a["error"] for a in attempts)
            fast.reset()
            assert fast.webhook_deliveries() == []


def test_api_responses_do_not_wait_for_webhooks(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            release.wait(5)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        box = hooked_mailbox(admin, f"http://127.0.0.1:{server.server_address[1]}/")
        started = time.monotonic()
        sent_ok(admin, box, to=["x@example.com"])
        assert time.monotonic() - started < 1.0
        release.set()
        emu.wait_for_webhooks(1, event_type="message.sent", organization_id=org.organization_id)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
