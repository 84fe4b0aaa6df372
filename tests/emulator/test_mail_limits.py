"""Signup restrictions on mail: only the human while unclaimed, and the daily send cap."""

from __future__ import annotations

from typing import Any

import httpx2

from inkbox_emulator import Emulator

from .conftest import send, unique

M = "/api/v1/mail/mailboxes"


def signup(http: httpx2.Client) -> dict[str, Any]:
    human = f"{unique('human')}@example.com"
    response = http.post("/api/v1/agent-signup", json={"human_email": human, "note_to_human": "hi"})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_unclaimed_agent_may_only_email_its_human(emu: Emulator, http: httpx2.Client) -> None:
    agent = signup(http)
    key = {"X-API-Key": agent["api_key"]}
    box = agent["email_address"]
    human = agent["human_email"]
    ok = http.post(
        f"{M}/{box}/messages",
        json={"recipients": {"to": [human.upper()]}, "subject": "hello"},
        headers=key,
    )
    assert ok.status_code == 200, ok.text
    for recipients in (
        {"to": ["stranger@example.com"]},
        {"to": [human], "cc": ["stranger@example.com"]},
        {"to": [human], "bcc": ["stranger@example.com"]},
    ):
        refused = http.post(
            f"{M}/{box}/messages", json={"recipients": recipients, "subject": "x"}, headers=key
        )
        assert refused.status_code == 403
        detail = refused.json()["detail"]
        assert detail["error"] == "recipient_not_allowed"
        assert detail["address"] == "stranger@example.com"
        assert detail["allowed_recipients"] == [human]
    sent = http.get(f"{M}/{box}/messages", headers=key).json()["items"]
    assert [m["subject"] for m in sent] == ["hello"]

    emu.approve_signup(agent["agent_handle"])
    claimed = http.post(
        f"{M}/{box}/messages",
        json={"recipients": {"to": ["stranger@example.com"]}, "subject": "free"},
        headers=key,
    )
    assert claimed.status_code == 200


def test_daily_cap_rolls_with_the_emulator_clock(emu: Emulator, http: httpx2.Client) -> None:
    agent = signup(http)
    key = {"X-API-Key": agent["api_key"]}
    box = agent["email_address"]

    def one() -> httpx2.Response:
        return http.post(
            f"{M}/{box}/messages",
            json={"recipients": {"to": [agent["human_email"]]}, "subject": "ping"},
            headers=key,
        )

    for _ in range(10):
        assert one().status_code == 200
    capped = one()
    assert capped.status_code == 429
    detail = capped.json()["detail"]
    assert detail["error"] == "daily_send_limit_exceeded" and detail["limit"] == 10
    assert 0 < int(capped.headers["retry-after"]) <= 86400
    forwarded = http.post(
        f"{M}/{box}/messages/{http.get(f'{M}/{box}/messages', headers=key).json()['items'][0]['id']}"
        "/forward",
        json={"recipients": {"to": [agent["human_email"]]}, "mode": "inline"},
        headers=key,
    )
    assert forwarded.status_code == 429  # forwards count too
    emu.advance_clock(24 * 3600 + 1)
    assert one().status_code == 200

    emu.approve_signup(agent["agent_handle"])  # claimed: 500 per day
    assert one().status_code == 200


def test_admin_org_mailboxes_are_not_capped(admin: httpx2.Client) -> None:
    box = admin.post("/api/v1/identities/", json={"agent_handle": unique("free")}).json()[
        "email_address"
    ]
    for _ in range(12):
        assert send(admin, box, to=["x@example.com"]).status_code == 200
