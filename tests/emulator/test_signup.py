"""Agent self-signup: register, verify, attempts limit, resend cooldown, approval, status."""

from __future__ import annotations

from typing import Any

import httpx2

from inkbox_emulator import Emulator

BASE = "/api/v1/agent-signup"


def _signup(http: httpx2.Client, **extra: Any) -> dict[str, Any]:
    response = http.post(
        BASE, json={"human_email": "human@example.com", "note_to_human": "hi", **extra}
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_register_shape_and_handle(emu: Emulator, http: httpx2.Client) -> None:
    body = _signup(http, agent_handle="Sales Agent", display_name="Sales")
    assert set(body) == {
        "email_address",
        "organization_id",
        "api_key",
        "agent_handle",
        "claim_status",
        "human_email",
        "message",
    }
    handle = body["agent_handle"]
    assert handle.startswith("sales-agent-") and len(handle) == len("sales-agent-") + 6
    assert body["email_address"] == f"{handle}@inkboxmail.com"
    assert body["claim_status"] == "agent_unclaimed"
    assert body["human_email"] == "human@example.com"
    assert _signup(http, display_name="Nice Bot!")["agent_handle"].startswith("nice-bot-")
    assert _signup(http)["agent_handle"].startswith("agent-")
    signup = next(s for s in emu.signups() if s["agent_handle"] == handle)
    assert signup["organization_id"] == body["organization_id"]
    assert signup["claim_status"] == "agent_unclaimed"
    assert len(signup["verification_code"]) == 6 and signup["verification_code"].isdigit()
    assert body["api_key"].startswith(signup["api_key_id"] + ".")
    headers = {"X-API-Key": body["api_key"]}
    who = http.get("/api/whoami", headers=headers).json()
    assert who["auth_subtype"] == "api_key.agent_scoped.unclaimed"
    assert who["creator_type"] == "agent"
    own = http.get(f"/api/v1/identities/{handle}", headers=headers)
    assert own.status_code == 200
    assert own.json()["tunnel"]["tunnel_name"] == handle


def test_register_validation(http: httpx2.Client) -> None:
    response = http.post(BASE, json={"human_email": "human@example.com"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "note_to_human"]
    bad_email = http.post(BASE, json={"human_email": "nope", "note_to_human": "x"})
    assert bad_email.status_code == 422


def test_unclaimed_restrictions(http: httpx2.Client) -> None:
    body = _signup(http)
    headers = {"X-API-Key": body["api_key"]}
    status = http.get(f"{BASE}/status", headers=headers).json()
    assert status == {
        "claim_status": "agent_unclaimed",
        "human_state": status["human_state"],
        "human_email": "human@example.com",
        "restrictions": {
            "max_sends_per_day": 10,
            "allowed_recipients": ["human@example.com"],
            "can_receive": True,
            "can_create_mailboxes": False,
        },
    }
    create = http.post("/api/v1/identities/", json={"agent_handle": "other-x1"}, headers=headers)
    assert create.status_code == 403
    key = http.post("/api/v1/api-keys", json={"label": "x"}, headers=headers)
    assert key.status_code == 403


def test_verify_flow(emu: Emulator, http: httpx2.Client) -> None:
    body = _signup(http)
    headers = {"X-API-Key": body["api_key"]}
    code = emu.signup_code(body["agent_handle"])
    wrong = "000000" if code != "000000" else "111111"
    bad = http.post(f"{BASE}/verify", json={"verification_code": wrong}, headers=headers)
    assert bad.status_code == 422
    assert bad.json() == {"detail": "Invalid verification code"}
    ok = http.post(f"{BASE}/verify", json={"verification_code": code}, headers=headers)
    assert ok.status_code == 200
    assert ok.json()["claim_status"] == "agent_claimed"
    assert ok.json()["organization_id"] == body["organization_id"]
    assert isinstance(ok.json()["message"], str)
    again = http.post(f"{BASE}/verify", json={"verification_code": code}, headers=headers)
    assert again.status_code == 409
    who = http.get("/api/whoami", headers=headers).json()
    assert who["auth_subtype"] == "api_key.agent_scoped.claimed"
    status = http.get(f"{BASE}/status", headers=headers).json()
    assert status["claim_status"] == "agent_claimed"
    assert status["restrictions"]["max_sends_per_day"] == 500
    assert status["restrictions"]["allowed_recipients"] == []
    missing = http.post(f"{BASE}/verify", json={}, headers=headers)
    assert missing.status_code == 422


def test_attempt_limit_and_resend_cooldown(emu: Emulator, http: httpx2.Client) -> None:
    body = _signup(http)
    headers = {"X-API-Key": body["api_key"]}
    code = emu.signup_code(body["agent_handle"])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        response = http.post(f"{BASE}/verify", json={"verification_code": wrong}, headers=headers)
        assert response.status_code == 422
    locked = http.post(f"{BASE}/verify", json={"verification_code": code}, headers=headers)
    assert locked.status_code == 429
    early = http.post(f"{BASE}/resend-verification", headers=headers)
    assert early.status_code == 429
    assert "seconds" in early.json()["detail"]
    emu.advance_clock(301)
    resent = http.post(f"{BASE}/resend-verification", headers=headers)
    assert resent.status_code == 200
    assert resent.json()["claim_status"] == "agent_unclaimed"
    assert resent.json()["organization_id"] == body["organization_id"]
    assert http.post(f"{BASE}/resend-verification", headers=headers).status_code == 429
    new_code = emu.signup_code(body["agent_handle"])
    ok = http.post(f"{BASE}/verify", json={"verification_code": new_code}, headers=headers)
    assert ok.status_code == 200


def test_resend_remaining_seconds(emu: Emulator, http: httpx2.Client) -> None:
    body = _signup(http)
    headers = {"X-API-Key": body["api_key"]}
    emu.advance_clock(200)
    response = http.post(f"{BASE}/resend-verification", headers=headers)
    assert response.status_code == 429
    assert "100 seconds" in response.json()["detail"]
    assert response.headers["retry-after"] == "100"


def test_console_approval(emu: Emulator, http: httpx2.Client) -> None:
    body = _signup(http)
    headers = {"X-API-Key": body["api_key"]}
    approved = http.post(f"/_emulator/signups/{body['agent_handle']}/approve")
    assert approved.status_code == 200
    assert approved.json()["claim_status"] == "agent_claimed"
    status = http.get(f"{BASE}/status", headers=headers).json()
    assert status["claim_status"] == "agent_claimed"
    other = _signup(http)
    emu.approve_signup(other["agent_handle"])
    assert emu.signups()[-1]["claim_status"] == "agent_claimed"


def test_signup_endpoints_need_a_signup_key(http: httpx2.Client, org: Any) -> None:
    assert http.get(f"{BASE}/status").status_code == 401
    assert http.get(f"{BASE}/status", headers={"X-API-Key": org.api_key}).status_code == 404
