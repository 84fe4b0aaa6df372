"""The control API and request recording."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import httpx2
import pytest

from inkbox_emulator import Emulator, RecordedRequest

from .conftest import new_mailbox, sent_ok


def test_health_and_org(http: httpx2.Client) -> None:
    assert http.get("/_emulator/health").json() == {"status": "ok"}
    created = http.post("/_emulator/orgs", json={"name": "Acme"})
    assert created.status_code == 201
    body = created.json()
    assert body["organization_id"].startswith("org_")
    assert body["api_key"].startswith("ApiKey_")
    who = http.get("/api/whoami", headers={"X-API-Key": body["api_key"]}).json()
    assert who["organization_id"] == body["organization_id"]
    assert http.post("/_emulator/orgs").status_code == 201  # body optional


def test_human_session_and_domain(http: httpx2.Client) -> None:
    org = http.post("/_emulator/orgs", json={}).json()
    oid = org["organization_id"]
    token = http.post(
        f"/_emulator/orgs/{oid}/human-sessions", json={"email": "a@b.co", "name": "A"}
    ).json()["token"]
    assert http.get("/api/whoami", headers={"X-API-Key": token}).json()["email"] == "a@b.co"
    domain = http.post(
        f"/_emulator/orgs/{oid}/domains", json={"domain": "mail.ctl.test", "is_default": True}
    )
    assert domain.status_code == 201
    row = domain.json()
    assert row["id"].startswith("sending_domain_")
    assert row["domain"] == "mail.ctl.test"
    assert row["status"] == "verified"
    assert row["is_default"] is True
    assert row["verified_at"] is not None
    created = http.post(
        "/api/v1/identities/",
        json={"agent_handle": "ctl-domain"},
        headers={"X-API-Key": org["api_key"]},
    ).json()
    assert created["email_address"] == "ctl-domain@mail.ctl.test"
    assert (
        http.post("/_emulator/orgs/org_missing/domains", json={"domain": "x.y"}).status_code == 404
    )


def test_signups_and_clock(emu: Emulator, http: httpx2.Client) -> None:
    signup = http.post(
        "/api/v1/agent-signup", json={"human_email": "h@example.com", "note_to_human": "n"}
    ).json()
    listed = http.get("/_emulator/signups").json()
    entry = next(s for s in listed if s["agent_handle"] == signup["agent_handle"])
    assert set(entry) == {
        "agent_handle",
        "human_email",
        "organization_id",
        "verification_code",
        "claim_status",
        "api_key_id",
    }
    before = emu.now()
    moved = http.post("/_emulator/clock", json={"advance_seconds": 60}).json()["now"]
    assert moved >= before + 60
    assert http.post("/_emulator/clock", json={}).status_code == 422
    assert http.post("/_emulator/signups/no-such-handle/approve").status_code == 404


def test_request_recording(emu: Emulator, admin: httpx2.Client) -> None:
    emu.clear_requests()
    admin.post("/api/v1/identities/", json={"agent_handle": "rec-one"})
    admin.get("/api/v1/identities/rec%2Dtwo", params={"a": "b c"})
    admin.get("/_emulator/health")
    recorded = emu.requests()
    assert [(r.method, r.path, r.status) for r in recorded] == [
        ("POST", "/api/v1/identities/", 201),
        ("GET", "/api/v1/identities/rec%2Dtwo", 404),
    ]
    first = recorded[0]
    assert isinstance(first, RecordedRequest)
    assert first.query == ""
    assert first.json() == {"agent_handle": "rec-one"}
    assert first.headers["content-type"] == "application/json"
    assert "x-api-key" in first.headers
    assert recorded[1].query == "a=b+c"
    assert recorded[1].body == b""
    assert recorded[1].json() is None
    wire = admin.get("/_emulator/requests").json()
    assert len(wire) == 2
    assert base64.b64decode(wire[0]["body_base64"]) == first.body
    assert wire[0]["body_text"] == first.body.decode()
    assert wire[1]["status"] == 404
    assert admin.delete("/_emulator/requests").status_code == 204
    assert emu.requests() == []


def test_reset_wipes_state() -> None:
    with Emulator() as emu:
        creds = emu.create_org()
        with httpx2.Client(base_url=emu.base_url, timeout=10) as client:
            client.get("/api/whoami", headers={"X-API-Key": creds.api_key})
            assert client.post("/_emulator/reset").status_code == 200
            assert emu.requests() == []
            assert set(emu.row_counts().values()) == {0}
            gone = client.get("/api/whoami", headers={"X-API-Key": creds.api_key})
            assert gone.status_code == 401
        emu.create_org()
        emu.reset()
        assert emu.row_counts()["orgs"] == 0


def test_opens_count_only_for_tracked_sends(http: httpx2.Client, admin: httpx2.Client) -> None:
    address = new_mailbox(admin)["email_address"]
    tracked = sent_ok(admin, address, body_html="<p>Hi</p>", track_opens=True)
    plain = sent_ok(admin, address, body_html="<p>Hi</p>")
    assert tracked["open_count"] == 0 and tracked["first_opened_at"] is None
    for message in (tracked, plain, tracked):
        opened = http.post(f"/_emulator/mail/messages/{message['id']}/opens")
        assert opened.status_code == 201, opened.text
    stored = admin.get(f"/api/v1/mail/mailboxes/{address}/messages/{tracked['id']}").json()
    assert stored["open_count"] == 2 and stored["first_opened_at"] is not None
    untouched = admin.get(f"/api/v1/mail/mailboxes/{address}/messages/{plain['id']}").json()
    assert untouched["open_count"] == 0 and untouched["first_opened_at"] is None
    assert http.post(f"/_emulator/mail/messages/{tracked['mailbox_id']}/opens").status_code == 404


def test_the_clock_can_start_at_a_given_moment() -> None:
    start = datetime(2026, 8, 30, 23, 59, tzinfo=UTC)
    with Emulator(clock_start=start) as emu:
        assert abs(emu.now() - start.timestamp()) < 5
        emu.advance_clock(3600)
        assert abs(emu.now() - start.timestamp() - 3600) < 5
        emu.reset()  # back to where it started, not to the wall clock
        assert abs(emu.now() - start.timestamp()) < 5
    with pytest.raises(ValueError, match="timezone-aware"):
        Emulator(clock_start=datetime(2026, 8, 30))
