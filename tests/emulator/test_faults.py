"""Fault injection: canned statuses, delays, dropped connections, recording, control routes."""

from __future__ import annotations

import time

import anyio
import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials

from .conftest import messages, new_mailbox, send

M = "/api/v1/mail/mailboxes"


@pytest.fixture(autouse=True)
def no_leftover_faults(emu: Emulator) -> None:
    emu.clear_faults()


def test_status_fault_with_retry_after(emu: Emulator, admin: httpx2.Client) -> None:
    box = new_mailbox(admin)["email_address"]
    emu.inject_fault(method="POST", path=f"{M}/*/messages", status=429, retry_after=2, count=2)
    emu.clear_requests()
    for _ in range(2):
        refused = send(admin, box)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "2"
        assert "detail" in refused.json()
    assert send(admin, box).status_code == 200
    assert len(messages(admin, box)) == 1  # faulted requests were not processed
    recorded = [(r.status, r.fault) for r in emu.requests() if r.method == "POST"]
    assert recorded == [(429, "status"), (429, "status"), (200, None)]


def test_fault_matching_is_precise(emu: Emulator, admin: httpx2.Client) -> None:
    box = new_mailbox(admin)["email_address"]
    emu.inject_fault(method="GET", path="/api/v1/mail/mailboxes", status=503)
    assert admin.get(f"{M}/{box}").status_code == 200  # a longer path does not match
    assert admin.post("/api/v1/identities/", json={}).status_code == 422  # nor another method
    assert admin.get("/api/v1/mail/mailboxes").status_code == 503
    assert admin.get("/api/v1/mail/mailboxes").status_code == 200  # used up
    emu.inject_fault(method="*", path=r"^/api/v1/mail/mailboxes/[^/]+$", status=500)
    assert admin.get(f"{M}/{box}").status_code == 500
    emu.inject_fault(method="GET", path="/api/**", status=502)
    assert admin.get(f"{M}/{box}/threads").status_code == 502
    assert admin.get("/_emulator/health").status_code == 200  # control API is never faulted


def test_delay_fault(emu: Emulator, admin: httpx2.Client) -> None:
    emu.inject_fault(method="GET", path="/api/v1/mail/mailboxes", kind="delay", delay=0.3)
    started = time.monotonic()
    assert admin.get("/api/v1/mail/mailboxes").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_drop_before_processing(emu: Emulator, admin: httpx2.Client) -> None:
    box = new_mailbox(admin)["email_address"]
    emu.inject_fault(method="POST", path=f"{M}/{box}/messages", kind="drop_before")
    emu.clear_requests()
    with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadError)):
        send(admin, box, subject="never")
    assert messages(admin, box) == []
    (dropped,) = [r for r in emu.requests() if r.method == "POST"]
    assert (dropped.status, dropped.fault) == (0, "drop_before")
    assert send(admin, box).status_code == 200  # the connection pool recovers


def test_drop_after_send_stores_exactly_one_message(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    box = new_mailbox(admin)["email_address"]
    emu.inject_fault(method="POST", path=f"{M}/*/messages", kind="drop_after")
    emu.clear_requests()
    with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadError)):
        send(admin, box, to=["x@example.com"], subject="once")
    assert [m["subject"] for m in messages(admin, box)] == ["once"]
    assert [o["subject"] for o in emu.outbox(org.organization_id)] == ["once"]
    (dropped,) = [r for r in emu.requests() if r.method == "POST"]
    assert (dropped.status, dropped.fault) == (200, "drop_after")


async def test_drop_seen_by_async_client(emu: Emulator, org: OrgCredentials) -> None:
    emu.inject_fault(method="GET", path="/api/v1/mail/mailboxes", kind="drop_after")
    async with httpx2.AsyncClient(
        base_url=emu.base_url, headers={"X-API-Key": org.api_key}, timeout=10
    ) as client:
        with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadError)):
            await client.get("/api/v1/mail/mailboxes")
        assert (await client.get("/api/v1/mail/mailboxes")).status_code == 200
        await anyio.sleep(0)


def test_fault_control_routes(emu: Emulator, http: httpx2.Client) -> None:
    created = http.post(
        "/_emulator/faults",
        json={"method": "GET", "path": "/api/whoami", "kind": "status", "status": 504, "count": 3},
    )
    assert created.status_code == 201
    fault = created.json()
    assert fault["remaining"] == 3 and fault["kind"] == "status"
    assert http.get("/api/whoami").status_code == 504
    (listed,) = http.get("/_emulator/faults").json()
    assert listed["id"] == fault["id"] and listed["remaining"] == 2
    assert http.delete(f"/_emulator/faults/{fault['id']}").status_code == 204
    assert http.delete(f"/_emulator/faults/{fault['id']}").status_code == 404
    assert http.get("/api/whoami").status_code == 401
    assert http.post("/_emulator/faults", json={"kind": "explode"}).status_code == 422
    assert http.post("/_emulator/faults", json={"kind": "status", "status": 200}).status_code == 422
    http.post("/_emulator/faults", json={"path": "/api/whoami", "kind": "drop_before"})
    assert http.delete("/_emulator/faults").status_code == 204
    assert http.get("/_emulator/faults").json() == []
    with pytest.raises(ValueError):
        emu.inject_fault(kind="status", count=0)
