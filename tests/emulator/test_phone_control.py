"""The phone control routes over HTTP, and ``reset()`` wiping every phone row."""

from __future__ import annotations

import httpx2

from inkbox_emulator import Emulator, OrgCredentials

from .phone_support import P, new_number, opted_in, remote, send, wait_status


def test_control_routes(emu: Emulator, admin: httpx2.Client, org: OrgCredentials) -> None:
    control = f"{emu.base_url}/_emulator/phone"
    number = new_number(admin, "local")
    ready = httpx2.post(f"{control}/numbers/{number['id']}/sms-ready")
    assert ready.status_code == 200
    assert ready.json()["sms_status"] == "ready"
    assert httpx2.post(f"{control}/numbers/{remote()}/sms-ready").status_code == 404
    who = opted_in(emu, number)
    outcome = httpx2.post(
        f"{control}/texts/outcomes",
        json={"recipient_number": who, "outcome": "delivery_unconfirmed"},
    )
    assert outcome.status_code == 200
    for bad in ({"recipient_number": who}, {"recipient_number": who, "outcome": "lost"}):
        assert httpx2.post(f"{control}/texts/outcomes", json=bad).status_code == 422
    text = send(admin, number["id"], who, "ping").json()
    path = f"{P}/numbers/{number['id']}/texts/{text['id']}"
    done = wait_status(admin, path, "delivery_unconfirmed", "delivery_status")
    assert done["failed_at"] is not None and done["delivered_at"] is None
    sent = httpx2.get(f"{control}/texts/sent", params={"organization_id": org.organization_id})
    assert [(t["to_number"], t["text"]) for t in sent.json()] == [(who, "ping")]
    assert sent.json() == emu.sent_texts(org.organization_id)
    contact = httpx2.post(
        f"{emu.base_url}/_emulator/contacts",
        json={"organization_id": org.organization_id, "name": "Pat", "phones": [who]},
    )
    assert contact.status_code == 201
    assert contact.json()["phones"][0]["value_e164"] == who
    bad_contact = httpx2.post(
        f"{emu.base_url}/_emulator/contacts",
        json={"organization_id": org.organization_id, "name": "Pat", "phones": ["555"]},
    )
    assert bad_contact.status_code == 422


def test_reset_clears_phone_state() -> None:
    with Emulator() as emu:
        creds = emu.create_org()
        with httpx2.Client(
            base_url=emu.base_url, headers={"X-API-Key": creds.api_key}, timeout=10
        ) as admin:
            number = new_number(admin, "local")
            emu.mark_sms_ready(number["id"])
            who = opted_in(emu, number)
            emu.set_text_outcome(who, "delivery_failed")
            emu.set_customer_campaign(creds.organization_id)
            send(admin, number["id"], who)
            call = admin.post(
                f"{P}/place-call", json={"from_number": number["number"], "to_number": who}
            ).json()
            emu.append_transcript(call["id"], "local", "hello")
            admin.post(
                f"/api/v1/identities/{number['handle']}/phone-contact-rules",
                json={"action": "block", "match_target": remote()},
            )
        emu.reset()
        assert set(emu.row_counts().values()) == {0}
        assert emu.sent_texts() == []
