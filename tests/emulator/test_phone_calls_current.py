"""The current call routes (/phone/calls, by id, hangup) and the current place-call body."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2

from inkbox_emulator import Emulator

from .conftest import as_key, scoped_key
from .phone_support import CALL_KEYS, P, new_number, remote, wait_status

CALLS = f"{P}/calls"


def place(client: httpx2.Client, number: dict[str, Any], **extra: Any) -> httpx2.Response:
    body = {"from_number": number["number"], "to_number": remote(), **extra}
    return client.post(f"{P}/place-call", json=body)


def test_calls_by_identity_and_by_id(emu: Emulator, admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    other = new_number(admin, "local")
    first = place(admin, number).json()
    second = place(admin, number).json()
    place(admin, other)
    emu.append_transcript(first["id"], "remote", "hello there")

    missing = admin.get(CALLS)
    assert missing.status_code == 422  # admin callers must name the identity
    assert missing.json()["detail"][0]["loc"] == ["query", "agent_identity_id"]
    mine = admin.get(CALLS, params={"agent_identity_id": number["agent_identity_id"]}).json()
    assert [c["id"] for c in mine] == [second["id"], first["id"]]
    assert set(mine[0]) == CALL_KEYS
    paged = admin.get(
        CALLS, params={"agent_identity_id": number["agent_identity_id"], "limit": 1, "offset": 1}
    ).json()
    assert [c["id"] for c in paged] == [first["id"]]
    assert admin.get(f"{CALLS}/{first['id']}").json()["id"] == first["id"]
    segments = admin.get(f"{CALLS}/{first['id']}/transcripts").json()
    assert [s["text"] for s in segments] == ["hello there"]
    unknown = "00000000-0000-4000-8000-000000000000"
    assert admin.get(f"{CALLS}/{unknown}").status_code == 404
    assert admin.get(CALLS, params={"agent_identity_id": unknown}).status_code == 404
    assert admin.get(f"{CALLS}/not-a-uuid").status_code == 422

    scoped = as_key(admin, scoped_key(admin, number["agent_identity_id"]))
    own = admin.get(CALLS, **scoped).json()  # an identity key lists its own
    assert [c["id"] for c in own] == [second["id"], first["id"]]
    foreign = admin.get(CALLS, params={"agent_identity_id": other["agent_identity_id"]}, **scoped)
    assert foreign.status_code == 403
    theirs = admin.get(CALLS, params={"agent_identity_id": other["agent_identity_id"]}).json()
    assert admin.get(f"{CALLS}/{theirs[0]['id']}", **scoped).status_code == 404


def test_call_window_filters(emu: Emulator, admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    call = place(admin, number).json()
    who = {"agent_identity_id": number["agent_identity_id"]}
    today = datetime.fromtimestamp(emu.now(), UTC).date()

    def ids(**params: str) -> list[str]:
        response = admin.get(CALLS, params={**who, **params})
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()]

    assert ids(start_datetime=today.isoformat()) == [call["id"]]
    assert ids(end_datetime=today.isoformat()) == [call["id"]]  # a bare date is the whole day
    assert ids(end_datetime=(today - timedelta(days=1)).isoformat()) == []
    assert ids(start_datetime=(today + timedelta(days=1)).isoformat()) == []
    later = datetime.fromtimestamp(emu.now() + 60, UTC).replace(tzinfo=None).isoformat()
    assert ids(start_datetime=later) == []  # naive: read in tz (UTC by default)
    assert ids(start_datetime=later, tz="Pacific/Kiritimati") == [call["id"]]  # UTC+14
    for bad in ({"tz": "Mars/Olympus"}, {"start_datetime": "yesterday"}):
        assert admin.get(CALLS, params={**who, **bad}).status_code == 422


def test_hangup(emu: Emulator, admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    call = place(admin, number).json()
    ended = admin.post(f"{CALLS}/{call['id']}/hangup")
    assert ended.status_code == 200
    assert (ended.json()["hangup_reason"], ended.json()["ended_at"] is not None) == ("local", True)
    time.sleep(0.2)  # the call's own lifecycle must not resume
    assert admin.get(f"{CALLS}/{call['id']}").json()["status"] == ended.json()["status"]
    again = admin.post(f"{CALLS}/{call['id']}/hangup")
    assert again.status_code == 409
    assert again.json()["detail"]["error"] == "call_not_active"
    answered = place(admin, number).json()
    wait_status(admin, f"{CALLS}/{answered['id']}", "answered")
    done = admin.post(f"{CALLS}/{answered['id']}/hangup").json()
    assert (done["status"], done["hangup_reason"]) == ("completed", "local")


def test_place_call_current_body(admin: httpx2.Client) -> None:
    number = new_number(admin, "local")
    hosted = place(
        admin,
        number,
        origination="dedicated_number",
        mode="hosted_agent",
        reason="Confirm the appointment",
        on_voicemail="leave_message",
        voicemail_message="Please call back",
        hosted_agent_authority_mode="contact_scoped",
    )
    assert hosted.status_code == 200, hosted.text
    body = hosted.json()
    assert (body["mode"], body["reason"], body["origin"]) == (
        "hosted_agent",
        "Confirm the appointment",
        "dedicated_number",
    )
    assert body["client_websocket_url"] is None
    plain = place(admin, number, mode="client_websocket").json()
    assert (plain["mode"], plain["reason"]) == ("client_websocket", None)
    bad = [
        {"mode": "hosted_agent"},  # reason required
        {"mode": "hosted_agent", "reason": "x", "client_websocket_url": "wss://a/b"},
        {"reason": "only with hosted_agent"},
        {"voicemail_message": "hi"},  # needs on_voicemail=leave_message
        {"origination": "shared_imessage_number"},  # the emulator has no iMessage line
        {"origination": "carrier_pigeon"},
        {"mode": "robot"},
        {"on_voicemail": "scream"},
    ]
    for extra in bad:
        response = place(admin, number, **extra)
        assert response.status_code == 422, (extra, response.text)
    no_sender = admin.post(f"{P}/place-call", json={"to_number": remote()})
    assert no_sender.status_code == 422


def test_concurrent_calls_limit() -> None:
    with Emulator(call_status_delay=60) as emu:  # calls stay live
        org = emu.create_org()
        with httpx2.Client(
            base_url=emu.base_url, headers={"X-API-Key": org.api_key}, timeout=10
        ) as admin:
            numbers = [new_number(admin, "local") for _ in range(2)]
            placed = [place(admin, numbers[n % 2]) for n in range(10)]
            assert [r.status_code for r in placed] == [200] * 10
            refused = place(admin, numbers[0])
            assert refused.status_code == 429
            assert refused.json()["detail"]["error"] == "concurrent_calls_limit"
            assert refused.headers["Retry-After"] == "5"
            admin.post(f"{CALLS}/{placed[0].json()['id']}/hangup")
            assert place(admin, numbers[0]).status_code == 200
