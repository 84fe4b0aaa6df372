"""Calls: placing with a real rate limit, inbound routing, transcripts and their search."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from inkbox import verify_webhook  # type: ignore[import-untyped]

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import as_key, scoped_key
from .phone_support import (
    CALL_KEYS,
    RATE_KEYS,
    P,
    ReplyServer,
    fixture,
    new_number,
    remote,
    wait_status,
)

WS = "wss://agent.example/ws"


@pytest.fixture
def reply() -> Iterator[ReplyServer]:
    server = ReplyServer(200, {"action": "answer"})
    yield server
    server.close()


def place(client: httpx2.Client, number: dict[str, Any], to: str, **extra: Any) -> httpx2.Response:
    body = {"from_number": number["number"], "to_number": to, **extra}
    return client.post(f"{P}/place-call", json=body)


def test_place_call_lifecycle_and_rate_limit_countdown(emu: Emulator, admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    admin.patch(f"{P}/numbers/{number['id']}", json={"client_websocket_url": WS})
    to = remote()
    response = place(admin, number, to)
    assert response.status_code == 200, response.text
    call = response.json()
    assert set(call) == CALL_KEYS | {"rate_limit"}
    assert call["direction"] == "outbound"
    assert call["status"] == "initiated"
    assert call["local_phone_number"] == number["number"]
    assert call["remote_phone_number"] == to
    assert call["client_websocket_url"] == WS  # the number's URL as fallback
    assert call["is_blocked"] is False
    assert set(call["rate_limit"]) == RATE_KEYS
    assert call["rate_limit"] == {
        "calls_used": 1,
        "calls_remaining": 99,
        "calls_limit": 100,
        "minutes_used": 0.0,
        "minutes_remaining": 300.0,
        "minutes_limit": 300,
    }
    path = f"{P}/numbers/{number['id']}/calls/{call['id']}"
    done = wait_status(admin, path, "completed")
    assert done["started_at"] is not None and done["ended_at"] is not None
    assert done["hangup_reason"] == "remote"
    second = place(admin, number, remote(), client_websocket_url="wss://other/ws").json()
    assert second["client_websocket_url"] == "wss://other/ws"
    assert second["rate_limit"]["calls_used"] == 2
    assert second["rate_limit"]["calls_remaining"] == 98
    assert second["rate_limit"]["minutes_used"] == 1.0  # the first call billed one minute
    assert second["rate_limit"]["minutes_remaining"] == 299.0
    listed = admin.get(f"{P}/numbers/{number['id']}/calls").json()
    assert [c["id"] for c in listed] == [second["id"], call["id"]]
    assert set(listed[0]) == CALL_KEYS
    assert len(admin.get(f"{P}/numbers/{number['id']}/calls", params={"limit": 1}).json()) == 1
    assert admin.get(path).json()["id"] == call["id"]


def test_rate_limit_exhaustion_and_window(emu: Emulator, admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    last: dict[str, Any] = {}
    for _ in range(100):
        response = place(admin, number, remote())
        assert response.status_code == 200
        last = response.json()
        # hung up at once, so the organisation's concurrent-call limit never bites
        assert admin.post(f"{P}/calls/{last['id']}/hangup").status_code == 200
    assert last["rate_limit"]["calls_remaining"] == 0
    refused = place(admin, number, remote())
    assert refused.status_code == 429
    body = refused.json()["detail"]
    assert body["error"] == "call_rate_limited"
    assert body["calls_limit"] == 100
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert len(admin.get(f"{P}/numbers/{number['id']}/calls", params={"limit": 200}).json()) == 100
    emu.advance_clock(24 * 3600 + 1)
    assert place(admin, number, remote()).json()["rate_limit"]["calls_used"] == 1


def test_place_call_errors(emu: Emulator, admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    other = new_number(admin, "local")
    for body in (
        {"to_number": remote()},
        {"from_number": number["number"]},
        {"from_number": number["id"], "to_number": remote()},
        {"from_number": number["number"], "to_number": "12345"},
    ):
        assert admin.post(f"{P}/place-call", json=body).status_code == 422, body
    assert place(admin, {"number": "+19990000000"}, remote()).status_code == 403
    key = scoped_key(admin, number["agent_identity_id"])
    assert place(admin, other, remote()).status_code == 200
    forbidden = admin.post(
        f"{P}/place-call",
        json={"from_number": other["number"], "to_number": remote()},
        **as_key(admin, key),
    )
    assert forbidden.status_code == 403
    target = remote()
    rule = admin.post(
        f"/api/v1/identities/{number['handle']}/phone-contact-rules",
        json={"action": "block", "match_target": target},
    ).json()
    blocked = place(admin, number, target)
    assert blocked.status_code == 403
    assert blocked.json()["detail"]["error"] == "recipient_blocked"
    assert blocked.json()["detail"]["matched_rule_id"] == rule["id"]
    admin.delete(f"{P}/numbers/{other['id']}")
    assert place(admin, other, remote()).status_code == 403


def configure(admin: httpx2.Client, number: dict[str, Any], **body: Any) -> None:
    response = admin.patch(f"{P}/numbers/{number['id']}", json=body)
    assert response.status_code == 200, response.text


def test_inbound_webhook_answer(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials, fixtures_dir: Path
) -> None:
    server = ReplyServer(200, {"action": "answer", "client_websocket_url": "wss://reply/ws"})
    try:
        number = new_number(admin, "local")
        minted = admin.post(f"/api/v1/identities/{number['handle']}/signing-key", json={})
        secret = minted.json()["signing_key"]
        configure(
            admin, number, incoming_call_action="webhook", incoming_call_webhook_url=server.url
        )
        caller = remote()
        contact = emu.add_contact(org.organization_id, "Caller", phones=[caller])
        call = emu.inject_call(number["number"], caller)
        assert call["status"] == "answered"
        assert call["direction"] == "inbound"
        assert call["client_websocket_url"] == "wss://reply/ws"
        assert call["routing"]["action"] == "webhook"
        assert call["routing"]["outcome"] == "answered"
        assert call["routing"]["webhook_status"] == 200
        headers, body = server.received[0]
        assert verify_webhook(payload=body, headers=headers, secret=secret)
        payload = json.loads(body)
        sample = fixture(fixtures_dir, "phone_incoming_call.json")
        # the current flat payload: contacts[] and agent_identities[] replace contact
        assert set(payload) - set(sample) <= {"contacts", "agent_identities", "mode", "origin"} | {
            "reason"
        }
        assert set(sample) - {"contact"} <= set(payload)
        assert set(payload["rate_limit"]) == set(sample["rate_limit"])
        assert payload["id"] == call["id"]
        assert payload["status"] == "initiated"
        assert payload["direction"] == "inbound"
        assert payload["remote_phone_number"] == caller
        assert [(c["id"], c["name"]) for c in payload["contacts"]] == [(contact["id"], "Caller")]
        assert payload["rate_limit"]["calls_used"] == 1
        recorded = emu.wait_for_webhooks(
            1, event_type="phone.incoming_call", organization_id=org.organization_id
        )
        assert recorded[0]["body"] == body
        path = f"{P}/numbers/{number['id']}/calls/{call['id']}"
        assert wait_status(admin, path, "completed")["started_at"] is not None
        # without a URL in the reply the number's own is used
        server.body = {"action": "answer"}
        configure(admin, number, client_websocket_url=WS)
        assert emu.inject_call(number["number"], caller)["client_websocket_url"] == WS
    finally:
        server.close()


@pytest.mark.parametrize(
    ("status", "body", "outcome", "call_status"),
    [
        (200, {"action": "reject"}, "rejected", "canceled"),
        (500, {"action": "answer"}, "declined", "failed"),
        (204, b"", "declined", "failed"),
        (200, b"not json", "declined", "failed"),
        (200, ["answer"], "declined", "failed"),
        (200, {"action": "ignore"}, "declined", "failed"),
        (200, {"action": "answer", "client_websocket_url": 5}, "declined", "failed"),
    ],
)
def test_inbound_webhook_replies(
    emu: Emulator,
    admin: httpx2.Client,
    status: int,
    body: Any,
    outcome: str,
    call_status: str,
) -> None:
    server = ReplyServer(status, body)
    try:
        number = new_number(admin, "local")
        configure(
            admin, number, incoming_call_action="webhook", incoming_call_webhook_url=server.url
        )
        call = emu.inject_call(number["number"], remote())
        assert call["routing"]["outcome"] == outcome
        assert call["status"] == call_status
        assert call["ended_at"] is not None
        assert call["hangup_reason"] == ("rejected" if outcome == "rejected" else None)
        assert len(server.received) == 1
    finally:
        server.close()


def test_inbound_webhook_timeout_declines() -> None:
    server = ReplyServer(200, {"action": "answer"}, delay=1.0)
    try:
        with Emulator(call_webhook_timeout=0.2) as emu:
            creds = emu.create_org()
            with httpx2.Client(
                base_url=emu.base_url, headers={"X-API-Key": creds.api_key}, timeout=10
            ) as admin:
                number = new_number(admin, "local")
                configure(
                    admin,
                    number,
                    incoming_call_action="webhook",
                    incoming_call_webhook_url=server.url,
                )
                started = time.monotonic()
                call = emu.inject_call(number["number"], remote())
                assert time.monotonic() - started < 0.9
                assert call["status"] == "failed"
                assert call["routing"]["outcome"] == "declined"
                assert call["routing"]["webhook_status"] is None
                assert "timeout" in call["routing"]["reason"]
                attempts = emu.webhook_deliveries(creds.organization_id)
                assert [(a["event_type"], a["delivered"]) for a in attempts] == [
                    ("phone.incoming_call", False)
                ]
    finally:
        server.close()


def test_inbound_auto_accept_reject_and_blocked(
    emu: Emulator, admin: httpx2.Client, reply: ReplyServer
) -> None:
    number = new_number(admin, "local")
    configure(admin, number, incoming_call_action="auto_accept", client_websocket_url=WS)
    accepted = emu.inject_call(number["number"], remote())
    assert accepted["status"] == "answered"
    assert accepted["client_websocket_url"] == WS
    assert accepted["routing"] == {"action": "auto_accept", "outcome": "answered"}
    configure(admin, number, incoming_call_action="auto_reject")
    rejected = emu.inject_call(number["number"], remote())
    assert (rejected["status"], rejected["hangup_reason"]) == ("canceled", "rejected")
    assert rejected["routing"]["outcome"] == "rejected"

    configure(admin, number, incoming_call_action="webhook", incoming_call_webhook_url=reply.url)
    spammer = remote()
    admin.post(
        f"/api/v1/identities/{number['handle']}/phone-contact-rules",
        json={"action": "block", "match_target": spammer},
    )
    blocked = emu.inject_call(number["number"], spammer)
    assert blocked["is_blocked"] is True
    assert (blocked["status"], blocked["hangup_reason"]) == ("failed", "rejected")
    assert blocked["routing"]["outcome"] == "blocked"
    assert reply.received == []  # blocked calls never reach the webhook
    calls = f"{P}/numbers/{number['id']}/calls"
    assert [c["id"] for c in admin.get(calls, params={"is_blocked": True}).json()] == [
        blocked["id"]
    ]
    assert blocked["id"] not in [
        c["id"] for c in admin.get(calls, params={"is_blocked": "false"}).json()
    ]
    scoped = as_key(admin, scoped_key(admin, number["agent_identity_id"]))
    assert blocked["id"] not in [c["id"] for c in admin.get(calls, **scoped).json()]
    assert admin.get(f"{calls}/{blocked['id']}", **scoped).status_code == 404

    via_http = httpx2.post(
        f"{emu.base_url}/_emulator/phone/calls/inbound",
        json={"to_number": number["number"], "from_number": remote()},
    )
    assert via_http.status_code == 201
    assert via_http.json()["routing"]["outcome"] == "answered"
    assert len(reply.received) == 1
    missing = httpx2.post(
        f"{emu.base_url}/_emulator/phone/calls/inbound",
        json={"to_number": "+19999999999", "from_number": remote()},
    )
    assert missing.status_code == 404


def test_transcripts_and_search(emu: Emulator, admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    call = place(admin, number, remote()).json()
    other = place(admin, number, remote()).json()
    first = emu.append_transcript(call["id"], "local", "Hello, this is your agent")
    assert set(first) == {"id", "call_id", "seq", "ts_ms", "party", "text", "created_at"}
    assert first["seq"] == 0
    emu.append_transcript(call["id"], "remote", "I need help with my invoice")
    via_http = httpx2.post(
        f"{emu.base_url}/_emulator/phone/calls/{call['id']}/transcripts",
        json={"party": "local", "text": "Sure, which invoice?"},
    )
    assert via_http.status_code == 201
    assert via_http.json()["seq"] == 2
    emu.append_transcript(other["id"], "remote", "Invoice 42 please")
    base = f"{P}/numbers/{number['id']}"
    segments = admin.get(f"{base}/calls/{call['id']}/transcripts").json()
    assert [(s["seq"], s["party"]) for s in segments] == [(0, "local"), (1, "remote"), (2, "local")]
    assert all(s["ts_ms"] >= 0 for s in segments)
    assert admin.get(f"{base}/calls/{other['id']}/transcripts").json()[0]["text"] == (
        "Invoice 42 please"
    )
    found = admin.get(f"{base}/search", params={"q": "INVOICE"}).json()
    assert [s["text"] for s in found] == [
        "Invoice 42 please",
        "I need help with my invoice",
        "Sure, which invoice?",
    ]
    remote_only = admin.get(f"{base}/search", params={"q": "invoice", "party": "remote"}).json()
    assert {s["party"] for s in remote_only} == {"remote"}
    assert len(admin.get(f"{base}/search", params={"q": "invoice", "limit": 1}).json()) == 1
    assert admin.get(f"{base}/search", params={"q": "refund"}).json() == []
    bad = httpx2.post(
        f"{emu.base_url}/_emulator/phone/calls/{call['id']}/transcripts",
        json={"party": "bot", "text": "x"},
    )
    assert bad.status_code == 422
    unknown = httpx2.post(
        f"{emu.base_url}/_emulator/phone/calls/00000000-0000-0000-0000-000000000000/transcripts",
        json={"party": "local", "text": "x"},
    )
    assert unknown.status_code == 404
    other_number = new_number(admin, "local")
    assert (
        admin.get(f"{P}/numbers/{other_number['id']}/calls/{call['id']}/transcripts").status_code
        == 404
    )
