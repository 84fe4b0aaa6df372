"""``Idempotency-Key`` on the send routes: replay, reuse with another body, in progress,
key format, and a dropped answer retried exactly once (raw HTTP)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2
import pytest

from inkbox_emulator import Emulator, OrgCredentials
from inkbox_emulator.core.errors import ApiError
from inkbox_emulator.core.idempotency import RETENTION_SECONDS, begin
from inkbox_emulator.core.store import Store

from .conftest import create_identity
from .phone_support import new_number, opted_in, ready_number

M = "/api/v1/mail/mailboxes"


def _mailbox(admin: httpx2.Client) -> str:
    return str(create_identity(admin, f"idem-{uuid.uuid4().hex[:10]}")["email_address"])


def _send(text: str = "hello") -> dict[str, Any]:
    return {"recipients": {"to": ["someone@example.com"]}, "subject": "Hi", "body_text": text}


def _keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key, "Prefer": "idempotency-replay"}


def test_same_key_same_body_replays_without_sending(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    address = _mailbox(admin)
    first = admin.post(f"{M}/{address}/messages", json=_send(), headers=_keyed("k-1"))
    assert first.status_code == 200
    assert "idempotent-replayed" not in first.headers
    again = admin.post(f"{M}/{address}/messages", json=_send(), headers=_keyed("k-1"))
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert len(emu.outbox(org.organization_id)) == 1
    fresh = admin.post(f"{M}/{address}/messages", json=_send(), headers=_keyed("k-2"))
    assert fresh.json()["id"] != first.json()["id"]
    unkeyed = admin.post(f"{M}/{address}/messages", json=_send())
    assert unkeyed.status_code == 200
    assert len(emu.outbox(org.organization_id)) == 3


def test_same_key_other_body_is_reused(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    address = _mailbox(admin)
    assert admin.post(f"{M}/{address}/messages", json=_send(), headers=_keyed("k")).is_success
    other = admin.post(f"{M}/{address}/messages", json=_send("changed"), headers=_keyed("k"))
    assert other.status_code == 409
    detail = other.json()["detail"]
    assert detail["error"] == "idempotency_key_reused"
    assert detail["message"]
    assert len(emu.outbox(org.organization_id)) == 1


def test_keys_are_scoped_per_sender_and_operation(admin: httpx2.Client) -> None:
    first, second = _mailbox(admin), _mailbox(admin)
    a = admin.post(f"{M}/{first}/messages", json=_send(), headers=_keyed("shared"))
    b = admin.post(f"{M}/{second}/messages", json=_send(), headers=_keyed("shared"))
    assert a.status_code == b.status_code == 200
    assert a.json()["id"] != b.json()["id"]
    forward = admin.post(
        f"{M}/{first}/messages/{a.json()['id']}/forward",
        json={"recipients": {"to": ["other@example.com"]}},
        headers=_keyed("shared"),
    )
    assert forward.status_code == 200
    assert forward.headers.get("idempotent-replayed") is None


def test_a_failed_request_frees_its_key(admin: httpx2.Client) -> None:
    address = _mailbox(admin)
    bad = admin.post(f"{M}/{address}/messages", json={"subject": "x"}, headers=_keyed("k"))
    assert bad.status_code == 422
    good = admin.post(f"{M}/{address}/messages", json=_send(), headers=_keyed("k"))
    assert good.status_code == 200


@pytest.mark.parametrize("key", [b"", b"x" * 256, "naïve".encode(), b"tab\there"])
def test_key_format(admin: httpx2.Client, key: bytes) -> None:
    address = _mailbox(admin)
    headers = {b"Idempotency-Key": key}
    response = admin.post(f"{M}/{address}/messages", json=_send(), headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def test_in_progress_and_retention() -> None:
    store = Store()
    store.run(lambda db: db.exec("INSERT INTO orgs VALUES ('org_x', 'x', 'x', 'u', 0)"))
    assert store.run(begin, "org_x", "mail.send:a", "k", "fp") is None
    with pytest.raises(ApiError) as running:
        store.run(begin, "org_x", "mail.send:a", "k", "fp")
    assert running.value.status == 409
    assert isinstance(running.value.detail, dict)
    assert running.value.detail["error"] == "idempotency_in_progress"
    assert running.value.headers == {"Retry-After": "1"}
    with pytest.raises(ApiError) as reused:
        store.run(begin, "org_x", "mail.send:a", "k", "other")
    assert isinstance(reused.value.detail, dict)
    assert reused.value.detail["error"] == "idempotency_key_reused"
    store.advance_clock(RETENTION_SECONDS + 1)
    assert store.run(begin, "org_x", "mail.send:a", "k", "other") is None  # expired
    store.close()


def test_dropped_answer_retried_with_the_key_sends_once(
    emu: Emulator, admin: httpx2.Client, org: OrgCredentials
) -> None:
    address = _mailbox(admin)
    emu.inject_fault(method="POST", path=f"{M}/*/messages", kind="drop_after")
    with pytest.raises(httpx2.RemoteProtocolError):
        admin.post(f"{M}/{address}/messages", json=_send(), headers=_keyed("lost"))
    retried = admin.post(f"{M}/{address}/messages", json=_send(), headers=_keyed("lost"))
    assert retried.status_code == 200
    assert retried.headers["idempotent-replayed"] == "true"
    assert len(emu.outbox(org.organization_id)) == 1


def test_texts_and_calls_replay(emu: Emulator, admin: httpx2.Client, org: OrgCredentials) -> None:
    number = ready_number(emu, admin)
    who = opted_in(emu, number)
    path = f"/api/v1/phone/numbers/{number['id']}/texts"
    body = {"to": who, "text": "once"}
    first = admin.post(path, json=body, headers=_keyed("t"))
    again = admin.post(path, json=body, headers=_keyed("t"))
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert len(emu.sent_texts(org.organization_id)) == 1
    toll = new_number(admin, "local")
    call = {
        "from_number": toll["number"],
        "to_number": who,
        "client_websocket_url": "wss://agent.example/ws",
    }
    placed = admin.post("/api/v1/phone/place-call", json=call, headers=_keyed("c"))
    replayed = admin.post("/api/v1/phone/place-call", json=call, headers=_keyed("c"))
    assert placed.status_code == replayed.status_code == 200
    assert replayed.json()["id"] == placed.json()["id"]
    calls = admin.get(f"/api/v1/phone/numbers/{toll['id']}/calls").json()
    assert len(calls) == 1
